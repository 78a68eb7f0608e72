/**
 * The `smtp` provider against a real SMTP server (smtp-server on loopback): a message with its custom
 * header arrives; a wrong password is a configuration problem and moves on; a refused recipient does
 * not move on; a server that is down moves on. Over STARTTLS (a certificate made by the test): the
 * certificate is verified against `ca_file`, an unknown one is refused, `insecure` is explicit.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/load.js';
import { EspGateway } from '../../lib/esp/gateway.js';
import { keys } from '../../lib/keys.js';
import { startEspApi, type EspApiServer } from '../helpers/esp-api.js';
import { makeSelfSignedCert } from '../helpers/dovecot.js';
import { freePort } from '../helpers/net.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';

let smtp: SMTPServer;
let port: number;
let api: EspApiServer;
let r: TestRedis;
const received: { rcpt: string[]; raw: string }[] = [];
const k = keys('mtarep:');

beforeAll(async () => {
  r = await testRedis();
  api = await startEspApi();
  port = await freePort();
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, cb) {
      if (auth.username === 'relay' && auth.password === 'relay-secret-pw') cb(null, { user: 'relay' });
      else cb(new Error('Invalid username or password'));
    },
    onRcptTo(addr, _session, cb) {
      if (addr.address.startsWith('invalid@')) {
        cb(Object.assign(new Error('5.1.1 User unknown'), { responseCode: 550 }));
        return;
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ rcpt: session.envelope.rcptTo.map((a) => a.address), raw: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise<void>((res) => smtp.listen(port, '127.0.0.1', () => res()));
});
afterAll(async () => {
  await new Promise<void>((res) => smtp.close(() => res()));
  await api.close();
  await r.close();
});
beforeEach(async () => {
  received.length = 0;
  api.hits.sendgrid = 0;
  await r.redis.flushdb();
});

function esp(smtpLine: string, withSendgrid = false) {
  return parseConfig(
    `esp:
  from: probes@mon.example.com
  timeout_ms: 30000
  providers:
    - ${smtpLine}
${withSendgrid ? `    - { name: sendgrid, api_key: "${api.keys.sendgrid}", api_url: "${api.apiUrl.sendgrid}" }\n` : ''}`,
    '/tmp/mtarep.yml',
  ).esp!;
}

describe('smtp provider', () => {
  it('delivers with the custom header and reports the Message-ID', async () => {
    const gw = new EspGateway({ esp: esp(`{ name: smtp, host: 127.0.0.1, port: ${port}, tls: none, user: relay, password: relay-secret-pw }`), redis: r.redis, k });
    const res = await gw.send({ to: 'someone@example.net', subject: 'probe', text: 'hi', headers: { 'X-Mtarep-Probe': 'tok-smtp-1' } });
    expect(res.outcome).toBe('sent');
    expect(res.attempts[0]).toMatchObject({ provider: 'smtp', outcome: 'sent', status: 250 });
    expect(received).toHaveLength(1);
    const parsed = await simpleParser(received[0]!.raw);
    expect(parsed.headers.get('x-mtarep-probe')).toBe('tok-smtp-1');
    expect(received[0]!.rcpt).toEqual(['someone@example.net']);
    expect(`<${res.messageId}>`).toBe(parsed.messageId);
  });

  it('a wrong password is a configuration problem and moves on, without the password in the answer', async () => {
    const gw = new EspGateway({ esp: esp(`{ name: smtp, host: 127.0.0.1, port: ${port}, tls: none, user: relay, password: wrong-password-x }`, true), redis: r.redis, k });
    const res = await gw.send({ to: 'someone@example.net', subject: 'probe', text: 'hi' });
    expect(res.attempts[0]).toMatchObject({ provider: 'smtp', outcome: 'auth', status: 535 });
    expect(res.configProblems).toEqual(['smtp']);
    expect(res.provider).toBe('sendgrid');
    expect(JSON.stringify(res)).not.toContain('wrong-password-x');
  });

  it('a refused recipient (550) does not move on', async () => {
    const gw = new EspGateway({ esp: esp(`{ name: smtp, host: 127.0.0.1, port: ${port}, tls: none, user: relay, password: relay-secret-pw }`, true), redis: r.redis, k });
    const res = await gw.send({ to: 'invalid@example.net', subject: 'probe', text: 'hi' });
    expect(res.outcome).toBe('invalid');
    expect(res.attempts).toHaveLength(1);
    expect(res.attempts[0]).toMatchObject({ provider: 'smtp', outcome: 'invalid', status: 550 });
    expect(api.hits.sendgrid).toBe(0);
  });

  it('no credentials for a server that requires them (530) is a configuration problem', async () => {
    const gw = new EspGateway({ esp: esp(`{ name: smtp, host: 127.0.0.1, port: ${port}, tls: none }`, true), redis: r.redis, k });
    const res = await gw.send({ to: 'someone@example.net', subject: 'probe', text: 'hi' });
    expect(res.attempts[0]).toMatchObject({ provider: 'smtp', outcome: 'auth', status: 530 });
    expect(res.provider).toBe('sendgrid');
  });

  it('a server that is down moves on', async () => {
    const dead = await freePort();
    const gw = new EspGateway({ esp: esp(`{ name: smtp, host: 127.0.0.1, port: ${dead}, tls: none }`, true), redis: r.redis, k });
    const res = await gw.send({ to: 'someone@example.net', subject: 'probe', text: 'hi' });
    expect(res.attempts[0]).toMatchObject({ provider: 'smtp', outcome: 'unavailable' });
    expect(res.attempts[0]!.answer).toMatch(/connection refused/);
    expect(res.provider).toBe('sendgrid');
  });
});

describe('smtp provider over STARTTLS', () => {
  // A relay that offers STARTTLS with a certificate this test makes, and refuses AUTH before TLS.
  let tlsServer: SMTPServer;
  let tlsPort: number;
  let cert: { cert: string; key: string };
  const secured: boolean[] = [];
  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-esp-tls-'));
    cert = makeSelfSignedCert(dir);
    tlsPort = await freePort();
    tlsServer = new SMTPServer({
      key: fs.readFileSync(cert.key),
      cert: fs.readFileSync(cert.cert),
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, session, cb) {
        if (!session.secure) return cb(new Error('TLS first'));
        if (auth.username === 'relay' && auth.password === 'relay-secret-pw') cb(null, { user: 'relay' });
        else cb(new Error('Invalid username or password'));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          secured.push(session.secure);
          received.push({ rcpt: session.envelope.rcptTo.map((a) => a.address), raw: Buffer.concat(chunks).toString('utf8') });
          cb();
        });
      },
    });
    await new Promise<void>((res) => tlsServer.listen(tlsPort, '127.0.0.1', () => res()));
  });
  afterAll(async () => {
    await new Promise<void>((res) => tlsServer.close(() => res()));
  });
  beforeEach(() => {
    secured.length = 0;
  });
  const line = (extra: string) => `{ name: smtp, host: 127.0.0.1, port: ${tlsPort}, tls: starttls, user: relay, password: relay-secret-pw${extra} }`;

  it('upgrades with STARTTLS, verifies the certificate against ca_file, authenticates and delivers with the header', async () => {
    const gw = new EspGateway({ esp: esp(line(`, ca_file: "${cert.cert}"`)), redis: r.redis, k });
    const res = await gw.send({ to: 'someone@example.net', subject: 'probe', text: 'hi', headers: { 'X-Mtarep-Probe': 'tok-starttls-1' } });
    expect(res.outcome).toBe('sent');
    expect(res.attempts[0]).toMatchObject({ provider: 'smtp', outcome: 'sent', status: 250 });
    expect(secured).toEqual([true]);
    const parsed = await simpleParser(received[0]!.raw);
    expect(parsed.headers.get('x-mtarep-probe')).toBe('tok-starttls-1');
  });

  it('a certificate no configured CA vouches for is a configuration problem (nothing sent); the next provider takes the mail', async () => {
    const gw = new EspGateway({ esp: esp(line(''), true), redis: r.redis, k });
    const res = await gw.send({ to: 'someone@example.net', subject: 'probe', text: 'hi' });
    expect(res.attempts[0]!.provider).toBe('smtp');
    expect(res.attempts[0]!.outcome).toBe('config');
    expect(res.attempts[0]!.answer).toMatch(/^TLS: .*self[- ]signed certificate/i);
    expect(res.configProblems).toEqual(['smtp']);
    expect(res.provider).toBe('sendgrid');
    expect(secured).toEqual([]);
  });

  it('insecure: true skips verification only when asked; an unreadable ca_file is a configuration problem', async () => {
    const gw = new EspGateway({ esp: esp(line(', insecure: true')), redis: r.redis, k });
    expect((await gw.send({ to: 'someone@example.net', subject: 'probe', text: 'hi' })).outcome).toBe('sent');
    expect(secured).toEqual([true]);
    const missing = new EspGateway({ esp: esp(line(', ca_file: /nonexistent/ca.pem'), true), redis: r.redis, k });
    const res = await missing.send({ to: 'someone@example.net', subject: 'probe', text: 'hi' });
    expect(res.attempts[0]).toMatchObject({ provider: 'smtp', outcome: 'config', answer: 'cannot read ca_file /nonexistent/ca.pem: ENOENT' });
    expect(res.configProblems).toEqual(['smtp']);
    expect(res.provider).toBe('sendgrid');
  });
});
