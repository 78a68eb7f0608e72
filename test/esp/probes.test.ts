/**
 * Probes through the ESP gateway (`probes.via: esp`) and ESP events settling them, with real parts:
 * the vendors' APIs played on loopback (test/helpers/esp-api.ts), a real Redis, the webhooks and the
 * probe API through the real web app, a real (empty) mbox for the round's receive step. Checked
 * against what the test made the providers do: the token header on every accepted message, the
 * provider and message id on each record, send failures with their reason, failover, the report
 * through the gateway, and bounces / drops settling the right probe exactly once, even when they
 * arrive before the round has stored the provider's answer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runProbeRound } from '../../collector/probes/round.js';
import type { Config } from '../../lib/config/normalize.js';
import { EspGateway } from '../../lib/esp/gateway.js';
import { readSends } from '../../lib/esp/store.js';
import { keys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import { domainStore } from '../../lib/probes/domains.js';
import { limitsOf, probeState, stateReason } from '../../lib/probes/judge.js';
import type { ProbeRecord } from '../../lib/probes/model.js';
import { probeStore } from '../../lib/probes/store.js';
import { createApp } from '../../web/server.js';
import { startEspApi, type EspApiServer } from '../helpers/esp-api.js';
import { mailgunBody, sendgridHeaders, sendgridSigner } from '../helpers/esp-webhooks.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, htpasswdLine, makeConfig, tempDir, writeHtpasswd } from '../web/fixtures.js';

const NOW = new Date('2026-03-10T10:00:00Z');
const nowSec = NOW.getTime() / 1000;
const sg = sendgridSigner();
const MG_KEY = 'mg-signing-key-probes-0123';
const auth = basic('admin', 'pw-for-esp-probes');
const dir = tempDir();
const mbox = path.join(dir, 'probes.mbox');

let api: EspApiServer;
let r: TestRedis;
let config: Config;

function makeCfg(): Config {
  return makeConfig(
    dir,
    {
      esp: {
        from: 'sender@mon.test',
        timeout_ms: 30000,
        providers: [
          { name: 'sendgrid', api_key: api.keys.sendgrid, api_url: api.apiUrl.sendgrid },
          { name: 'mailgun', api_key: api.keys.mailgun, domain: api.mailgunDomain, api_url: api.apiUrl.mailgun },
        ],
        webhooks: { sendgrid: { public_key: sg.publicKey }, mailgun: { signing_key: MG_KEY } },
      },
      probes: { from: 'probes@mon.test', via: 'esp', mbox, alert_to: ['ops@mon.test'] },
    },
    r.prefix,
  );
}

beforeAll(async () => {
  [api, r] = await Promise.all([startEspApi(), testRedis()]);
  config = makeCfg();
  writeHtpasswd(config, [htpasswdLine('admin', 'pw-for-esp-probes', 'bcrypt')]);
});
afterAll(async () => {
  await api?.close();
  await r?.close();
});
beforeEach(async () => {
  await r.redis.flushdb();
  fs.writeFileSync(mbox, '');
  api.mode.sendgrid = api.mode.mailgun = api.mode.mandrill = 'ok';
  api.accepted.length = 0;
  api.hits.sendgrid = api.hits.mailgun = api.hits.mandrill = 0;
  await domainStore(r.redis, r.prefix).import([
    { line: 1, customer: 'ok', customerName: 'Ok', address: 'probe@ok.test', domain: 'ok.test' },
    { line: 2, customer: 'fo', customerName: 'Fo', address: 'probe@fo.test', domain: 'fo.test' },
    { line: 3, customer: 'bad', customerName: 'Bad', address: 'invalid@bad.test', domain: 'bad.test' },
  ]);
});

const k = () => keys(r.prefix);
const round = (at = NOW) => runProbeRound({ config, redis: r.redis, log: silentLogger, now: () => at });
const store = () => probeStore(r.redis, r.prefix);
async function probeOf(domain: string): Promise<ProbeRecord> {
  const list = await store().forDomain(domain, 0, NOW.getTime() + 86_400_000);
  return list[list.length - 1]!;
}
const app = (at = NOW) => createApp({ config, redis: r.redis, log: silentLogger, now: () => at });
async function postSendgrid(events: unknown[], ts = nowSec) {
  const body = JSON.stringify(events);
  const res = await app().request('/webhooks/sendgrid', { method: 'POST', body, headers: sendgridHeaders(sg, body, ts) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const sgBounce = (id: string, messageId: string, event = 'bounce', extra: Record<string, unknown> = {}) => ({
  email: 'probe@ok.test',
  timestamp: nowSec - 5,
  event,
  sg_event_id: id,
  sg_message_id: `${messageId}.filterdrecv-p3las1-5bf6f9c4b9-2kx7q-18-5F1A2B3C-4D.0`,
  ...extra,
});
const state = (p: ProbeRecord) => probeState(p, NOW.getTime(), NOW.getTime(), limitsOf(config.probes!));

describe('probes.via: esp', () => {
  it('sends each probe through the gateway with its token header; the record keeps the provider and message id', async () => {
    const res = await round();
    expect([res.sent, res.sendFailed]).toEqual([2, 1]);
    const accepted = api.accepted.filter((m) => m.subject.startsWith('[mtarep probe]'));
    expect(accepted.map((m) => [m.vendor, m.to]).sort()).toEqual([
      ['sendgrid', 'probe@fo.test'],
      ['sendgrid', 'probe@ok.test'],
    ]);
    for (const domain of ['ok.test', 'fo.test']) {
      const p = await probeOf(domain);
      const m = accepted.find((a) => a.to === p.address)!;
      expect(m.headers['X-Mtarep-Probe']).toBe(p.token);
      expect(m.subject).toBe(`[mtarep probe] ${p.token}`);
      expect(m.from).toBe('probes@mon.test');
      expect(p).toMatchObject({ provider: 'sendgrid', espMessageId: m.id, smtp: '202 accepted' });
      expect(p.submittedAt).toBeGreaterThanOrEqual(p.sentAt);
      expect(state(p)).toBe('pending');
    }
    // The invalid recipient: refused by the first provider, no failover, send-failed with the reason.
    const bad = await probeOf('bad.test');
    expect(api.hits.mailgun).toBe(0);
    expect(bad.provider).toBe('sendgrid');
    expect(bad.sendError).toMatchObject({ stage: 'esp', response: expect.stringContaining('Does not contain a valid address') });
    expect(state(bad)).toBe('send_failed');
    expect(stateReason(bad, 'send_failed')).toMatch(/^esp: 400 personalizations\.0\.to\.0\.email: Does not contain a valid address/);
    // The failing-domain report went through the gateway too (no probes.smtp configured).
    expect(res.failing).toEqual(['bad.test']);
    expect(res.alert).toBe('sent');
    expect(api.accepted.find((m) => m.to === 'ops@mon.test')?.subject).toBe('[mtarep] 1 probe domain failing: bad.test');
    // The ESP page's lists: the probes apart from the report, so a round of many domains never pushes
    // the test mails and reports out of theirs.
    const probeSends = await readSends(r.redis, k(), 10, 'probes');
    expect(probeSends.map((s) => [s.kind, s.to, s.outcome]).sort()).toEqual([
      ['probe', 'invalid@bad.test', 'invalid'],
      ['probe', 'probe@fo.test', 'sent'],
      ['probe', 'probe@ok.test', 'sent'],
    ]);
    expect((await readSends(r.redis, k(), 10)).map((s) => [s.kind, s.to, s.outcome])).toEqual([['report', 'ops@mon.test', 'sent']]);
    // The probe API carries the provider.
    const body = (await (await app().request('/api/probes/ok.test', { headers: auth })).json()) as { probes: Record<string, unknown>[] };
    expect(body.probes[0]).toMatchObject({ state: 'pending', provider: 'sendgrid', smtp: '202 accepted' });
  });

  it('fails over to the next provider; every provider failing is send-failed at once with each answer', async () => {
    api.mode.sendgrid = '500';
    await round();
    const p = await probeOf('ok.test');
    const m = api.accepted.find((a) => a.to === 'probe@ok.test')!;
    expect(m.vendor).toBe('mailgun');
    expect(m.headers['X-Mtarep-Probe']).toBe(p.token);
    expect(p).toMatchObject({ provider: 'mailgun', espMessageId: m.id });

    api.mode.mailgun = '500';
    const res = await round(new Date(NOW.getTime() + 60_000));
    expect([res.sent, res.sendFailed]).toEqual([0, 3]);
    const down = await probeOf('ok.test');
    expect(down.provider).toBeUndefined();
    expect(down.sendError?.stage).toBe('esp');
    expect(down.sendError?.message).toMatch(/^every ESP provider failed: mailgun unavailable \(500 Internal Server Error\); sendgrid unavailable \(500 Internal server error\)$/);
    expect(state(down)).toBe('send_failed');
    expect(await r.redis.zscore(k().probeOpen, down.token)).toBeNull();
    const body = (await (await app(new Date(NOW.getTime() + 60_000)).request('/api/probes/ok.test', { headers: auth })).json()) as { probes: Record<string, unknown>[] };
    expect(body.probes[0]).toMatchObject({ state: 'send_failed', provider: null, reason: expect.stringContaining('every ESP provider failed') });
  });
});

describe('ESP events settle probes', () => {
  it('a bounce or a drop matched by message id settles its probe as bounced, once, even when the ESP retries', async () => {
    await round();
    const ok = await probeOf('ok.test');
    const fo = await probeOf('fo.test');
    const batch = [
      sgBounce('ev-1', ok.espMessageId!, 'bounce', { status: '5.1.1', reason: '550 5.1.1 user unknown', type: 'bounce' }),
      sgBounce('ev-2', fo.espMessageId!, 'dropped', { email: 'probe@fo.test', reason: 'Bounced Address' }),
      sgBounce('ev-3', ok.espMessageId!, 'delivered', { response: '250 ok' }),
      sgBounce('ev-4', 'unknownMessageId', 'bounce', { status: '5.1.1', reason: 'not ours' }),
    ];
    expect(await postSendgrid(batch)).toEqual({ status: 200, body: { received: 4, counted: 4, duplicates: 0, settled: 2 } });
    const okB = await probeOf('ok.test');
    const foB = await probeOf('fo.test');
    expect(okB.bounce).toEqual({ at: (nowSec - 5) * 1000, status: '5.1.1', diagnostic: '550 5.1.1 user unknown', esp: { provider: 'sendgrid', event: 'bounce' } });
    expect(foB.bounce).toEqual({ at: (nowSec - 5) * 1000, diagnostic: 'Bounced Address', esp: { provider: 'sendgrid', event: 'dropped' } });
    expect({ ...okB, bounce: undefined }).toEqual({ ...ok, bounce: undefined });
    expect([state(okB), state(foB)]).toEqual(['bounced', 'bounced']);
    expect(await r.redis.zscore(k().probeOpen, ok.token)).toBeNull();
    expect(await r.redis.zscore(k().probeOpen, fo.token)).toBeNull();
    const body = (await (await app().request('/api/probes/ok.test', { headers: auth })).json()) as { probes: Record<string, unknown>[] };
    expect(body.probes[0]).toMatchObject({ state: 'bounced', provider: 'sendgrid', reason: 'sendgrid bounce: 5.1.1 550 5.1.1 user unknown' });

    // SendGrid retries the request (new timestamp and signature): nothing counted or settled again.
    expect(await postSendgrid(batch, nowSec + 30)).toEqual({ status: 200, body: { received: 4, counted: 0, duplicates: 4, settled: 0 } });
    // A second, different bounce for a settled probe is counted but does not change the probe.
    const again = [sgBounce('ev-5', ok.espMessageId!, 'bounce', { status: '5.7.1', reason: 'policy' })];
    expect((await postSendgrid(again)).body).toMatchObject({ counted: 1, settled: 0 });
    expect(await probeOf('ok.test')).toEqual(okB);
  });

  it('a Mailgun permanent failure settles the probe Mailgun sent; a deferral or a returned probe is not settled', async () => {
    api.mode.sendgrid = '500';
    await round();
    const ok = await probeOf('ok.test');
    const fo = await probeOf('fo.test');
    expect([ok.provider, fo.provider]).toEqual(['mailgun', 'mailgun']);
    // fo.test's probe came back before its bounce arrives.
    await store().save([{ ...fo, returnedAt: NOW.getTime() - 1000, foundAt: NOW.getTime(), folder: 'INBOX', junk: false }]);
    const mg = (token: string, messageId: string, severity: string, recipient: string) =>
      app().request('/webhooks/mailgun', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: mailgunBody(MG_KEY, {
          event: 'failed',
          severity,
          timestamp: nowSec - 2,
          recipient,
          message: { headers: { 'message-id': messageId } },
          'delivery-status': { code: 550, 'enhanced-code': '5.1.1', description: 'No such user' },
        }, nowSec, token),
      });
    const deferred = await mg('tok-deferred-00000000000000000001', ok.espMessageId!, 'temporary', 'probe@ok.test');
    expect(await deferred.json()).toMatchObject({ counted: 1, settled: 0 });
    const returned = await mg('tok-returned-00000000000000000002', fo.espMessageId!, 'permanent', 'probe@fo.test');
    expect(await returned.json()).toMatchObject({ counted: 1, settled: 0 });
    expect(state(await probeOf('fo.test'))).toBe('on_time');
    const bounced = await mg('tok-bounced-000000000000000000003', ok.espMessageId!, 'permanent', 'probe@ok.test');
    expect(await bounced.json()).toMatchObject({ counted: 1, settled: 1 });
    expect((await probeOf('ok.test')).bounce).toEqual({ at: (nowSec - 2) * 1000, status: '5.1.1', diagnostic: 'No such user', esp: { provider: 'mailgun', event: 'failed/permanent' } });
  });

  it("a bounce arriving before the round stored the provider's answer is kept when the round stores it", async () => {
    const rec: ProbeRecord = { token: 'mtp-race-0123456789abcdef0123456789ab', domain: 'ok.test', address: 'probe@ok.test', sentAt: NOW.getTime() };
    await store().save([rec], false);
    const gw = new EspGateway({ esp: config.esp, redis: r.redis, k: k(), now: () => NOW });
    const sent = await gw.send({ from: 'probes@mon.test', to: rec.address, subject: 'probe', text: 'x', headers: { 'X-Mtarep-Probe': rec.token } });
    expect(sent.outcome).toBe('sent');
    // The ESP drops it and says so before the round has written the answer.
    expect((await postSendgrid([sgBounce('ev-race', sent.messageId!, 'dropped', { reason: 'Invalid' })])).body).toMatchObject({ settled: 1 });
    const kept = await store().saveSent([{ ...rec, submittedAt: NOW.getTime() + 300, submitMs: 300, smtp: '202 accepted', provider: 'sendgrid', espMessageId: sent.messageId! }]);
    expect(kept).toBe(1);
    const p = (await store().get([rec.token]))[0]!;
    expect(p).toMatchObject({ provider: 'sendgrid', smtp: '202 accepted', bounce: { diagnostic: 'Invalid', esp: { provider: 'sendgrid', event: 'dropped' } } });
    expect(state(p)).toBe('bounced');
    expect(await r.redis.zscore(k().probeOpen, rec.token)).toBeNull();
    // Without a bounce meanwhile, saveSent is a plain save (the probe stays open).
    const other: ProbeRecord = { ...rec, token: 'mtp-race-other-000000000000000000000' };
    expect(await store().saveSent([{ ...other, submittedAt: NOW.getTime() + 1, smtp: '202 accepted' }])).toBe(0);
    expect(await r.redis.zscore(k().probeOpen, other.token)).not.toBeNull();
  });
});
