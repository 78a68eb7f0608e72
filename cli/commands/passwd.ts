/** `mtarep passwd <user>` and the first-start htpasswd file. */
import fs from 'node:fs';
import type { Config } from '../../lib/config/normalize.js';
import type { Logger } from '../../lib/log.js';
import { badLinesText, randomPassword, scanHtpasswd, upsertUser, userNameProblem } from '../../lib/htpasswd.js';
import { formatProblem, httpAuthFileProblem } from '../../lib/config/load.js';
import { fileErrorText } from '../../lib/files.js';
import { exitCodes } from '../exit-codes.js';
import type { ConfiguredContext } from '../commands.js';

/**
 * First start: when http_auth_file is missing, create it with user `admin` and a random password,
 * printed once to the terminal (never to the log file), so the dashboard is never served open.
 */
export function ensureHtpasswd(config: Config, log: Logger, out: NodeJS.WritableStream = process.stderr): void {
  if (fs.existsSync(config.httpAuthFile)) return;
  const password = randomPassword();
  upsertUser(config.httpAuthFile, 'admin', password);
  log.info('created http_auth_file with user admin', { file: config.httpAuthFile });
  out.write(
    `\n  mtarep dashboard login (shown once):  user admin  password ${password}\n` +
      `  change it with: mtarep passwd admin --config ${config.file}\n\n`,
  );
}

export async function cmdPasswd(config: Config, user: string, opts: { stdin: boolean }): Promise<number> {
  const badName = userNameProblem(user);
  if (badName !== undefined) {
    process.stderr.write(`mtarep: invalid user name ${JSON.stringify(user)}: ${badName}; nothing changed\n`);
    return exitCodes.usage;
  }
  // Before asking for the password: a file that cannot be written is a config error, not a crash.
  const fileProblem = httpAuthFileProblem(config);
  if (fileProblem !== undefined) {
    process.stderr.write(formatProblem(config.file, fileProblem) + '\n');
    return exitCodes.config;
  }
  let password: string;
  if (opts.stdin || !process.stdin.isTTY) {
    password = (await readAll(process.stdin)).split(/\r?\n/)[0] ?? '';
  } else {
    password = await prompt('New password: ');
    const again = await prompt('Again: ');
    if (password !== again) {
      process.stderr.write('mtarep: the passwords differ; nothing changed\n');
      return exitCodes.usage;
    }
  }
  if (password.length < 8) {
    process.stderr.write('mtarep: the password must have at least 8 characters; nothing changed\n');
    return exitCodes.usage;
  }
  let result: 'added' | 'updated';
  try {
    result = upsertUser(config.httpAuthFile, user, password);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === undefined) throw e;
    const message = `cannot update ${config.httpAuthFile}: ${fileErrorText(e)}; nothing changed`;
    process.stderr.write(formatProblem(config.file, { path: 'http_auth_file', message }) + '\n');
    return exitCodes.config;
  }
  process.stdout.write(`${result} user ${user} in ${config.httpAuthFile}\n`);
  warnBadLines(config.httpAuthFile);
  return exitCodes.ok;
}

/** Warn (stderr) about the lines of the file as written that nobody can log in with: their numbers, never their content (a hash). */
function warnBadLines(file: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return; // just written: a reader replacing it meanwhile is no concern of this warning
  }
  const warning = badLinesText(scanHtpasswd(text).badLines);
  if (warning) process.stderr.write(`mtarep: warning: http_auth_file ${file}: ${warning}\n`);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

/** Read a line from the terminal without echo. */
function prompt(question: string): Promise<string> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let buf = '';
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(buf);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        if (ch === '\u007f') buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export function run({ config, positionals, values }: ConfiguredContext): Promise<number> {
  return cmdPasswd(config, positionals[0]!, { stdin: values['password-stdin'] === true });
}
