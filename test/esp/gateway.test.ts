/**
 * The ESP gateway against the three vendor APIs played on loopback (test/helpers/esp-api.ts) and a
 * real Redis: every provider carries the custom headers; failover on 5xx, 429, timeout, network
 * error and bad keys; no failover on an invalid recipient; the first working provider is shared
 * through Redis; every attempt is recorded.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/load.js';
import type { EspConfig } from '../../lib/config/esp.js';
import { EspGateway, EspNotConfiguredError, tryOrder } from '../../lib/esp/gateway.js';
import { readProviderStates, readSends } from '../../lib/esp/store.js';
import { keys } from '../../lib/keys.js';
import { captureLog } from '../helpers/capture-log.js';
import { startEspApi, type EspApiServer } from '../helpers/esp-api.js';
import { freePort } from '../helpers/net.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';

let api: EspApiServer;
let r: TestRedis;
const k = keys('mtarep:');

function espConfig(order: string[], extra: { timeoutMs?: number; cacheS?: number; overrides?: Record<string, string> } = {}): EspConfig {
  const line: Record<string, string> = {
    sendgrid: `{ name: sendgrid, api_key: "${api.keys.sendgrid}", api_url: "${api.apiUrl.sendgrid}" }`,
    mailgun: `{ name: mailgun, api_key: "${api.keys.mailgun}", domain: ${api.mailgunDomain}, api_url: "${api.apiUrl.mailgun}" }`,
    mandrill: `{ name: mandrill, api_key: "${api.keys.mandrill}", api_url: "${api.apiUrl.mandrill}" }`,
    ...extra.overrides,
  };
  const yml = `esp:
  from: probes@mon.example.com
  timeout_ms: ${extra.timeoutMs ?? 30000}
  first_working_cache_s: ${extra.cacheS ?? 3600}
  providers:
${order.map((n) => `    - ${line[n]}`).join('\n')}
`;
  return parseConfig(yml, '/tmp/mtarep.yml').esp!;
}

const probe = { to: 'someone@example.net', subject: 'mtarep probe', text: 'hello', headers: { 'X-Mtarep-Probe': 'tok-0123456789abcdef' } };

beforeAll(async () => {
  api = await startEspApi();
  r = await testRedis();
});
afterAll(async () => {
  await api.close();
  await r.close();
});
beforeEach(async () => {
  await r.redis.flushdb();
  api.mode.sendgrid = api.mode.mailgun = api.mode.mandrill = 'ok';
  api.accepted.length = 0;
  api.hits.sendgrid = api.hits.mailgun = api.hits.mandrill = 0;
});

describe('each provider', () => {
  it.each(['sendgrid', 'mailgun', 'mandrill'] as const)('%s sends through its real API shape, custom headers intact', async (name) => {
    const gw = new EspGateway({ esp: espConfig([name]), redis: r.redis, k });
    const res = await gw.send(probe);
    expect(res.outcome).toBe('sent');
    expect(res.provider).toBe(name);
    expect(api.accepted).toHaveLength(1);
    const got = api.accepted[0]!;
    expect(got).toMatchObject({ vendor: name, from: 'probes@mon.example.com', to: probe.to, subject: probe.subject, text: 'hello' });
    expect(got.headers['X-Mtarep-Probe']).toBe('tok-0123456789abcdef');
    expect(res.messageId).toBe(got.id);
    expect(res.attempts).toEqual([expect.objectContaining({ provider: name, outcome: 'sent' })]);
  });
});

describe('failover', () => {
  it.each([
    ['500', 'unavailable'],
    ['429', 'unavailable'],
    ['timeout', 'unavailable'],
    ['401', 'auth'],
  ] as const)('sendgrid answering %s moves on to mailgun (%s)', async (mode, outcome) => {
    api.mode.sendgrid = mode;
    // The bound must run out for the hanging provider and never for the answering one, even on a loaded
    // machine: generous, and only as long as the timeout case needs.
    const timeoutMs = mode === 'timeout' ? 3000 : 30_000;
    const gw = new EspGateway({ esp: espConfig(['sendgrid', 'mailgun', 'mandrill'], { timeoutMs }), redis: r.redis, k });
    const res = await gw.send(probe);
    expect(res.outcome).toBe('sent');
    expect(res.provider).toBe('mailgun');
    expect(res.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ['sendgrid', outcome],
      ['mailgun', 'sent'],
    ]);
    if (mode === 'timeout') expect(res.attempts[0]!.answer).toBe('timeout after 3000 ms');
    else expect(res.attempts[0]!.status).toBe(Number(mode));
    expect(res.configProblems).toEqual(mode === '401' ? ['sendgrid'] : []);
    expect(api.accepted.map((a) => a.vendor)).toEqual(['mailgun']);
    expect(api.accepted[0]!.headers['X-Mtarep-Probe']).toBe('tok-0123456789abcdef');
  });

  it('a network error (nothing listening) moves on', async () => {
    const dead = `http://127.0.0.1:${await freePort()}/v3/`;
    const esp = espConfig(['sendgrid', 'mandrill'], { overrides: { sendgrid: `{ name: sendgrid, api_key: k-dead, api_url: "${dead}" }` } });
    const res = await new EspGateway({ esp, redis: r.redis, k }).send(probe);
    expect(res.attempts[0]).toMatchObject({ provider: 'sendgrid', outcome: 'unavailable' });
    expect(res.attempts[0]!.answer).toMatch(/^network error: ECONNREFUSED/);
    expect(res.provider).toBe('mandrill');
  });

  it("Mandrill's Invalid_Key (HTTP 500) is a bad key, not an outage", async () => {
    const esp = espConfig(['mandrill', 'sendgrid'], { overrides: { mandrill: `{ name: mandrill, api_key: wrong-key, api_url: "${api.apiUrl.mandrill}" }` } });
    const log = captureLog();
    const res = await new EspGateway({ esp, redis: r.redis, k, log }).send(probe);
    expect(res.attempts[0]).toMatchObject({ provider: 'mandrill', outcome: 'auth', status: 500 });
    expect(res.attempts[0]!.answer).toMatch(/Invalid_Key/);
    expect(res.configProblems).toEqual(['mandrill']);
    expect(res.provider).toBe('sendgrid');
    expect(log.text()).toMatch(/configuration problem/);
  });

  it('an unknown Mailgun domain (404) is a configuration problem and moves on', async () => {
    const esp = espConfig(['mailgun', 'sendgrid'], {
      overrides: { mailgun: `{ name: mailgun, api_key: "${api.keys.mailgun}", domain: other.example.com, api_url: "${api.apiUrl.mailgun}" }` },
    });
    const res = await new EspGateway({ esp, redis: r.redis, k }).send(probe);
    expect(res.attempts[0]).toMatchObject({ provider: 'mailgun', outcome: 'config', status: 404 });
    expect(res.attempts[0]!.answer).toContain('Domain not found: other.example.com');
    expect(res.configProblems).toEqual(['mailgun']);
    expect(res.provider).toBe('sendgrid');
  });

  it.each(['sendgrid', 'mailgun', 'mandrill'] as const)('an invalid recipient refused by %s does not move on', async (first) => {
    const order = [first, ...(['sendgrid', 'mailgun', 'mandrill'] as const).filter((n) => n !== first)];
    const res = await new EspGateway({ esp: espConfig(order), redis: r.redis, k }).send({ ...probe, to: 'invalid@example.net' });
    expect(res.outcome).toBe('invalid');
    expect(res.provider).toBeUndefined();
    expect(res.attempts).toHaveLength(1);
    expect(res.attempts[0]).toMatchObject({ provider: first, outcome: 'invalid' });
    expect(res.attempts[0]!.answer).toMatch(first === 'sendgrid' ? /personalizations\.0\.to\.0\.email: Does not contain a valid address/ : first === 'mailgun' ? /not a valid address/ : /invalid/);
    const others = order.slice(1);
    for (const o of others) expect(api.hits[o]).toBe(0);
  });

  it('every provider failing: failed, each attempt reported, nothing cached', async () => {
    api.mode.sendgrid = '500';
    api.mode.mailgun = '429';
    api.mode.mandrill = '500';
    const res = await new EspGateway({ esp: espConfig(['sendgrid', 'mailgun', 'mandrill']), redis: r.redis, k }).send(probe);
    expect(res.outcome).toBe('failed');
    expect(res.attempts.map((a) => a.outcome)).toEqual(['unavailable', 'unavailable', 'unavailable']);
    expect(await r.redis.get(k.espFirstWorking)).toBeNull();
  });
});

describe('the first working provider, shared through Redis', () => {
  it('is tried first by every gateway until it fails or its time is up', async () => {
    const esp = espConfig(['sendgrid', 'mailgun', 'mandrill'], { cacheS: 120 });
    api.mode.sendgrid = '500';
    const a = new EspGateway({ esp, redis: r.redis, k });
    expect((await a.send(probe)).provider).toBe('mailgun');
    expect(await r.redis.get(k.espFirstWorking)).toBe('mailgun');
    const ttl = await r.redis.ttl(k.espFirstWorking);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);

    // Another process (another gateway, its own connection) agrees, even with SendGrid back.
    api.mode.sendgrid = 'ok';
    const other = await (await import('../../lib/redis.js')).connectRedis({ url: r.url }, { reconnect: false });
    try {
      const b = new EspGateway({ esp, redis: other, k });
      const hitsBefore = api.hits.sendgrid;
      const res = await b.send(probe);
      expect(res.provider).toBe('mailgun');
      expect(res.attempts).toHaveLength(1);
      expect(api.hits.sendgrid).toBe(hitsBefore);

      // The cached one fails: the order starts from the top again and the new winner is cached.
      api.mode.mailgun = '500';
      const res2 = await b.send(probe);
      expect(res2.attempts.map((x) => [x.provider, x.outcome])).toEqual([
        ['mailgun', 'unavailable'],
        ['sendgrid', 'sent'],
      ]);
      expect(await r.redis.get(k.espFirstWorking)).toBe('sendgrid');
    } finally {
      other.disconnect();
    }
  });

  it('first_working_cache_s: 0 caches nothing', async () => {
    api.mode.sendgrid = '500';
    await new EspGateway({ esp: espConfig(['sendgrid', 'mailgun'], { cacheS: 0 }), redis: r.redis, k }).send(probe);
    expect(await r.redis.get(k.espFirstWorking)).toBeNull();
  });

  it('tryOrder puts the cached provider first and ignores an unknown one', () => {
    const ps = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
    expect(tryOrder(ps, 'b').map((p) => p.name)).toEqual(['b', 'a', 'c']);
    expect(tryOrder(ps, 'zz').map((p) => p.name)).toEqual(['a', 'b', 'c']);
    expect(tryOrder(ps, null).map((p) => p.name)).toEqual(['a', 'b', 'c']);
  });
});

describe('records', () => {
  it('keeps every send with its attempts and each provider state, bounded', async () => {
    api.mode.sendgrid = '401';
    const gw = new EspGateway({ esp: espConfig(['sendgrid', 'mailgun']), redis: r.redis, k });
    const res = await gw.send(probe);
    const [rec] = await readSends(r.redis, k, 10);
    expect(rec).toMatchObject({ id: res.id, to: probe.to, outcome: 'sent', provider: 'mailgun', messageId: res.messageId, headers: probe.headers });
    expect(rec!.attempts.map((a) => [a.provider, a.outcome, a.status])).toEqual([
      ['sendgrid', 'auth', 401],
      ['mailgun', 'sent', 200],
    ]);
    const [sg, mg] = await readProviderStates(r.redis, k, ['sendgrid', 'mailgun']);
    expect(sg).toMatchObject({ name: 'sendgrid', lastOutcome: 'auth', lastFailureOutcome: 'auth', failed: 1, sent: 0 });
    expect(sg!.lastFailureAnswer).toMatch(/^401 /);
    expect(sg!.lastSuccessAt).toBeUndefined();
    expect(mg).toMatchObject({ name: 'mailgun', lastOutcome: 'sent', sent: 1, failed: 0 });
    expect(mg!.lastSuccessAt).toBe(res.attempts[1]!.at);
    // The message id leads webhook events back to this send.
    const ref = JSON.parse((await r.redis.get(k.espMessage('mailgun', res.messageId!)))!) as { sendId: string };
    expect(ref.sendId).toBe(res.id);
    expect(await r.redis.ttl(k.espMessage('mailgun', res.messageId!))).toBeGreaterThan(6 * 86400);
  });

  it('no providers configured is a clear error', () => {
    expect(() => new EspGateway({ esp: undefined, redis: r.redis, k })).toThrow(EspNotConfiguredError);
  });
});

afterEach(() => {
  api.mode.sendgrid = api.mode.mailgun = api.mode.mandrill = 'ok';
});
