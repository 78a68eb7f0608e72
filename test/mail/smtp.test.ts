/**
 * The SMTP sender against a real smtp-server on loopback: plain, STARTTLS and implicit TLS with a
 * self-signed certificate (trusted via `ca`, refused without, accepted with `insecure`), AUTH PLAIN /
 * LOGIN, refused recipients, custom headers, the pool bound, and connect failures as typed errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { createSmtpSender, type SmtpSettings } from '../../lib/mail/smtp.js';
import { MailError } from '../../lib/mail/errors.js';
import { makeSelfSignedCert } from '../helpers/dovecot.js';
import { freePort } from '../helpers/net.js';

interface Received {
  from: string;
  to: string[];
  raw: string;
  user: string | undefined;
}

async function startServer(opts: { secure?: boolean; auth?: boolean; methods?: string[]; cert?: { cert: string; key: string } }) {
  const received: Received[] = [];
  let open = 0;
  let maxOpen = 0;
  const server = new SMTPServer({
    secure: opts.secure ?? false,
    ...(opts.cert ? { key: fs.readFileSync(opts.cert.key), cert: fs.readFileSync(opts.cert.cert) } : {}),
    disabledCommands: opts.auth ? [] : ['AUTH'],
    ...(opts.cert ? {} : { hideSTARTTLS: true }),
    authMethods: opts.methods ?? ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    logger: false,
    onConnect(_s, cb) {
      open++;
      maxOpen = Math.max(maxOpen, open);
      cb();
    },
    onClose() {
      open--;
    },
    onAuth(auth, _s, cb) {
      if (auth.username === 'probes' && auth.password === 's3cret-pass') cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onRcptTo(addr, _s, cb) {
      if (addr.address.startsWith('refuse')) {
        const e = new Error('5.1.1 <' + addr.address + '>: Recipient address rejected') as Error & { responseCode: number };
        e.responseCode = 550;
        return cb(e);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString(),
          user: session.user as string | undefined,
        });
        cb(null, 'Ok: queued as TEST1');
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    received,
    get maxOpen() {
      return maxOpen;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const msg = (to: string, extra: Partial<Parameters<ReturnType<typeof createSmtpSender>['send']>[0]> = {}) => ({
  from: 'probes@mon.test',
  to,
  subject: '[mtarep probe] mtp-x',
  text: 'probe',
  ...extra,
});

let dir: string;
let cert: { cert: string; key: string };
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-smtp-'));
  cert = makeSelfSignedCert(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('SMTP sender', () => {
  it('sends over plain SMTP with custom headers and returns the server answer', async () => {
    const srv = await startServer({});
    const smtp = createSmtpSender({ host: '127.0.0.1', port: srv.port, tls: 'none' });
    try {
      const r = await smtp.send(msg('a@dom.test', { headers: { 'X-Mtarep-Probe': 'mtp-abc' }, messageId: 'mtp-abc@mon.test' }));
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.response).toMatch(/^250 .*queued as TEST1/);
      expect(r.accepted).toEqual(['a@dom.test']);
      expect(r.submitMs).toBeGreaterThanOrEqual(0);
      expect(srv.received).toHaveLength(1);
      expect(srv.received[0]!.raw).toMatch(/^X-Mtarep-Probe: mtp-abc\r$/m);
      expect(srv.received[0]!.raw).toMatch(/^Message-ID: <mtp-abc@mon\.test>\r$/im);
    } finally {
      smtp.close();
      await srv.close();
    }
  });

  it('a plain ASCII message is written directly (dot-stuffed on the wire); anything else is composed by nodemailer', async () => {
    const { simpleParser } = await import('mailparser');
    const srv = await startServer({});
    const smtp = createSmtpSender({ host: '127.0.0.1', port: srv.port, tls: 'none' });
    try {
      const text = 'mtarep round-trip probe mtp-x\n.\n..two dots\nend\n';
      const r = await smtp.send({ from: 'probes@mon.test', to: 'a@dom.test', subject: '[mtarep probe] mtp-x', text, headers: { 'X-Mtarep-Probe': 'mtp-x' }, messageId: 'mtp-x@mon.test' });
      expect(r.ok && r.messageId).toBe('<mtp-x@mon.test>');
      const plain = await simpleParser(srv.received[0]!.raw);
      expect(srv.received[0]!.raw).toMatch(/^Content-Transfer-Encoding: 7bit\r$/m);
      expect(plain.subject).toBe('[mtarep probe] mtp-x');
      expect(plain.messageId).toBe('<mtp-x@mon.test>');
      expect(plain.headers.get('x-mtarep-probe')).toBe('mtp-x');
      expect(plain.date).toBeInstanceOf(Date);
      expect(plain.text).toBe(text);
      expect(srv.received[0]!.from).toBe('probes@mon.test');
      // Non-ASCII subject: nodemailer encodes it.
      const r2 = await smtp.send({ from: 'probes@mon.test', to: 'a@dom.test', subject: '[Prüfung] mtp-y', text: 'grüße\n' });
      expect(r2.ok).toBe(true);
      const composed = await simpleParser(srv.received[1]!.raw);
      expect(srv.received[1]!.raw).toContain('=?UTF-8?');
      expect(composed.subject).toBe('[Prüfung] mtp-y');
      expect(composed.text).toBe('grüße\n');
    } finally {
      smtp.close();
      await srv.close();
    }
  });

  it('a refused recipient is a send-stage error carrying the SMTP answer; the next message still goes', async () => {
    const srv = await startServer({});
    const smtp = createSmtpSender({ host: '127.0.0.1', port: srv.port, tls: 'none' });
    try {
      const [bad, good] = await smtp.sendMany([msg('refuse@dom.test'), msg('b@dom.test')]);
      expect(bad!.ok).toBe(false);
      if (bad!.ok) return;
      expect(bad!.error).toBeInstanceOf(MailError);
      expect(bad!.error.stage).toBe('send');
      expect(bad!.error.responseCode).toBe(550);
      expect(bad!.error.response).toMatch(/550 5\.1\.1 <refuse@dom\.test>: Recipient address rejected/);
      expect(good!.ok).toBe(true);
    } finally {
      smtp.close();
      await srv.close();
    }
  });

  it('a pool of N never opens more than N connections', async () => {
    const srv = await startServer({});
    const smtp = createSmtpSender({ host: '127.0.0.1', port: srv.port, tls: 'none', pool: 3 });
    try {
      const rs = await smtp.sendMany(Array.from({ length: 30 }, (_, i) => msg(`u${i}@dom.test`)));
      expect(rs.every((r) => r.ok)).toBe(true);
      expect(srv.received).toHaveLength(30);
      expect(srv.maxOpen).toBeGreaterThan(1);
      expect(srv.maxOpen).toBeLessThanOrEqual(3);
    } finally {
      smtp.close();
      await srv.close();
    }
  });

  for (const method of ['PLAIN', 'LOGIN']) {
    it(`AUTH ${method} as offered; a wrong password is an auth-stage error without the password`, async () => {
      const srv = await startServer({ auth: true, methods: [method] });
      const base: SmtpSettings = { host: '127.0.0.1', port: srv.port, tls: 'none', user: 'probes' };
      const ok = createSmtpSender({ ...base, password: 's3cret-pass' });
      const bad = createSmtpSender({ ...base, password: 'wrong-pass-123' });
      try {
        const r = await ok.send(msg('a@dom.test'));
        expect(r.ok).toBe(true);
        expect(srv.received[0]!.user).toBe('probes');
        const f = await bad.send(msg('a@dom.test'));
        expect(f.ok).toBe(false);
        if (f.ok) return;
        expect(f.error.stage).toBe('auth');
        expect(JSON.stringify({ m: f.error.message, r: f.error.response })).not.toContain('wrong-pass-123');
        await expect(bad.verify()).rejects.toMatchObject({ stage: 'auth' });
      } finally {
        ok.close();
        bad.close();
        await srv.close();
      }
    });
  }

  it('STARTTLS with a self-signed certificate: trusted via ca, refused without, accepted with insecure', async () => {
    const srv = await startServer({ cert });
    const ca = [fs.readFileSync(cert.cert, 'utf8')];
    const base: SmtpSettings = { host: '127.0.0.1', port: srv.port, tls: 'starttls' };
    const trusted = createSmtpSender({ ...base, ca });
    const untrusted = createSmtpSender(base);
    const insecure = createSmtpSender({ ...base, insecure: true });
    try {
      expect((await trusted.send(msg('a@dom.test'))).ok).toBe(true);
      const f = await untrusted.send(msg('a@dom.test'));
      expect(f.ok).toBe(false);
      if (!f.ok) {
        expect(f.error.stage).toBe('connect');
        expect(f.error.message).toMatch(/certificate/i);
      }
      expect((await insecure.send(msg('a@dom.test'))).ok).toBe(true);
      expect(srv.received).toHaveLength(2);
    } finally {
      trusted.close();
      untrusted.close();
      insecure.close();
      await srv.close();
    }
  });

  it('starttls refuses a server that does not offer STARTTLS', async () => {
    const srv = await startServer({});
    const smtp = createSmtpSender({ host: '127.0.0.1', port: srv.port, tls: 'starttls' });
    try {
      const f = await smtp.send(msg('a@dom.test'));
      expect(f.ok).toBe(false);
      if (!f.ok) expect(f.error.stage).toBe('connect');
      expect(srv.received).toHaveLength(0);
    } finally {
      smtp.close();
      await srv.close();
    }
  });

  it('implicit TLS', async () => {
    const srv = await startServer({ secure: true, cert });
    const smtp = createSmtpSender({ host: '127.0.0.1', port: srv.port, tls: 'tls', ca: [fs.readFileSync(cert.cert, 'utf8')] });
    try {
      expect((await smtp.send(msg('a@dom.test'))).ok).toBe(true);
    } finally {
      smtp.close();
      await srv.close();
    }
  });

  it('connection refused and a silent server are connect-stage errors', async () => {
    const port = await freePort();
    const refused = createSmtpSender({ host: '127.0.0.1', port, tls: 'none' });
    const silent = net.createServer(() => {});
    const silentPort = await freePort();
    await new Promise<void>((r) => silent.listen(silentPort, '127.0.0.1', r));
    const slow = createSmtpSender({ host: '127.0.0.1', port: silentPort, tls: 'none', timeoutMs: 300 });
    try {
      const a = await refused.send(msg('a@dom.test'));
      expect(a.ok).toBe(false);
      if (!a.ok) expect(a.error.stage).toBe('connect');
      const b = await slow.send(msg('a@dom.test'));
      expect(b.ok).toBe(false);
      if (!b.ok) {
        expect(b.error.stage).toBe('connect');
        expect(b.error.message).toMatch(/timeout|greeting/i);
      }
    } finally {
      refused.close();
      slow.close();
      silent.close();
    }
  });
});
