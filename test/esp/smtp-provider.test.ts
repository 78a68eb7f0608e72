/**
 * The `smtp` provider against a real SMTP server (smtp-server on loopback): a message with its custom
 * header arrives; a wrong password is a configuration problem and moves on; a refused recipient does
 * not move on; a server that is down moves on.
 */
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/load.js';
import { EspGateway } from '../../lib/esp/gateway.js';
import { keys } from '../../lib/keys.js';
import { startEspApi, type EspApiServer } from '../helpers/esp-api.js';
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
  timeout_ms: 3000
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
    expect(res.attempts[0]!.answer).toMatch(/ECONNREFUSED/);
    expect(res.provider).toBe('sendgrid');
  });
});
