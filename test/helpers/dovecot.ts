/**
 * A throwaway Dovecot IMAP server (Debian `dovecot-imapd`) for tests and benchmarks: its own config in
 * a temp folder, a free loopback port, passwd-file users with Maildir mailboxes, a `Junk` folder with
 * the `\Junk` special-use flag, and optional TLS (STARTTLS on the plain port, implicit TLS on a second
 * port) with a self-signed certificate made here with the openssl CLI.
 *
 *   const dc = await startDovecot({ users: [{ user: 'probes@mon.test', password: 'pw' }], tls: true });
 *   dc.deliver('probes@mon.test', 'INBOX', rawMessage);      // written into the Maildir like an LDA
 *   ... imap on 127.0.0.1:dc.port (STARTTLS) or dc.tlsPort (implicit), CA in dc.caFile ...
 *   await dc.stop();
 *
 * Run as root, the master drops the mail processes to the `dovecot` system user (Dovecot refuses mail
 * access as uid 0); run as anyone else, everything runs as that user.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { freePort } from './net.js';
import { stopWhenWeExit } from './watchdog.js';

export interface DovecotUser {
  user: string;
  password: string;
}

export interface Dovecot {
  host: string;
  /** Plain IMAP port (STARTTLS offered when started with tls). */
  port: number;
  /** Implicit-TLS IMAP port (only with tls). */
  tlsPort: number | undefined;
  /** PEM file of the self-signed certificate (only with tls): pass it as a CA. */
  caFile: string | undefined;
  dir: string;
  /** The master process (its mail processes are its children). */
  pid: number | undefined;
  /** Write a message into a user's folder ('INBOX', 'Junk', ...) as an LDA would (Maildir new/). Returns the file path. */
  deliver(user: string, folder: string, raw: string | Buffer): string;
  /** How many messages a folder holds on disk (new + cur). */
  count(user: string, folder: string): number;
  stop(): Promise<void>;
}

export function findDovecot(): string | undefined {
  for (const p of ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot']) if (fs.existsSync(p)) return p;
  return undefined;
}

/** A self-signed certificate for 127.0.0.1/localhost (openssl CLI). */
export function makeSelfSignedCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

function waitPort(port: number, host: string, deadlineMs: number, alive: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + deadlineMs;
    const tryOnce = () => {
      const s = net.connect(port, host);
      s.once('data', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (!alive()) return reject(new Error('dovecot exited during start-up'));
        if (Date.now() > deadline) return reject(new Error(`dovecot did not listen on ${host}:${port}`));
        setTimeout(tryOnce, 50);
      });
    };
    tryOnce();
  });
}

/**
 * `capabilities` replaces what the server announces after login (Dovecot's `imap_capability`), to play
 * a server without an extension (the commands still work; clients decide by what is announced).
 */
