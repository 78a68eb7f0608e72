/**
 * The ESP webhooks end to end through the web app's machine sub-app (no login), against a real Redis:
 * requests signed with the vendors' real algorithms; batches, retries, replays, tampering; counters
 * exact; storage failures answer 5xx with nothing written. On a redis-server of its own: a test counts
 * SMISMEMBER calls in INFO commandstats, which is server-wide (other test files use the shared server).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dayKey, keys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import { connectRedis } from '../../lib/redis.js';
import { WebhookReceiver } from '../../lib/esp/webhooks/receive.js';
import type { EspEvent } from '../../lib/esp/webhooks/events.js';
import { latestEvents } from '../../lib/esp/webhooks/latest.js';
import { createApp } from '../../web/server.js';
import { mailgunBody, mailgunLegacyFields, mandrillRequest, sendgridHeaders, sendgridSigner, sgEvent } from '../helpers/esp-webhooks.js';
import { ownTestRedis, type TestRedis } from '../helpers/redis.js';
import { makeConfig, tempDir } from '../web/fixtures.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const nowSec = NOW.getTime() / 1000;
const day = dayKey(new Date(1714564800 * 1000));
const sg = sendgridSigner();
const MG_KEY = 'mg-signing-key-0123456789';
const MD_KEY = 'md-webhook-key-abcdef';
const MD_URL = 'https://mtarep.example.com/webhooks/mandrill';
const k = keys('mtarep:');

let t: TestRedis;
beforeAll(async () => {
  t = await ownTestRedis();
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
});

function config(webhooks: Record<string, unknown> = { sendgrid: { public_key: sg.publicKey }, mailgun: { signing_key: MG_KEY }, mandrill: { webhook_key: MD_KEY, url: MD_URL } }) {
  return makeConfig(tempDir(), { esp: { webhooks: { counters_id: 'esp', ...webhooks } } }, t.prefix);
}

function app(cfg = config()) {
  return createApp({ config: cfg, redis: t.redis, log: silentLogger, now: () => NOW });
}

/** The latest-events list as the ESP page reads it, newest first. */
async function latest(): Promise<EspEvent[]> {
  return latestEvents(await t.redis.lrange(k.espEvents, 0, -1), 10_000);
}

async function counters(type: string): Promise<Record<string, string>> {
  return t.redis.hgetall(k.counter('esp', day, type as 'sent'));
}

const batch = [
  sgEvent(1, 'delivered', 'a@gmail.com', { response: '250 2.0.0 OK' }),
  sgEvent(2, 'delivered', 'b@Gmail.com'),
  sgEvent(3, 'delivered', 'c@yahoo.com'),
  sgEvent(4, 'bounce', 'd@gmail.com', { status: '5.1.1', reason: '550 5.1.1 The email account that you tried to reach does not exist', type: 'bounce' }),
  sgEvent(5, 'bounce', 'e@yahoo.com', { status: '4.2.2', reason: 'mailbox full', type: 'bounce' }),
  sgEvent(6, 'deferred', 'f@yahoo.com', { response: '421 try again later', attempt: '1' }),
  sgEvent(7, 'spamreport', 'g@aol.com'),
  sgEvent(8, 'open', 'a@gmail.com'),
  sgEvent(9, 'dropped', 'h@gmail.com', { reason: 'Bounced Address' }),
  sgEvent(10, 'bounce', 'i@aol.com', { type: 'blocked', reason: 'blocked by policy' }),
];

async function postSendgrid(a: ReturnType<typeof app>, events: unknown[], ts = nowSec, tamper?: (body: string) => string) {
  const body = JSON.stringify(events);
  const headers = sendgridHeaders(sg, body, ts);
  return a.request('/webhooks/sendgrid', { method: 'POST', body: tamper ? tamper(body) : body, headers });
}

