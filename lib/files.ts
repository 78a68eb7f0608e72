/** Reading the small files a user points mtarep at (secrets, CSV imports), and saying why one cannot be read. */
import fs from 'node:fs';

/** Why a file operation failed, in words a user acts on: "file not found", "permission denied", or the code. */
export function fileErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'ENOTDIR') return 'a part of the path is a file, not a folder';
  if (code === 'EROFS') return 'read-only file system';
  return String(code ?? (e as Error).message ?? e);
}

/** A secret kept in a file (`*_file` keys, `--x-password-file`): its content without the trailing line break. Throws the fs error. */
export function readSecretFile(file: string): string {
  return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}