export async function startDovecot(opts: { users: DovecotUser[]; tls?: boolean; host?: string; capabilities?: string }): Promise<Dovecot> {
  const bin = findDovecot();
  if (!bin) throw new Error('dovecot is not installed: run `npm test` (it installs it) or `sudo apt-get install dovecot-imapd`');
  const host = opts.host ?? '127.0.0.1';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-dovecot-'));
  fs.chmodSync(dir, 0o755);
  const root = process.getuid?.() === 0;
  let uid = process.getuid?.() ?? 0;
  let gid = process.getgid?.() ?? 0;
  let userName = os.userInfo().username;
  let groupName = userName;
  if (root) {
    const pw = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('dovecot:'));
    if (!pw) throw new Error('running as root needs the dovecot system user (from the dovecot-core package)');
    const f = pw.split(':');
    uid = Number(f[2]);
    gid = Number(f[3]);
    userName = 'dovecot';
    groupName = fs.readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[2] === String(gid))?.split(':')[0] ?? 'dovecot';
  } else {
    groupName = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim() || userName;
  }
  const port = await freePort(host);
  const tlsPort = opts.tls ? await freePort(host) : undefined;
  const cert = opts.tls ? makeSelfSignedCert(dir) : undefined;
  for (const d of ['run', 'state', 'home']) fs.mkdirSync(path.join(dir, d), { mode: 0o755 });
  const passwd = opts.users.map((u) => `${u.user}:{PLAIN}${u.password}:${uid}:${gid}::${path.join(dir, 'home', u.user)}::`).join('\n') + '\n';
  fs.writeFileSync(path.join(dir, 'passwd'), passwd, { mode: 0o644 });
  for (const u of opts.users) {
    const home = path.join(dir, 'home', u.user);
    for (const sub of ['Maildir/new', 'Maildir/cur', 'Maildir/tmp', 'Maildir/.Junk/new', 'Maildir/.Junk/cur', 'Maildir/.Junk/tmp']) {
      fs.mkdirSync(path.join(home, sub), { recursive: true });
    }
    if (root) execFileSync('chown', ['-R', `${uid}:${gid}`, home]);
  }
  const conf = `
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = ${host}
default_internal_user = ${userName}
default_internal_group = ${groupName}
default_login_user = ${userName}
first_valid_uid = ${Math.min(uid, 500)}
first_valid_gid = 0
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
mail_location = maildir:~/Maildir
${opts.capabilities ? `imap_capability = ${opts.capabilities}` : ''}
ssl = ${opts.tls ? 'yes' : 'no'}
${cert ? `ssl_cert = <${cert.cert}\nssl_key = <${cert.key}` : ''}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/passwd
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    address = ${host}
    port = ${port}
  }
  inet_listener imaps {
    address = ${host}
    port = ${tlsPort ?? 0}
    ssl = yes
  }
}
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  user = ${root ? 'root' : userName}
}
service auth-worker {
  user = ${root ? 'root' : userName}
}
service stats {
  chroot =
  unix_listener stats-reader {
    user = ${userName}
  }
  unix_listener stats-writer {
    user = ${userName}
  }
}
`;
  const confFile = path.join(dir, 'dovecot.conf');
  fs.writeFileSync(confFile, conf);
  const child = spawn(bin, ['-F', '-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const watchdog = stopWhenWeExit(child.pid, dir);
  try {
    await waitPort(port, host, 15_000, () => child.exitCode === null);
  } catch (e) {
    watchdog.cancel();
    child.kill('SIGKILL');
    let log = '';
    try {
      log = fs.readFileSync(path.join(dir, 'dovecot.log'), 'utf8');
    } catch {
      /* no log yet */
    }
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}: ${stderr.trim()} ${log.trim()}`.slice(0, 2000));
  }
  const folderDir = (user: string, folder: string) => {
    const base = path.join(dir, 'home', user, 'Maildir');
    if (folder === 'INBOX') return base;
    const d = path.join(base, '.' + folder.replace(/\//g, '.'));
    if (!fs.existsSync(d)) {
      for (const s of ['new', 'cur', 'tmp']) fs.mkdirSync(path.join(d, s), { recursive: true });
      if (root) execFileSync('chown', ['-R', `${uid}:${gid}`, d]);
    }
    return d;
  };
  let seq = 0;
  return {
    host,
    port,
    tlsPort,
    caFile: cert?.cert,
    dir,
    pid: child.pid,
    deliver(user, folder, raw) {
      const d = folderDir(user, folder);
      const name = `${Math.floor(Date.now() / 1000)}.M${++seq}P${process.pid}R${crypto.randomBytes(4).toString('hex')}.mtarep-test`;
      const tmp = path.join(d, 'tmp', name);
      fs.writeFileSync(tmp, raw);
      if (root) fs.chownSync(tmp, uid, gid);
      const dest = path.join(d, 'new', name);
      fs.renameSync(tmp, dest);
      return dest;
    },
    count(user, folder) {
      const d = folderDir(user, folder);
      return fs.readdirSync(path.join(d, 'new')).length + fs.readdirSync(path.join(d, 'cur')).length;
    },
    stop: async () => {
      watchdog.cancel();
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
