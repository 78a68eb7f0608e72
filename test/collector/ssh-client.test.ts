import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshError, sshConnect, type SshTarget } from '../../collector/ssh/client.js';
import { entryMatches, parseKnownHosts, verifyHostKey } from '../../collector/ssh/known-hosts.js';
import { readCommand } from '../../collector/maillog/remote.js';
import { freePort } from '../helpers/net.js';
import { startSshServer, type TestSshServer } from '../helpers/ssh-server.js';
import { generateKey } from '../helpers/ssh-keys.js';

let srv: TestSshServer;
beforeAll(async () => {
  srv = await startSshServer();
});
afterAll(async () => {
  await srv?.close();
});

const target = (knownHosts: string, over: Partial<SshTarget> = {}): SshTarget => ({
  host: srv.host,
  port: srv.port,
  username: 'mtarep',
  privateKey: Buffer.from(srv.clientKey.private),
  knownHosts: parseKnownHosts(knownHosts),
  readyTimeoutMs: 30_000,
  ...over,
});

const blob = (pub: string) => Buffer.from(pub.split(' ')[1]!, 'base64');

describe('known_hosts', () => {
  const key = generateKey().public;
  it('matches plain names, [host]:port, wildcards and negations', () => {
    expect(entryMatches('mta1,mta1.example.com', 'mta1.example.com')).toBe(true);
    expect(entryMatches('[127.0.0.1]:2222', '[127.0.0.1]:2222')).toBe(true);
    expect(entryMatches('127.0.0.1', '[127.0.0.1]:2222')).toBe(false);
    expect(entryMatches('*.example.com,!bad.example.com', 'mta1.example.com')).toBe(true);
    expect(entryMatches('*.example.com,!bad.example.com', 'bad.example.com')).toBe(false);
    expect(entryMatches('mta?', 'mta7')).toBe(true);
  });
  it('verifies against plain and hashed entries; tells unknown, changed and revoked apart', () => {
    const other = generateKey().public;
    const hashed = srv.knownHostsLine({ hashed: true, key });
    expect(verifyHostKey(parseKnownHosts(hashed), srv.host, srv.port, blob(key))).toEqual({ ok: true });
    expect(verifyHostKey(parseKnownHosts(`# comment\n\n[${srv.host}]:${srv.port} ${key}\n`), srv.host, srv.port, blob(key))).toEqual({ ok: true });
    expect(verifyHostKey(parseKnownHosts(hashed), srv.host, srv.port, blob(other))).toMatchObject({ ok: false, kind: 'changed' });
    expect(verifyHostKey(parseKnownHosts(hashed), srv.host, srv.port + 1, blob(key))).toMatchObject({ ok: false, kind: 'unknown' });
    // ssh looks up the lower-case name: a hashed entry written for mta1.example.com serves MTA1.Example.COM.
    const mixed = parseKnownHosts(`|1|${Buffer.from('salt').toString('base64')}|${crypto.createHmac('sha1', 'salt').update('mta1.example.com').digest('base64')} ${key}`);
    expect(verifyHostKey(mixed, 'MTA1.Example.COM', 22, blob(key))).toEqual({ ok: true });
    expect(verifyHostKey(mixed, 'MTA1.Example.COM', 22, blob(other))).toMatchObject({ ok: false, kind: 'changed' });
    const revoked = `@revoked [${srv.host}]:${srv.port} ${key}\n[${srv.host}]:${srv.port} ${key}`;
    expect(verifyHostKey(parseKnownHosts(revoked), srv.host, srv.port, blob(key))).toMatchObject({ ok: false, kind: 'revoked' });
  });
});

describe('sshConnect against a real SSH server', () => {
  it('runs a command through a real shell: stdout, stderr and exit code (plain entry)', async () => {
    const s = await sshConnect(target(srv.knownHostsLine()));
    try {
      const r = await s.exec(`printf 'a\\nb'; echo oops >&2; exit 3`, { timeoutMs: 30_000 });
      expect(r.stdout.toString()).toBe('a\nb');
      expect(r.stderr).toBe('oops\n');
      expect(r.code).toBe(3);
    } finally {
      s.close();
    }
  });

  it('accepts a hashed known_hosts entry', async () => {
    const s = await sshConnect(target(srv.knownHostsLine({ hashed: true })));
    const r = await s.exec('echo ok', { timeoutMs: 30_000 });
    s.close();
    expect(r.stdout.toString()).toBe('ok\n');
  });

  it('refuses a changed host key, before any command runs', async () => {
    const before = srv.commands.length;
    const e = await sshConnect(target(srv.knownHostsLine({ key: generateKey().public }))).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SshError);
    expect((e as SshError).kind).toBe('hostkey');
    expect((e as SshError).message).toMatch(/HOST KEY CHANGED for \[127\.0\.0\.1\]:\d+: server presented SHA256:/);
    expect(srv.commands.length).toBe(before);
  });

  it('refuses an unknown host key', async () => {
    const e = (await sshConnect(target('# empty\n')).catch((x: unknown) => x)) as SshError;
    expect(e.kind).toBe('hostkey');
    expect(e.message).toMatch(/not in known_hosts/);
  });

  it('reports a refused client key', async () => {
    const e = (await sshConnect(target(srv.knownHostsLine(), { privateKey: Buffer.from(generateKey().private) })).catch((x: unknown) => x)) as SshError;
    expect(e.kind).toBe('auth');
    expect(e.message).toMatch(/key refused for user mtarep/);
  });

  it('reports an unreachable host (closed loopback port)', async () => {
    const port = await freePort();
    const e = (await sshConnect(target('', { port })).catch((x: unknown) => x)) as SshError;
    expect(e.kind).toBe('connect');
    expect(e.message).toMatch(/ECONNREFUSED/);
  });

  it('handshake timeout against a silent TCP peer', async () => {
    const net = await import('node:net');
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const e = (await sshConnect(target('', { port, readyTimeoutMs: 300 })).catch((x: unknown) => x)) as SshError;
    silent.close();
    expect(e.kind).toBe('timeout');
  });

  it('command and idle timeouts are ours', async () => {
    const s = await sshConnect(target(srv.knownHostsLine()));
    try {
      const e1 = (await s.exec('sleep 5', { timeoutMs: 300 }).catch((x: unknown) => x)) as SshError;
      expect(e1.kind).toBe('timeout');
      expect(e1.message).toMatch(/no output for 300 ms|timed out after 300 ms/);
      const e2 = (await s.exec('echo start; sleep 5', { timeoutMs: 10_000, idleTimeoutMs: 300, onStdout: () => {} }).catch((x: unknown) => x)) as SshError;
      expect(e2.message).toMatch(/no output for 300 ms/);
      // The connection is still usable.
      expect((await s.exec('echo still', { timeoutMs: 30_000 })).stdout.toString()).toBe('still\n');
    } finally {
      s.close();
    }
  });

  it('a hostile path reaches the shell as one literal argument', async () => {
    const name = `it's $(touch pwned) \`touch pwned2\` ; touch pwned3 "x" \\ * -- log`;
    fs.writeFileSync(path.join(srv.dir, name), 'line one\nline two\n');
    const inode = String(fs.statSync(path.join(srv.dir, name)).ino);
    const s = await sshConnect(target(srv.knownHostsLine()));
    try {
      const r = await s.exec(readCommand(path.join(srv.dir, name), inode, 5), { timeoutMs: 30_000 });
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe('one\nline two\n');
    } finally {
      s.close();
    }
    for (const f of ['pwned', 'pwned2', 'pwned3']) expect(fs.existsSync(path.join(srv.dir, f))).toBe(false);
  });
});
