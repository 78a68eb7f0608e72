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

/**
 * The probe, one exec for the usual run: open the log, print `inode size` of what was opened; if that
 * is still the saved inode, it has not shrunk and at most `maxStream` bytes are new, stream it from
 * the saved offset right away (the client makes the same comparison on the header to know data
 * follows). Otherwise list every rotated sibling (`<path>.*`, `<path>-*`) as `inode size name`
 * lines, for the planner (and a large backlog is then read in a scanner thread).
 */
export function probeCommand(path: string, saved: { inode: string; offset: number } | null, maxStream: number): string {
  assertSafePath(path);
  const p = shQuote(path);
  const inode = saved?.inode ?? '';
  const offset = saved?.offset ?? 0;
  if (!/^[0-9]*$/.test(inode)) throw new RemoteError(`bad inode ${JSON.stringify(inode)}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RemoteError(`bad offset ${offset}`);
  if (!Number.isSafeInteger(maxStream) || maxStream < 0) throw new RemoteError(`bad limit ${maxStream}`);
  return (
    `exec 3< ${p} || exit 66; s=$(stat -L -c '%i %s' /dev/fd/3) || exit 66; echo "$s"; set -- $s; ` +
    `if [ "$1" = ${shQuote(inode)} ] && [ "$2" -ge ${shQuote(String(offset))} ] && [ "$2" -le ${shQuote(String(offset + maxStream))} ]; then exec tail -c +${shQuote(String(offset + 1))} <&3; fi; ` +
    `for f in ${p}.* ${p}-*; do [ -f "$f" ] && stat -L -c '%i %s %n' -- "$f"; done; exit 0`
  );
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

/** Parse `inode size name` lines. Lines that do not parse (a name with a newline) are ignored. */
export function parseListing(out: string): RemoteFile[] {
  const files: RemoteFile[] = [];
  for (const line of out.split('\n')) {
    const m = /^([0-9]+) ([0-9]+) (.+)$/.exec(line);
    if (m) files.push({ inode: m[1]!, size: Number(m[2]), name: m[3]! });
  }
  return files;
}

function failure(what: string, r: ExecResult): RemoteError {
  const err = r.stderr.trim().split('\n').slice(-2).join(' / ');
  const status = r.code !== null ? `exit ${r.code}` : `signal ${r.signal}`;
  return new RemoteError(`${what} failed (${status})${err ? `: ${err}` : ''}`);
}

export type ProbeResult =
  /** The log was streamed from the saved offset (the usual run): nothing else to read. */
  | { streamed: true; current: RemoteFile }
  /** First run, rotation or truncation: the current file and its rotated siblings, for the planner. */
  | { streamed: false; current: RemoteFile; rotated: RemoteFile[] };

export async function probeRemote(
  s: SshSession,
  path: string,
  saved: { inode: string; offset: number } | null,
  maxStream: number,
  onData: (b: Buffer) => void,
  t: { timeoutMs: number; idleTimeoutMs: number },
): Promise<ProbeResult> {
  let header: Buffer | null = Buffer.alloc(0);
  let current: RemoteFile | null = null;
  let streamed = false;
  const listing: Buffer[] = [];
  let listed = 0;
  const onStdout = (b: Buffer) => {
    if (header !== null) {
      const nl = b.indexOf(10);
      if (nl < 0) {
        header = Buffer.concat([header, b]);
        if (header.length > 100) throw new RemoteError(`probe of ${path}: no header line`);
        return;
      }
      const m = /^([0-9]+) ([0-9]+)$/.exec(Buffer.concat([header, b.subarray(0, nl)]).toString('latin1'));
      if (!m) throw new RemoteError(`probe of ${path}: unexpected header`);
      current = { inode: m[1]!, size: Number(m[2]), name: path };
      streamed = saved !== null && current.inode === saved.inode && current.size >= saved.offset && current.size <= saved.offset + maxStream;
      header = null;
      b = b.subarray(nl + 1);
      if (b.length === 0) return;
    }
    if (streamed) onData(b);
    else if (listed < 1 << 20) {
      listing.push(b);
      listed += b.length;
    }
  };
  const r = await s.exec(probeCommand(path, saved, maxStream), { ...t, onStdout });
  if (r.code !== 0) throw failure(`reading ${path}`, r);
  if (current === null) throw new RemoteError(`probe of ${path}: no output`);
  if (streamed) return { streamed: true, current };
  return { streamed: false, current, rotated: parseListing(Buffer.concat(listing).toString('utf8')).filter((f) => f.name !== path) };
}

/** Stream a segment into `onData`. Returns false when the inode moved (re-plan), throws on failure. */
export async function readRemote(
  s: SshSession,
  seg: { name: string; inode: string; from: number },
  onData: (b: Buffer) => void,
  t: { timeoutMs: number; idleTimeoutMs: number; onChannel?: (flow: { pause(): void; resume(): void }) => void },
): Promise<boolean> {
  const r = await s.exec(readCommand(seg.name, seg.inode, seg.from), { ...t, onStdout: onData });
  if (r.code === INODE_MOVED) return false;
  if (r.code !== 0) throw failure(`reading ${seg.name}`, r);
  return true;
}
