/**
 * A small SSH client over ssh2 for running fixed commands on an MTA: key authentication, the host key
 * checked against known_hosts (never accepted blindly), a handshake timeout, keepalives, and our own
 * command and idle timers around `exec` (ssh2 has none). Every failure is an `SshError` whose `kind`
 * says what went wrong and whose message names the host.
 */
import type { Client, ConnectConfig } from 'ssh2';
import { entriesFor, hostKeyAlgorithms, verifyHostKey, type KnownHostEntry } from './known-hosts.js';
import { phase } from '../../lib/phases.js';

/** Host-key algorithms ssh2 speaks (a known_hosts line of another type, e.g. FIDO `sk-*`, is skipped). */
const SUPPORTED_HOST_KEY = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-dss']);

export type SshErrorKind = 'hostkey' | 'auth' | 'connect' | 'timeout' | 'exec' | 'closed';

export class SshError extends Error {
  readonly kind: SshErrorKind;
  constructor(kind: SshErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SshError';
    this.kind = kind;
  }
}

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey: Buffer;
  knownHosts: readonly KnownHostEntry[];
  /** Handshake + authentication timeout. */
  readyTimeoutMs: number;
  keepaliveIntervalMs?: number;
}

export interface ExecOptions {
  /** Whole-command limit. */
  timeoutMs: number;
  /** Limit on silence: no stdout/stderr byte for this long. Default: timeoutMs. */
  idleTimeoutMs?: number;
  /** Streamed stdout. When absent, stdout is collected (up to `maxStdout` bytes) into the result. */
  onStdout?: (chunk: Buffer) => void;
  maxStdout?: number;
  /** Flow control for a streamed read: pausing stops the window, so the remote side waits. */
  onChannel?: (flow: { pause(): void; resume(): void }) => void;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: Buffer;
  /** The first 4 KiB of stderr, for error messages. */
  stderr: string;
}

export interface SshSession {
  exec(command: string, opts: ExecOptions): Promise<ExecResult>;
  close(): void;
  /** True once the connection has closed (either side). */
  readonly closed: boolean;
}

/**
 * ssh2, loaded on the first connection: loading it costs ~50 ms of a start (its key parser, agent
 * and HTTP agents load node's crypto, child_process, http, https and tls, and it test-signs with
 * Ed25519), which a run with no maillog to read (DNSBL only, the dashboard) does not need.
 */
let ssh2Module: Promise<typeof import('ssh2')> | undefined;
const ssh2 = () => (ssh2Module ??= import('ssh2'));

/**
 * Connect and authenticate. Rejects with SshError: 'hostkey' (unknown / changed / revoked key),
 * 'auth' (key refused), 'timeout' (handshake), 'connect' (refused, unreachable, reset).
 */
export async function sshConnect(t: SshTarget): Promise<SshSession> {
  const name = t.port === 22 ? t.host : `${t.host}:${t.port}`;
  const client = new (await ssh2()).Client();
  let hostKeyProblem: string | null = null;
  // Offer only the key types known_hosts holds for this host, as OpenSSH orders them, so a server
  // with several host keys presents one we can check (otherwise "changed" would be a false alarm).
  const known = entriesFor(t.knownHosts, t.host, t.port).filter((e) => !e.revoked);
  const algos = [...new Set(known.flatMap((e) => hostKeyAlgorithms(e.keyType)))].filter((a) => SUPPORTED_HOST_KEY.has(a));
  const cfg: ConnectConfig = {
    host: t.host,
    port: t.port,
    username: t.username,
    privateKey: t.privateKey,
    // The key is the only method: no `none` request first to learn the server's methods (one round
    // trip less on every connection; a refused key is still an 'auth' error).
    authHandler: ['publickey'],
    readyTimeout: t.readyTimeoutMs,
    keepaliveInterval: t.keepaliveIntervalMs ?? 10_000,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer) => {
      const v = verifyHostKey(t.knownHosts, t.host, t.port, key);
      if (!v.ok) hostKeyProblem = v.message;
      return v.ok;
    },
    ...(algos.length > 0 ? { algorithms: { serverHostKey: algos as never } } : {}),
  };
  return new Promise<SshSession>((resolve, reject) => {
    let settled = false;
    const fail = (e: SshError) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(e);
    };
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (!settled) {
        if (hostKeyProblem) fail(new SshError('hostkey', `${name}: ${hostKeyProblem}`, { cause: err }));
        else if (err.level === 'client-authentication') fail(new SshError('auth', `${name}: key refused for user ${t.username}`, { cause: err }));
        else if (err.level === 'client-timeout') fail(new SshError('timeout', `${name}: SSH handshake timed out after ${t.readyTimeoutMs} ms`, { cause: err }));
        else fail(new SshError('connect', `${name}: ${err.code ? err.code + ' ' : ''}${err.message}`, { cause: err }));
        return;
      }
      // After ready: exec() rejects through the channel's close; nothing else to do but not crash.
      session.lastError = err;
    });
    client.on('close', () => {
      if (!settled) fail(new SshError('closed', `${name}: connection closed during the handshake`));
      session.closed = true;
    });
    client.once('connect', () => phase('ssh tcp connected'));
    client.once('handshake', () => phase('ssh handshake done'));
    client.on('ready', () => {
      settled = true;
      resolve(session);
    });
    const session: SshSession & { closed: boolean; lastError: Error | null } = {
      closed: false,
      lastError: null,
      close: () => client.end(),
      exec: (command, opts) => execOn(client, name, command, opts, () => session.lastError),
    };
    try {
      phase('ssh connect');
      client.connect(cfg);
    } catch (e) {
      fail(new SshError('connect', `${name}: ${(e as Error).message}`, { cause: e }));
    }
  });
}

