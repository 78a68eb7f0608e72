/**
 * The ESP page's latest events, stored one list entry per webhook batch (lib/esp/webhooks/latest.ts)
 * by the ingest script, against a real Redis: what a batch's entry shows when part of it was counted
 * before, trimming by events (not entries) for big and single-event batches, entries of the earlier
 * one-event-per-entry format, and the ESP report reading them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../lib/keys.js';
import { readEspReport } from '../../lib/esp/report.js';
import { parseSendgrid, type EspEvent } from '../../lib/esp/webhooks/events.js';
import { eventsKept, ingestEvents } from '../../lib/esp/webhooks/ingest.js';
import { decodeLatest, latestEvents, latestHeader } from '../../lib/esp/webhooks/latest.js';
import { sgEvent } from '../helpers/esp-webhooks.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const k = keys('mtarep:');
const opts = { countersId: 'esp', counterTtlSec: 86400, now: NOW };

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis();
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
});

/** A SendGrid batch as raw body and its normalised events. */
function sgBatch(from: number, count: number): { raw: Buffer; events: EspEvent[] } {
  const raw = Buffer.from(JSON.stringify(Array.from({ length: count }, (_, i) => sgEvent(from + i, 'delivered', `u${from + i}@gmail.com`))));
  return { raw, events: parseSendgrid(JSON.parse(raw.toString()), NOW) };
}

async function ingestSg(from: number, count: number) {
  const b = sgBatch(from, count);
  return ingestEvents(t.redis, k, b.events, { ...opts, latest: { format: 'sendgrid', payload: b.raw } });
}

const stored = async () => latestEvents(await t.redis.lrange(k.espEvents, 0, -1), 100_000);

describe('latest events, one entry per batch', () => {
  it('a SendGrid batch is one entry holding its raw body; read back as the normalised events, newest first', async () => {
    await ingestSg(1, 3);
    const entries = await t.redis.lrange(k.espEvents, 0, -1);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toBe(`${latestHeader('sendgrid', NOW.getTime())} -\n${sgBatch(1, 3).raw.toString()}`);
    expect((await stored()).map((e) => e.id)).toEqual(['sg-evt-3-delivered', 'sg-evt-2-delivered', 'sg-evt-1-delivered']);
    expect(await t.redis.lrange(k.espEventMarks, 0, -1)).toEqual(['3']);
  });

  it('a batch that was partly counted before shows only its new events; one counted entirely writes no entry', async () => {
    await ingestSg(1, 2);
    // Events 1-2 again with 3-4, in an order the script regroups (a bounce among deliveries).
    const raw = Buffer.from(
      JSON.stringify([sgEvent(3, 'delivered', 'a@yahoo.com'), sgEvent(1, 'delivered', 'u1@gmail.com'), sgEvent(4, 'bounce', 'b@gmail.com', { status: '5.1.1' }), sgEvent(2, 'delivered', 'u2@gmail.com')]),
    );
    const r = await ingestEvents(t.redis, k, parseSendgrid(JSON.parse(raw.toString()), NOW), { ...opts, latest: { format: 'sendgrid', payload: raw } });
    expect(r.counted).toEqual([true, false, true, false]);
    const newest = decodeLatest((await t.redis.lindex(k.espEvents, 0))!);
    expect(newest.map((e) => e.id)).toEqual(['sg-evt-4-bounce', 'sg-evt-3-delivered']);
    expect((await t.redis.lindex(k.espEvents, 0))!.split('\n')[0]).toMatch(/ (1,3|3,1)$/);
    expect(await t.redis.lrange(k.espEventMarks, 0, -1)).toEqual(['4', '2']);

    const again = await ingestEvents(t.redis, k, parseSendgrid(JSON.parse(raw.toString()), NOW), { ...opts, latest: { format: 'sendgrid', payload: raw } });
    expect(again.counted).toEqual([false, false, false, false]);
    expect(await t.redis.llen(k.espEvents)).toBe(2);
    expect((await stored()).map((e) => e.id)).toEqual(['sg-evt-4-bounce', 'sg-evt-3-delivered', 'sg-evt-2-delivered', 'sg-evt-1-delivered']);
  });

  it(`keeps the newest ${eventsKept} events or a few more (whole batches), whatever the batch size`, async () => {
    for (let b = 0; b < 7; b++) await ingestSg(b * 100, 100);
    // Marks 300..700 are kept: dropping the batch marked 300 would leave 400 events.
    expect(await t.redis.lrange(k.espEventMarks, 0, -1)).toEqual(['700', '600', '500', '400', '300']);
    const big = await stored();
    expect(big).toHaveLength(500);
    expect(big[0]!.id).toBe('sg-evt-699-delivered');
    expect(big.at(-1)!.id).toBe('sg-evt-200-delivered');

    await t.redis.flushdb();
    await ingestSg(0, 450);
    await ingestSg(450, 100);
    // 550 events: the 450-event batch is needed (100 newer events are fewer than 500).
    expect(await t.redis.llen(k.espEvents)).toBe(2);
    await ingestSg(550, 400);
    expect(await t.redis.lrange(k.espEventMarks, 0, -1)).toEqual(['950', '550']);

    await t.redis.flushdb();
    // Mailgun and Mandrill style: one event per request, normalised events as JSON.
    for (let i = 0; i < eventsKept + 20; i++) await ingestEvents(t.redis, k, sgBatch(i, 1).events, opts);
    expect(await t.redis.llen(k.espEvents)).toBe(eventsKept);
    expect(await t.redis.llen(k.espEventMarks)).toBe(eventsKept);
    const small = await stored();
    expect(small).toHaveLength(eventsKept);
    expect(small[0]!.id).toBe(`sg-evt-${eventsKept + 19}-delivered`);
  });

  it('entries of the earlier format (one JSON event each) are read, and replaced by the first new batch', async () => {
    const old = sgBatch(1, 2).events;
    await t.redis.lpush(k.espEvents, ...old.map((e) => JSON.stringify(e)));
    expect((await stored()).map((e) => e.id)).toEqual(['sg-evt-2-delivered', 'sg-evt-1-delivered']);
    await ingestSg(10, 1);
    expect(await t.redis.llen(k.espEvents)).toBe(1);
    expect((await stored()).map((e) => e.id)).toEqual(['sg-evt-10-delivered']);
  });

  it('the ESP report shows the latest events across batches, as many as asked for', async () => {
    await ingestSg(1, 3);
    await ingestEvents(t.redis, k, sgBatch(4, 2).events, opts);
    const report = await readEspReport(t.redis, k, undefined, NOW, { events: 4 });
    expect(report.events.map((e) => e.id)).toEqual(['sg-evt-5-delivered', 'sg-evt-4-delivered', 'sg-evt-3-delivered', 'sg-evt-2-delivered']);
  });

  it('an unreadable entry is skipped, not an error', () => {
    expect(decodeLatest('garbage')).toEqual([]);
    expect(decodeLatest('sendgrid 1 -\nnot json')).toEqual([]);
    expect(decodeLatest('other 1 -\n[]')).toEqual([]);
    expect(latestEvents(['garbage', `events 1 -\n${JSON.stringify(sgBatch(1, 1).events)}`], 10).map((e) => e.id)).toEqual(['sg-evt-1-delivered']);
  });
});

describe('a latest-events key of the wrong type', () => {
  it('fails the batch with nothing written', async () => {
    await t.redis.set(k.espEventMarks, 'x');
    await expect(ingestSg(1, 3)).rejects.toThrow(/esp:event-marks is not a list \(nothing was written\)/);
    expect(await t.redis.dbsize()).toBe(1);
  });
});
