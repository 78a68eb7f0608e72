/**
 * Quoting for remote shell commands. The remote shell parses the command string, so every parameter
 * that came from config goes through `shQuote`, and paths are checked by `assertSafePath` first: a
 * newline or NUL cannot be quoted safely across every shell and never belongs in a log path.
 */

export class UnsafePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

/** POSIX single-quoting: `it's` -> `'it'\''s'`. Safe for any string without NUL. */
export function shQuote(s: string): string {
  if (s.includes('\0')) throw new UnsafePathError('a shell argument may not contain NUL');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Reject paths the remote commands cannot take: empty, relative, or holding newline / CR / NUL. */
export function assertSafePath(p: string, what = 'maillog_path'): void {
  if (p.length === 0) throw new UnsafePathError(`${what} is empty`);
  if (/[\n\r\0]/.test(p)) throw new UnsafePathError(`${what} may not contain a newline or NUL: ${JSON.stringify(p)}`);
  if (!p.startsWith('/')) throw new UnsafePathError(`${what} must be an absolute path: ${JSON.stringify(p)}`);
}