function execOn(client: Client, name: string, command: string, opts: ExecOptions, lastError: () => Error | null): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    const out: Buffer[] = [];
    let outLen = 0;
    let errText = '';
    let code: number | null = null;
    let signal: string | null = null;
    let done = false;
    let idleTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let channel: import('ssh2').ClientChannel | undefined;
    const finish = (err: SshError | null) => {
      if (done) return;
      done = true;
      clearTimeout(idleTimer);
      clearTimeout(killTimer);
      if (err) {
        channel?.close();
        reject(err);
      } else resolve({ code, signal, stdout: Buffer.concat(out, outLen), stderr: errText });
    };
    const idleMs = opts.idleTimeoutMs ?? opts.timeoutMs;
    // One idle timer for the whole command: a chunk only notes the time (a streamed read brings
    // thousands of chunks; re-arming a timer for each cost more than reading them), and the timer,
    // when it fires, waits again for what is left of the idle limit since the last chunk.
    let lastActivity = performance.now();
    const touch = () => {
      lastActivity = performance.now();
    };
    const checkIdle = () => {
      const quiet = performance.now() - lastActivity;
      if (quiet >= idleMs) finish(new SshError('timeout', `${name}: no output for ${idleMs} ms`));
      else idleTimer = setTimeout(checkIdle, Math.max(1, Math.ceil(idleMs - quiet)));
    };
    idleTimer = setTimeout(checkIdle, idleMs);
    killTimer = setTimeout(() => finish(new SshError('timeout', `${name}: command timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const onChannel = (err: Error | undefined, ch: import('ssh2').ClientChannel) => {
      if (err) return finish(new SshError('exec', `${name}: exec failed: ${err.message}`, { cause: err }));
      if (done) {
        ch.close();
        return;
      }
      channel = ch;
      opts.onChannel?.({ pause: () => ch.pause(), resume: () => ch.resume() });
      ch.on('data', (b: Buffer) => {
        touch();
        if (done) return;
        try {
          if (opts.onStdout) opts.onStdout(b);
          else if (outLen < (opts.maxStdout ?? 16 << 20)) {
            out.push(b);
            outLen += b.length;
          }
        } catch (e) {
          finish(new SshError('exec', `${name}: ${(e as Error).message}`, { cause: e }));
        }
      });
      ch.stderr.on('data', (b: Buffer) => {
        touch();
        if (errText.length < 4096) errText += b.toString('utf8').slice(0, 4096 - errText.length);
      });
      ch.on('exit', (c: number | null, sig?: string) => {
        code = c;
        signal = sig ?? null;
      });
      ch.on('error', (e: Error) => finish(new SshError('exec', `${name}: ${e.message}`, { cause: e })));
      ch.on('close', () => {
        if (code === null && signal === null) {
          const why = lastError()?.message ?? 'channel closed without an exit status';
          return finish(new SshError('closed', `${name}: ${why}`));
        }
        finish(null);
      });
    };
    try {
      client.exec(command, onChannel);
    } catch (e) {
      finish(new SshError('closed', `${name}: ${(e as Error).message}`, { cause: e }));
    }
  });
}
