/**
 * A local mbox file, read and rewritten under the MDA's locks: the dotlock `<mbox>.lock` (created with
 * O_EXCL, a stale one older than 5 minutes removed, as procmail and Postfix do) and an fcntl lock on
 * the file itself (Node has no fcntl: a small python3 child takes `fcntl.lockf` and holds it until we
 * are done). Messages are separated by `From ` lines; `>From ` quoting (mboxrd) is undone on reading
 * and applied on writing. The file is rewritten in place (same inode, as MDAs append to it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileErrorText } from '../files.js';

export class MboxError extends Error {
  override readonly name = 'MboxError';
}

export interface MboxMessage {
  /** The `From ` separator line, as it was. */
  fromLine: string;
  /** The message (headers and body), unquoted. */
  raw: string;
}

const staleMs = 5 * 60_000;

async function dotlock(path: string, timeoutMs: number): Promise<() => void> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(lock, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o644);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return () => fs.rmSync(lock, { force: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new MboxError(`cannot create ${lock}: ${code ?? String(e)}`);
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > staleMs) fs.rmSync(lock, { force: true });
      } catch {
        /* gone meanwhile */
      }
      if (Date.now() > deadline) throw new MboxError(`${lock} is held by another program (waited ${Math.round(timeoutMs / 1000)} s)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const lockerScript = `
import fcntl, sys
f = open(sys.argv[1], 'r+')
fcntl.lockf(f, fcntl.LOCK_EX)
sys.stdout.write('locked\\n'); sys.stdout.flush()
sys.stdin.read()
`;

async function fcntlLock(path: string, timeoutMs: number): Promise<() => Promise<void>> {
  const child: ChildProcess = spawn('python3', ['-c', lockerScript, path], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new MboxError(`fcntl lock on ${path} is held by another program (waited ${Math.round(timeoutMs / 1000)} s)`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new MboxError(`cannot take the fcntl lock on ${path}: python3: ${e.message}`));
    });
    child.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new MboxError(`cannot take the fcntl lock on ${path}: ${stderr.trim().split('\n').pop() ?? `exit ${code}`}`));
    });
  });
  child.removeAllListeners('exit');
  return () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin!.end();
    });
}

/** Run `fn` holding the dotlock and the fcntl lock of an mbox. */
export async function withMboxLock<T>(path: string, fn: () => Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  try {
    fs.accessSync(path, fs.constants.R_OK | fs.constants.W_OK);
  } catch (e) {
    throw new MboxError(`cannot read and write ${path}: ${fileErrorText(e)}`);
  }
  const undot = await dotlock(path, timeoutMs);
  try {
    const unfcntl = await fcntlLock(path, timeoutMs);
    try {
      return await fn();
    } finally {
      await unfcntl();
    }
  } finally {
    undot();
  }
}

/** Split an mbox into messages. */
export function parseMbox(text: string): MboxMessage[] {
  const out: MboxMessage[] = [];
  const lines = text.split('\n');
  let cur: { fromLine: string; body: string[] } | undefined;
  let prevBlank = true;
  for (const line of lines) {
    if (line.startsWith('From ') && prevBlank) {
      if (cur) out.push({ fromLine: cur.fromLine, raw: finish(cur.body) });
      cur = { fromLine: line, body: [] };
    } else if (cur) {
      cur.body.push(line.replace(/^>(>*From )/, '$1'));
    }
    prevBlank = line === '' || line === '\r';
  }
  if (cur) out.push({ fromLine: cur.fromLine, raw: finish(cur.body) });
  return out;
}

function finish(body: string[]): string {
  // The blank line before the next separator belongs to the format, not the message.
  const b = [...body];
  while (b.length && (b[b.length - 1] === '' || b[b.length - 1] === '\r')) b.pop();
  return b.join('\n') + '\n';
}

/** One message in mbox form (separator line, >From quoting, blank line after). */
export function formatMboxMessage(m: MboxMessage): string {
  const body = m.raw.replace(/\n$/, '').split('\n').map((l) => (/^>*From /.test(l) ? '>' + l : l));
  return `${m.fromLine}\n${body.join('\n')}\n\n`;
}
