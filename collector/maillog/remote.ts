/**
 * The remote side: the only commands mtarep runs on an MTA, built from fixed templates in which every
 * parameter is single-quoted, paths are checked first and follow `--`. Needs a POSIX sh with GNU
 * `stat` and `tail` (any Linux MTA).
 */
import { assertSafePath, shQuote } from '../ssh/quote.js';
import type { ExecResult, SshSession } from '../ssh/client.js';
import type { RemoteFile } from './plan.js';

export class RemoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** Exit status of the read command when the file under the name is no longer the inode we planned. */
export const INODE_MOVED = 65;

/** `stat` the log and every rotated sibling (`<path>.*`, `<path>-*`): `inode size name` per line. */
export function listCommand(path: string): string {
  assertSafePath(path);
  const p = shQuote(path);
  return `stat -L -c '%i %s %n' -- ${p} || exit 66; for f in ${p}.* ${p}-*; do [ -f "$f" ] && stat -L -c '%i %s %n' -- "$f"; done; exit 0`;
}

/**
 * Stream a file from byte `from` on, but only if it is still inode `inode`: the file is opened once
 * (fd 3), its inode checked through that descriptor, and tail reads the same descriptor, so a
 * rotation between planning and reading cannot mix two files.
 */
export function readCommand(path: string, inode: string, from: number): string {
  assertSafePath(path);
  if (!/^[0-9]+$/.test(inode)) throw new RemoteError(`bad inode ${JSON.stringify(inode)}`);
  if (!Number.isSafeInteger(from) || from < 0) throw new RemoteError(`bad offset ${from}`);
  return `exec 3< ${shQuote(path)} || exit 66; [ "$(stat -L -c %i /dev/fd/3)" = ${shQuote(inode)} ] || exit ${INODE_MOVED}; exec tail -c +${shQuote(String(from + 1))} <&3`;
}

/** Parse `listCommand` output. Lines that do not parse (a name with a newline) are ignored. */
export function parseListing(path: string, out: string): { current: RemoteFile | null; rotated: RemoteFile[] } {
  let current: RemoteFile | null = null;
  const rotated: RemoteFile[] = [];
  for (const line of out.split('\n')) {
    const m = /^([0-9]+) ([0-9]+) (.+)$/.exec(line);
    if (!m) continue;
    const f: RemoteFile = { inode: m[1]!, size: Number(m[2]), name: m[3]! };
    if (f.name === path && current === null) current = f;
    else if (f.name !== path) rotated.push(f);
  }
  return { current, rotated };
}

function failure(what: string, r: ExecResult): RemoteError {
  const err = r.stderr.trim().split('\n').slice(-2).join(' / ');
  const status = r.code !== null ? `exit ${r.code}` : `signal ${r.signal}`;
  return new RemoteError(`${what} failed (${status})${err ? `: ${err}` : ''}`);
}

export async function listRemote(s: SshSession, path: string, timeoutMs: number): Promise<{ current: RemoteFile; rotated: RemoteFile[] }> {
  const r = await s.exec(listCommand(path), { timeoutMs, maxStdout: 1 << 20 });
  if (r.code !== 0) throw failure(`stat ${path}`, r);
  const l = parseListing(path, r.stdout.toString('utf8'));
  if (l.current === null) throw new RemoteError(`stat ${path}: no output for the file`);
  return { current: l.current, rotated: l.rotated };
}

/** Stream a segment into `onData`. Returns false when the inode moved (re-plan), throws on failure. */
export async function readRemote(
  s: SshSession,
  seg: { name: string; inode: string; from: number },
  onData: (b: Buffer) => void,
  t: { timeoutMs: number; idleTimeoutMs: number },
): Promise<boolean> {
  const r = await s.exec(readCommand(seg.name, seg.inode, seg.from), { ...t, onStdout: onData });
  if (r.code === INODE_MOVED) return false;
  if (r.code !== 0) throw failure(`reading ${seg.name}`, r);
  return true;
}
