/**
 * A real SSH server for tests, on 127.0.0.1 and a port the OS picks: ssh2's `Server` with a generated host
 * key, accepting one generated client key (signature checked), that runs each exec'd command for real
 * with `/bin/sh -c` in a temporary folder and streams stdout, stderr and the exit code back. The
 * remote quoting of the code under test is thus parsed by a real shell.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { generateKey, type KeyPair } from './ssh-keys.js';

const { Server, utils } = ssh2;

export interface TestSshServer {
  host: string;
  port: number;
  /** Folder the commands run in (and where tests put their logs). */
  dir: string;
  hostKey: KeyPair;
  clientKey: KeyPair;
  /** Every command received, in order. */
  commands: string[];
  /** Connections accepted so far, and those still open. */
  readonly accepted: number;
  readonly open: number;
  /** known_hosts line for this server (`[127.0.0.1]:port type key`), hashed on request. */
  knownHostsLine(opts?: { hashed?: boolean; key?: string }): string;
  close(): Promise<void>;
}

export interface SshServerOptions {
  host?: string;
  /** Called for each command before it runs: return a number of ms to hold it (simulate a slow MTA). */
  delayMs?: (command: string) => number;
}

export async function startSshServer(opts: SshServerOptions = {}): Promise<TestSshServer> {
  const host = opts.host ?? '127.0.0.1';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-ssh-'));
  const hostKey = generateKey();
  const clientKey = generateKey();
  const allowed = utils.parseKey(clientKey.public);
  if (allowed instanceof Error) throw allowed;
  const commands: string[] = [];
  const children = new Set<ChildProcess>();

  const conns = new Set<ssh2.Connection>();
  let accepted = 0;
  const server = new Server({ hostKeys: [hostKey.private] }, (conn) => {
    accepted++;
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    conn.on('error', () => {});
    conn.on('authentication', (ctx) => {
      if (
        ctx.method === 'publickey' &&
        ctx.key.algo === allowed.type &&
        Buffer.compare(ctx.key.data, allowed.getPublicSSH()) === 0
      ) {
        if (!ctx.signature) return ctx.accept(); // key probe: "would you take this key?"
        if (allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      }
      ctx.reject(['publickey']);
    });
    conn.on('ready', () => {
      conn.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (accept, _reject, info) => {
          const ch = accept();
          commands.push(info.command);
          const run = () => {
            const child = spawn('/bin/sh', ['-c', info.command], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
            children.add(child);
            child.stdout.pipe(ch, { end: false });
            child.stderr.pipe(ch.stderr, { end: false });
            ch.on('close', () => child.kill('SIGKILL'));
            ch.on('error', () => {});
            // 'close' fires after both pipes ended, so every byte has been written to the channel.
            child.on('close', (code, signal) => {
              children.delete(child);
              try {
                if (code !== null) ch.exit(code);
                else ch.exit(signal ?? 'KILL', false, '');
                ch.end();
              } catch {
                /* client went away */
              }
            });
          };
          const d = opts.delayMs?.(info.command) ?? 0;
          if (d > 0) setTimeout(run, d);
          else run();
        });
      });
    });
  });
  // Port 0: the OS gives a free port at bind time (no window in which another process can take it).
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  const knownHostsLine = (o: { hashed?: boolean; key?: string } = {}) => {
    const name = `[${host}]:${port}`;
    const key = (o.key ?? hostKey.public).split(' ').slice(0, 2).join(' ');
    if (!o.hashed) return `${name} ${key}`;
    const salt = crypto.randomBytes(20);
    const hash = crypto.createHmac('sha1', salt).update(name).digest('base64');
    return `|1|${salt.toString('base64')}|${hash} ${key}`;
  };

  return {
    host,
    port,
    dir,
    hostKey,
    clientKey,
    commands,
    get accepted() {
      return accepted;
    },
    get open() {
      return conns.size;
    },
    knownHostsLine,
    close: async () => {
      for (const c of children) c.kill('SIGKILL');
      for (const c of conns) c.end();
      await new Promise<void>((r) => server.close(() => r()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