describe('SendGrid webhook', () => {
  it('a signed batch is counted once per event, in the graph counters per recipient domain and by type', async () => {
    const a = app();
    const res = await postSendgrid(a, batch);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 10, counted: 10, duplicates: 0, settled: 0 });
    expect(await counters('sent')).toEqual({ 'gmail.com': '2', 'yahoo.com': '1' });
    expect(await counters('bounced')).toEqual({ 'gmail.com': '1', 'aol.com': '1' });
    expect(await counters('deferred')).toEqual({ 'yahoo.com': '2' });
    expect(await counters('fbl')).toEqual({ 'aol.com': '1' });
    expect(await t.redis.smembers(k.counterIds)).toEqual(['esp']);
    expect(await t.redis.ttl(k.counter('esp', day, 'sent'))).toBeGreaterThan(399 * 86400);
    expect(await t.redis.hgetall(k.espEventCounts(day))).toEqual({
      'sendgrid:delivered': '3',
      'sendgrid:bounced': '2',
      'sendgrid:deferred': '2',
      'sendgrid:complained': '1',
      'sendgrid:opened': '1',
      'sendgrid:rejected': '1',
    });
    const events = await latest();
    expect(events).toHaveLength(10);
    expect(events.map((e) => e.id)).toEqual(batch.map((e) => e.sg_event_id).reverse());
    expect(events.find((e) => e.id === 'sg-evt-4-bounce')).toEqual({
      provider: 'sendgrid',
      id: 'sg-evt-4-bounce',
      type: 'bounced',
      espEvent: 'bounce',
      at: '2024-05-01T12:00:00.000Z',
      idDay: 19844,
      recipient: 'd@gmail.com',
      domain: 'gmail.com',
      messageId: 'sgmsg4',
      smtpStatus: '5.1.1',
      reason: '550 5.1.1 The email account that you tried to reach does not exist',
    });
  });

  it('a retried batch (new timestamp and signature) counts nothing again; an overlapping one counts only the new events', async () => {
    const a = app();
    expect((await postSendgrid(a, batch)).status).toBe(200);
    const again = await postSendgrid(a, batch, nowSec + 30);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ received: 10, counted: 0, duplicates: 10, settled: 0 });
    const overlap = await postSendgrid(a, [batch[0], sgEvent(11, 'delivered', 'z@gmail.com'), sgEvent(11, 'delivered', 'z@gmail.com')]);
    expect(await overlap.json()).toEqual({ received: 3, counted: 1, duplicates: 2, settled: 0 });
    expect(await counters('sent')).toEqual({ 'gmail.com': '3', 'yahoo.com': '1' });
    expect(await t.redis.hget(k.espEventCounts(day), 'sendgrid:delivered')).toBe('4');
  });

  it('ids are remembered across days in the one set of their event day, 5 days past its last addition; odd ids (a tab, a newline) are deduplicated too', async () => {
    const at = (days: number) => new Date(NOW.getTime() + days * 86_400_000);
    const appAt = (d: Date) => createApp({ config: config(), redis: t.redis, log: silentLogger, now: () => d });
    const events = [batch[0], sgEvent(20, 'delivered', 'y@gmail.com', { sg_event_id: 'with\ttab' }), sgEvent(21, 'delivered', 'y@gmail.com', { sg_event_id: 'with\nnewline' })];
    const post = async (d: Date) => (await postSendgrid(appAt(d), events, d.getTime() / 1000)).json();
    expect(await post(at(0))).toMatchObject({ counted: 3, duplicates: 0 });
    expect(await post(at(0))).toMatchObject({ counted: 0, duplicates: 3 });
    expect(await post(at(2))).toMatchObject({ counted: 0, duplicates: 3 });
    expect(await post(at(4))).toMatchObject({ counted: 0, duplicates: 3 });
    // One set: the events' day (UTC), whatever the day they arrived on.
    const set = k.espIds('sendgrid', dayKey(NOW, 'UTC'));
    expect(await t.redis.keys(k.espIds('sendgrid', '*'))).toEqual([set]);
    expect(await t.redis.smembers(set)).toHaveLength(3);
    expect(await t.redis.ttl(set)).toBeGreaterThan(5 * 86400 - 60);
    // Once the set has expired (5 days after its last addition; ESPs retry for up to 3), the same ids count again.
    await t.redis.del(set);
    expect(await post(at(6))).toMatchObject({ counted: 3, duplicates: 0 });
  });

  it('an event is looked up in the set of its own day only: one SMISMEMBER however many days of sets exist', async () => {
    const d = (days: number) => dayKey(new Date(NOW.getTime() + days * 86_400_000), 'UTC');
    for (let i = -4; i <= 0; i++) await t.redis.sadd(k.espIds('sendgrid', d(i)), `other-${i}`);
    // An event of yesterday arriving today, already counted yesterday, and one of today.
    await t.redis.sadd(k.espIds('sendgrid', d(-1)), 'sg-evt-30-delivered');
    await t.redis.expire(k.espIds('sendgrid', d(0)), 100);
    const events = [sgEvent(30, 'delivered', 'a@gmail.com', {}, nowSec - 86400), sgEvent(31, 'delivered', 'b@gmail.com', {}, nowSec)];
    await t.redis.config('RESETSTAT');
    const res = await postSendgrid(app(), events);
    expect(await res.json()).toMatchObject({ counted: 1, duplicates: 1 });
    const stats = await t.redis.info('commandstats');
    expect(/cmdstat_smismember:calls=(\d+)/.exec(stats)?.[1]).toBe('2');
    expect(await t.redis.sismember(k.espIds('sendgrid', d(0)), 'sg-evt-31-delivered')).toBe(1);
    expect(await t.redis.sismember(k.espIds('sendgrid', d(-1)), 'sg-evt-31-delivered')).toBe(0);
    // The expiry of a set written to starts again: 5 days past its last addition.
    expect(await t.redis.ttl(k.espIds('sendgrid', d(0)))).toBeGreaterThan(5 * 86400 - 60);
  });

  it('an event without a usable timestamp goes in the set of its arrival day and is looked up in the last 5 days of arrival', async () => {
    const at = (days: number) => new Date(NOW.getTime() + days * 86_400_000);
    const appAt = (dt: Date) => createApp({ config: config(), redis: t.redis, log: silentLogger, now: () => dt });
    const events = [{ ...sgEvent(40, 'delivered', 'a@gmail.com'), timestamp: 'soon' }];
    const post = async (dt: Date) => (await postSendgrid(appAt(dt), events, dt.getTime() / 1000)).json();
    expect(await post(at(0))).toMatchObject({ counted: 1 });
    expect(await t.redis.sismember(k.espIds('sendgrid', dayKey(NOW, 'UTC')), 'sg-evt-40-delivered')).toBe(1);
    expect(await post(at(4))).toMatchObject({ counted: 0, duplicates: 1 });
    // Beyond the window of arrival days.
    expect(await post(at(5))).toMatchObject({ counted: 1, duplicates: 0 });
  });

  it('ids counted by the earlier version (sets by arrival day) are still found while those sets exist', async () => {
    // Counted yesterday by the earlier version, which kept ids by arrival day.
    const yesterday = dayKey(new Date(NOW.getTime() - 86_400_000), 'UTC');
    await t.redis.sadd(k.espSeen('sendgrid', yesterday), 'sg-evt-1-delivered');
    const res = await postSendgrid(app(), batch.slice(0, 2));
    expect(await res.json()).toMatchObject({ counted: 1, duplicates: 1 });
    expect(await counters('sent')).toEqual({ 'gmail.com': '1' });
  });

  it('a tampered body, a wrong key, a missing header or a stale timestamp is refused and writes nothing', async () => {
    const a = app();
    const tampered = await postSendgrid(a, batch, nowSec, (b) => b.replace('a@gmail.com', 'x@gmail.com'));
    expect(tampered.status).toBe(403);
    expect(await tampered.json()).toEqual({ error: 'bad signature' });
    const reserialised = await postSendgrid(a, batch, nowSec, (b) => JSON.stringify(JSON.parse(b), null, 1));
    expect(reserialised.status).toBe(403);
    const other = sendgridSigner();
    const body = JSON.stringify(batch);
    expect((await a.request('/webhooks/sendgrid', { method: 'POST', body, headers: sendgridHeaders(other, body, nowSec) })).status).toBe(403);
    expect((await a.request('/webhooks/sendgrid', { method: 'POST', body, headers: { 'content-type': 'application/json' } })).status).toBe(401);
    // An unparsable body under a signature of other bytes is a bad signature (403), not a bad body (400).
    expect((await a.request('/webhooks/sendgrid', { method: 'POST', body: 'nope', headers: sendgridHeaders(sg, '[]', nowSec) })).status).toBe(403);
    expect((await a.request('/webhooks/sendgrid', { method: 'POST', body: '{"not":"an array"}', headers: sendgridHeaders(sg, '[]', nowSec) })).status).toBe(403);
    const stale = await postSendgrid(a, batch, nowSec - 301);
    expect(stale.status).toBe(403);
    expect(await stale.json()).toEqual({ error: 'timestamp outside the replay window' });
    expect((await postSendgrid(a, batch, nowSec + 301)).status).toBe(403);
    expect(await t.redis.dbsize()).toBe(0);
  });

  it('a signed body that is not an event array is a 400, nothing written', async () => {
    const a = app();
    const body = '{"not":"an array"}';
    const res = await a.request('/webhooks/sendgrid', { method: 'POST', body, headers: sendgridHeaders(sg, body, nowSec) });
    expect(res.status).toBe(400);
    const notJson = 'nope';
    expect((await a.request('/webhooks/sendgrid', { method: 'POST', body: notJson, headers: sendgridHeaders(sg, notJson, nowSec) })).status).toBe(400);
    expect(await t.redis.dbsize()).toBe(0);
  });
});

