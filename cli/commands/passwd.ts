/** `mtarep passwd <user>` and the first-start htpasswd file. */
import fs from 'node:fs';
import type { Config } from '../../lib/config/normalize.js';
import type { Logger } from '../../lib/log.js';
import { randomPassword, upsertUser, validUserName } from '../../lib/htpasswd.js';
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
  if (!validUserName(user)) {
    process.stderr.write(`mtarep: invalid user name "${user}": no colon or white space, at most 64 characters\n`);
    return exitCodes.usage;
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
  const result = upsertUser(config.httpAuthFile, user, password);
  process.stdout.write(`${result} user ${user} in ${config.httpAuthFile}\n`);
  return exitCodes.ok;
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
