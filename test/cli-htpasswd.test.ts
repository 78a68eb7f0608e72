/**
 * `mtarep passwd` and `mtarep check-config` on the htpasswd file as users have it: other users'
 * lines kept byte for byte, a path that is no file a config error (exit 2) naming http_auth_file,
 * user names that cannot be written refused, lines nobody can log in with named by number.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { runCli, type CliResult } from './helpers/cli.js';
import { parseHtpasswd, verifyPassword } from '../lib/htpasswd.js';

const apr1 = '$apr1$abcdefgh$0123456789abcdefghijkl';

/** A folder with mtarep.yml whose http_auth_file is `auth` (relative to the folder). */
function setup(auth: string, extra = ''): { dir: string; config: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-cli-htp-'));
  const config = path.join(dir, 'mtarep.yml');
  fs.writeFileSync(config, `http_auth_file: ${auth}\ndata_dir: ./data\n${extra}`);
  return { dir, config, file: path.resolve(dir, auth) };
}

const passwd = (user: string, config: string) => runCli(['passwd', user, '--password-stdin', '--config', config], { input: 'GoodPassword123\n' });

/** Feed a just spawned `mtarep passwd … --password-stdin` the password and collect what it says: for
 *  the runs runCli cannot make (argv bytes of our own, another user). */
function passwdOutput(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end('GoodPassword123\n');
  });
}

/** `mtarep passwd` with argv bytes as given (not valid UTF-8 perhaps), through sh's printf. */
function passwdRaw(printfFormat: string, config: string): Promise<CliResult> {
  const script = 'exec "$0" "$1" passwd "$(printf "$2")" --password-stdin --config "$3"';
  return passwdOutput(spawn('/bin/sh', ['-c', script, process.execPath, inject('cliMain'), printfFormat, config], { stdio: ['pipe', 'pipe', 'pipe'] }));
}

