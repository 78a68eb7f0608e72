/** lib/files.ts: why a file cannot be read, said in words, and secrets read from files. Real files in a temp folder. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileErrorText, readSecretFile } from '../../lib/files.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-files-'));

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('files', () => {
  it('names a missing file and a folder given as a file', () => {
    expect(fileErrorText(errorOf(() => readSecretFile(path.join(dir, 'nope'))))).toBe('file not found');
    expect(fileErrorText(errorOf(() => readSecretFile(dir)))).toBe('is a folder, not a file');
    fs.writeFileSync(path.join(dir, 'plain'), '');
    expect(fileErrorText(errorOf(() => readSecretFile(path.join(dir, 'plain', 'x'))))).toBe('a part of the path is a file, not a folder');
  });

  it('reads a secret without its trailing line break, and keeps everything else', () => {
    fs.writeFileSync(path.join(dir, 'a'), 's3cret  \n');
    fs.writeFileSync(path.join(dir, 'b'), 'two\r\n');
    fs.writeFileSync(path.join(dir, 'c'), 'no-newline');
    expect(readSecretFile(path.join(dir, 'a'))).toBe('s3cret  ');
    expect(readSecretFile(path.join(dir, 'b'))).toBe('two');
    expect(readSecretFile(path.join(dir, 'c'))).toBe('no-newline');
  });
});