describe('Mailgun webhook', () => {
  const failed = (severity: string) => ({
    event: 'failed',
    severity,
    timestamp: 1714564800.123,
    id: 'Ase7i2zsRYeDXztHGENqRA',
    recipient: 'alice@example.org',
    reason: 'bounce',
    'delivery-status': { code: 550, message: '5.1.1 user unknown', description: 'The email account does not exist', 'enhanced-code': '5.1.1' },
    message: { headers: { 'message-id': '20240501.1.abc@mg.example.com' } },
  });
  const post = (a: ReturnType<typeof app>, body: string) => a.request('/webhooks/mailgun', { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('counts a signed event; the same token again is a replay (406) and counts nothing', async () => {
    const a = app();
    const body = mailgunBody(MG_KEY, failed('permanent'), nowSec, 'tok-1-abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdef');
    const res = await post(a, body);
    expect(res.status).toBe(200);
    expect(await counters('bounced')).toEqual({ 'example.org': '1' });
    const ev = (await latest())[0]!;
    expect(ev).toMatchObject({ provider: 'mailgun', type: 'bounced', espEvent: 'failed/permanent', messageId: '20240501.1.abc@mg.example.com', smtpStatus: '5.1.1', reason: 'The email account does not exist' });
    const replay = await post(a, body);
    expect(replay.status).toBe(406);
    // event-data is not signed: a replay with another event time is the same token, found the same way.
    const moved = JSON.parse(body) as { 'event-data': { timestamp: number } };
    moved['event-data'].timestamp -= 3 * 86400;
    expect((await post(a, JSON.stringify(moved))).status).toBe(406);
    expect(await counters('bounced')).toEqual({ 'example.org': '1' });
    // A temporary failure is a deferral.
    expect((await post(a, mailgunBody(MG_KEY, failed('temporary'), nowSec, 'tok-2'))).status).toBe(200);
    expect(await counters('deferred')).toEqual({ 'example.org': '1' });
  });

  it('a bad signature, a changed token or a stale timestamp is refused and writes nothing', async () => {
    const a = app();
    const good = JSON.parse(mailgunBody(MG_KEY, failed('permanent'), nowSec, 'tok-3')) as { signature: Record<string, string> };
    expect((await post(a, JSON.stringify({ ...good, signature: { ...good.signature, token: 'tok-4' } }))).status).toBe(403);
    expect((await post(a, mailgunBody('another-signing-key', failed('permanent'), nowSec, 'tok-5'))).status).toBe(403);
    expect((await post(a, mailgunBody(MG_KEY, failed('permanent'), nowSec - 3600, 'tok-6'))).status).toBe(403);
    expect((await post(a, JSON.stringify({ 'event-data': failed('permanent') }))).status).toBe(401);
    expect(await t.redis.dbsize()).toBe(0);
  });
});

describe('Mailgun legacy webhook (form fields)', () => {
  // As legacy webhooks sent them: the sender's custom variables merged into the fields (a `token`
  // variable comes before Mailgun's own), the message headers as a JSON string.
  const dropped: [string, string][] = [
    ['event', 'dropped'],
    ['recipient', 'bob@Example.net'],
    ['domain', 'mg.example.com'],
    ['Message-Id', '<20240501.7.def@mg.example.com>'],
    ['reason', 'hardfail'],
    ['code', '605'],
    ['description', 'Not delivering to previously bounced address'],
    ['message-headers', JSON.stringify([['To', 'bob@example.net'], ['Message-Id', '<20240501.7.def@mg.example.com>']])],
    ['token', 'a-user-variable-named-token'],
  ];
  const postForm = (a: ReturnType<typeof app>, fields: [string, string][]) =>
    a.request('/webhooks/mailgun', { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

  it('a signed urlencoded event is counted once (the signed token is its id); a replay is a 406; bad signatures write nothing', async () => {
    const a = app();
    const fields = mailgunLegacyFields(MG_KEY, dropped, nowSec, 'legacy-tok-1-abcdefabcdefabcdefabcdefabcdefabcdefabc');
    const res = await postForm(a, fields);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 1, counted: 1, duplicates: 0, settled: 0 });
    const ev = (await latest())[0]!;
    expect(ev).toMatchObject({ provider: 'mailgun', id: 'legacy-tok-1-abcdefabcdefabcdefabcdefabcdefabcdefabc', type: 'rejected', espEvent: 'dropped', recipient: 'bob@Example.net', domain: 'example.net', messageId: '20240501.7.def@mg.example.com', smtpStatus: '605', reason: 'Not delivering to previously bounced address' });
    expect((await postForm(a, fields)).status).toBe(406);
    expect(await t.redis.hgetall(k.espEventCounts(dayKey(NOW)))).toEqual({ 'mailgun:rejected': '1' });

    await t.redis.flushdb();
    const forged = mailgunLegacyFields('another-signing-key', dropped, nowSec, 'legacy-tok-2');
    expect((await postForm(a, forged)).status).toBe(403);
    expect((await postForm(a, mailgunLegacyFields(MG_KEY, dropped, nowSec - 3600, 'legacy-tok-3'))).status).toBe(403);
    expect((await postForm(a, dropped)).status).toBe(401);
    expect((await postForm(a, mailgunLegacyFields(MG_KEY, [['recipient', 'x@example.net']], nowSec, 'legacy-tok-4'))).status).toBe(400);
    expect(await t.redis.dbsize()).toBe(0);
  });

  it('a multipart bounced event with an attachment is a bounce fed into the graph counters', async () => {
    const form = new FormData();
    const fields = mailgunLegacyFields(MG_KEY, [
      ['event', 'bounced'],
      ['recipient', 'carol@example.org'],
      ['Message-Id', '<20240501.8.ghi@mg.example.com>'],
      ['code', '550'],
      ['error', '5.1.1 The email account that you tried to reach does not exist'],
      ['timestamp', '1714564800'],
    ], nowSec, 'legacy-tok-5-abcdefabcdefabcdefabcdefabcdefabcdefabc');
    for (const [n, v] of fields) form.append(n, v);
    form.append('attachment-1', new Blob(['Return-Path: <>\r\n\r\nbounce body'], { type: 'message/rfc822' }), 'bounce.eml');
    const res = await app().request('/webhooks/mailgun', { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(await counters('bounced')).toEqual({ 'example.org': '1' });
    const ev = (await latest())[0]!;
    expect(ev).toMatchObject({ type: 'bounced', espEvent: 'bounced', at: new Date(nowSec * 1000).toISOString(), messageId: '20240501.8.ghi@mg.example.com', smtpStatus: '550', reason: '5.1.1 The email account that you tried to reach does not exist' });
  });
});

describe('Mandrill webhook', () => {
  const events = [
    { event: 'hard_bounce', _id: 'md-msg-1', ts: 1714564800, msg: { email: 'bob@example.com', _id: 'md-msg-1', state: 'bounced', bounce_description: 'bad_mailbox', diag: 'smtp;550 5.1.1 The email account does not exist.' } },
    { event: 'send', _id: 'md-msg-2', ts: 1714564800, msg: { email: 'carol@example.com', _id: 'md-msg-2', state: 'sent' } },
    { event: 'spam', _id: 'md-msg-3', ts: 1714564800, msg: { email: 'dave@example.net', _id: 'md-msg-3' } },
    { event: 'soft_bounce', _id: 'md-msg-4', ts: 1714564800, msg: { email: 'erin@example.net', _id: 'md-msg-4', diag: '452 4.2.2 Mailbox full' } },
  ];
  const post = (a: ReturnType<typeof app>, r: { body: string; signature: string }) =>
    a.request('/webhooks/mandrill', { method: 'POST', body: r.body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-mandrill-signature': r.signature } });

  it('counts a signed batch once, even when Mandrill retries it', async () => {
    const a = app();
    const res = await post(a, mandrillRequest(MD_KEY, MD_URL, events));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 4, counted: 4, duplicates: 0, settled: 0 });
    expect(await counters('bounced')).toEqual({ 'example.com': '1' });
    expect(await counters('sent')).toEqual({ 'example.com': '1' });
    expect(await counters('fbl')).toEqual({ 'example.net': '1' });
    expect(await counters('deferred')).toEqual({ 'example.net': '1' });
    const bounce = (await latest()).find((e) => e.type === 'bounced');
    expect(bounce).toMatchObject({ provider: 'mandrill', messageId: 'md-msg-1', smtpStatus: '5.1.1', reason: 'bad_mailbox', recipient: 'bob@example.com' });
    const retry = await post(a, mandrillRequest(MD_KEY, MD_URL, events));
    expect(await retry.json()).toEqual({ received: 4, counted: 0, duplicates: 4, settled: 0 });
    expect(await counters('bounced')).toEqual({ 'example.com': '1' });
  });

  it("answers Mandrill's HEAD check and its empty test batch; refuses a wrong key or URL", async () => {
    const a = app();
    expect((await a.request('/webhooks/mandrill', { method: 'HEAD' })).status).toBe(200);
    expect((await post(a, mandrillRequest(MD_KEY, MD_URL, []))).status).toBe(200);
    expect((await post(a, mandrillRequest('wrong-key', MD_URL, events))).status).toBe(403);
    expect((await post(a, mandrillRequest(MD_KEY, 'https://mtarep.example.com/webhooks/mandrill/', events))).status).toBe(403);
    const r = mandrillRequest(MD_KEY, MD_URL, events);
    expect((await post(a, { ...r, body: r.body.replace('bob', 'eve') })).status).toBe(403);
    expect((await a.request('/webhooks/mandrill', { method: 'POST', body: r.body })).status).toBe(401);
    expect(await t.redis.dbsize()).toBe(0);
  });
});

describe('routes', () => {
  it('are outside basic auth; an unconfigured vendor is a 404; GET is not allowed; bodies are limited', async () => {
    const a = app(config({ sendgrid: { public_key: sg.publicKey } }));
    expect((await a.request('/webhooks/mailgun', { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await a.request('/webhooks/mandrill', { method: 'HEAD' })).status).toBe(404);
    expect((await a.request('/webhooks/sendgrid', { method: 'HEAD' })).status).toBe(200);
    const get = await a.request('/webhooks/sendgrid');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, HEAD');
    const big = 'x'.repeat(1024 * 1024 + 1);
    const res = await a.request('/webhooks/sendgrid', { method: 'POST', body: big, headers: { 'content-length': String(big.length) } });
    expect(res.status).toBe(413);
    // The dashboard is still behind its login.
    expect((await a.request('/')).status).toBe(401);
  });
});

describe('storage failures', () => {
  it('a counter key of the wrong type: 500, nothing written, and the retry counts once the key is fixed', async () => {
    const a = app();
    await t.redis.set(k.counter('esp', day, 'bounced'), 'not a hash');
    const res = await postSendgrid(a, batch);
    expect(res.status).toBe(500);
    expect(await t.redis.dbsize()).toBe(1);
    await t.redis.del(k.counter('esp', day, 'bounced'));
    expect(await (await postSendgrid(a, batch)).json()).toEqual({ received: 10, counted: 10, duplicates: 0, settled: 0 });
    expect(await counters('bounced')).toEqual({ 'gmail.com': '1', 'aol.com': '1' });
  });

  it('Redis unreachable: 503 so that the ESP retries', async () => {
    const dead = await connectRedis({ url: t.url }, { reconnect: false });
    dead.disconnect();
    const cfg = config();
    const a = createApp({ config: cfg, redis: dead, log: silentLogger, now: () => NOW });
    const res = await postSendgrid(a, batch);
    expect(res.status).toBe(503);
    expect(await t.redis.dbsize()).toBe(0);
  });
});

describe('the event hook (probes)', () => {
  it('gets each counted event once, never duplicates', async () => {
    const seen: EspEvent[] = [];
    const cfg = config();
    const rx = new WebhookReceiver({ esp: cfg.esp, redis: t.redis, k, now: () => NOW, counterTtlSec: 86400, onEvents: async (e) => void seen.push(...e) });
    const body = Buffer.from(JSON.stringify(batch.slice(0, 4)));
    const headers = sendgridHeaders(sg, body.toString(), nowSec);
    const req = { header: (n: string) => headers[n.toLowerCase()], body };
    expect((await rx.receive('sendgrid', req)).status).toBe(200);
    expect((await rx.receive('sendgrid', req)).status).toBe(200);
    expect(seen.map((e) => e.id)).toEqual(['sg-evt-1-delivered', 'sg-evt-2-delivered', 'sg-evt-3-delivered', 'sg-evt-4-bounce']);
  });
});