describe('mtarep passwd and the htpasswd file', () => {
  it('keeps every other line byte for byte (a Latin-1 user name, CRLF, no final line break)', async () => {
    const { config, file } = setup('./hp3');
    const latin1 = Buffer.from(`j\xfcrgen:${apr1}\n`, 'latin1');
    fs.writeFileSync(file, latin1);
    const r = await passwd('zed', config);
    expect(r).toMatchObject({ code: 0, stdout: `added user zed in ${file}\n`, stderr: '' });
    const after = fs.readFileSync(file);
    expect(after.subarray(0, latin1.length).equals(latin1)).toBe(true);
    const zed = parseHtpasswd(after.subarray(latin1.length).toString())[0];
    expect(zed?.user).toBe('zed');
    expect(await verifyPassword(zed, 'GoodPassword123')).toBe(true);

    const crlf = `# users\r\n\r\nbob:${apr1}\r\nzed:${apr1}\r\ncarol:${apr1}`;
    fs.writeFileSync(file, crlf);
    expect((await passwd('zed', config)).stdout).toMatch(/^updated user zed/);
    expect(fs.readFileSync(file, 'latin1').replace(/^zed:.*\r$/m, `zed:${apr1}\r`)).toBe(crlf);
  });

  it('a folder, a path through a file, a missing folder: exit 2 naming http_auth_file and the path', async () => {
    const folder = setup('./users');
    fs.mkdirSync(folder.file);
    const r = await passwd('zed', folder.config);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`mtarep.yml: http_auth_file: ${folder.file} is a folder, not an htpasswd file\n`);
    // check-config (and start) refuse it the same way.
    const check = await runCli(['check-config', '--config', folder.config]);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain(`http_auth_file: ${folder.file} is a folder, not an htpasswd file`);

    const throughFile = setup('./plain/users');
    fs.writeFileSync(path.join(throughFile.dir, 'plain'), '');
    const t = await passwd('zed', throughFile.config);
    expect(t.code).toBe(2);
    expect(t.stderr).toBe(`mtarep.yml: http_auth_file: cannot use ${throughFile.file}: a part of the path is a file, not a folder\n`);

    const missing = setup('./nope/users');
    const m = await passwd('zed', missing.config);
    expect(m.code).toBe(2);
    expect(m.stderr).toBe(`mtarep.yml: http_auth_file: folder ${path.dirname(missing.file)} does not exist\n`);
    expect(fs.existsSync(path.dirname(missing.file))).toBe(false);
    // Under data_dir the folder is mtarep's own: created, as at first start.
    const inData = setup('./data/auth/users');
    expect((await passwd('zed', inData.config)).code).toBe(0);
    expect(fs.statSync(path.dirname(inData.file)).mode & 0o777).toBe(0o750);
  });

  it('a file it may not write: exit 2, permission denied, nothing changed', async () => {
    const { dir, config, file } = setup('./ro/users');
    fs.mkdirSync(path.join(dir, 'ro'));
    fs.writeFileSync(file, `bob:${apr1}\n`, { mode: 0o644 });
    fs.chmodSync(path.join(dir, 'ro'), 0o555);
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(config, 0o644);
    // As root every write succeeds: run the command as nobody, as an operator without sudo would.
    const asRoot = process.getuid?.() === 0;
    const r = await passwdOutput(
      spawn(process.execPath, [inject('cliMain'), 'passwd', 'zed', '--password-stdin', '--config', config], {
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      }),
    );
    expect(r.stderr).toBe(`mtarep.yml: http_auth_file: cannot update ${file}: permission denied; nothing changed\n`);
    expect(r.code).toBe(2);
    expect(fs.readFileSync(file, 'utf8')).toBe(`bob:${apr1}\n`);
    expect(fs.readdirSync(path.join(dir, 'ro'))).toEqual(['users']);
  });

  it('refuses user names that cannot be written: not UTF-8, a line break, a colon', async () => {
    const { config, file } = setup('./users');
    fs.writeFileSync(file, `bob:${apr1}\n`);
    const notUtf8 = await passwdRaw('j\\374rgen', config);
    expect(notUtf8.code).toBe(2);
    expect(notUtf8.stderr).toBe('mtarep: invalid user name "j\uFFFDrgen": it is not valid UTF-8; nothing changed\n');
    const newline = await passwdRaw('a\\nb', config);
    expect(newline.code).toBe(2);
    expect(newline.stderr).toBe('mtarep: invalid user name "a\\nb": it contains a line break; nothing changed\n');
    const colon = await passwd('a:b', config);
    expect(colon.code).toBe(2);
    expect(colon.stderr).toMatch(/^mtarep: invalid user name "a:b": it contains a colon/);
    expect(fs.readFileSync(file, 'utf8')).toBe(`bob:${apr1}\n`);
    // A UTF-8 name is fine.
    expect((await passwdRaw('j\\303\\274rgen', config)).stdout).toBe(`added user jürgen in ${file}\n`);
  });

  it('lines nobody can log in with: counted as no user, warned about by number, never shown', async () => {
    const { config, file } = setup('./users');
    const secret = '$apr1$abcdefgh$0123456789abcdefghij'; // truncated: never matches
    fs.writeFileSync(file, `# admins\nbob:${apr1}\nnocolon\ncarol:${secret}\n\ndave:\n`);
    const check = await runCli(['check-config', '--config', config]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`(users: ${file}, 1 user)`);
    expect(check.stdout).toMatch(/^warning: http_auth_file: lines 3, 4, 6 are not user:hash with a bcrypt, \$apr1\$ or \{SHA\} hash mtarep can check: nobody logs in with them$/m);
    const r = await passwd('carol', config);
    expect(r.code).toBe(0);
    // carol's line is fixed by this run: only the others are left.
    expect(r.stderr).toBe(`mtarep: warning: http_auth_file ${file}: lines 3, 6 are not user:hash with a bcrypt, $apr1$ or {SHA} hash mtarep can check: nobody logs in with them\n`);
    expect(check.stdout + r.stderr).not.toContain(secret);
  });
});
