/**
 * What the webhook ingest hands the ingest script, made directly rather than by generic
 * serialisation (lib/esp/webhooks/ingest.ts bounceJson): the same text as the generic way, for every
 * kind of event the vendors' parsers make. Pure: no Redis.
 */
import { describe, expect, it } from 'vitest';
import { parseMailgun, parseMandrill, parseSendgrid, type EspEvent } from '../../lib/esp/webhooks/events.js';
import { bounceJson, bounceOf } from '../../lib/esp/webhooks/ingest.js';

const NOW = new Date('2026-03-10T10:00:00Z');
const ts = NOW.getTime() / 1000;

const events: EspEvent[] = [
  ...parseSendgrid(
    [
      { event: 'bounce', email: 'a@example.org', timestamp: ts, sg_event_id: 'e1', sg_message_id: 'm1.filter', status: '5.1.1', reason: '550 5.1.1 "no such user" \\ tab\there' },
      { event: 'bounce', type: 'blocked', email: 'b@example.org', timestamp: ts, sg_event_id: 'e2', sg_message_id: 'm2' },
      { event: 'dropped', email: 'c@example.org', timestamp: ts, sg_event_id: 'e3', sg_message_id: 'm3', reason: 'Bounced Address — ünïcödé ✉ \u2028 line' },
      { event: 'deferred', email: 'd@example.org', timestamp: 'not a time', sg_event_id: 'e4', response: 'x'.repeat(700) },
    ],
    NOW,
  ),
  parseMailgun({ event: 'failed', severity: 'permanent', recipient: 'e@example.org', timestamp: ts, 'delivery-status': { code: 550, description: 'mailbox <full>' }, message: { headers: { 'message-id': '<m5@mg>' } } }, 'tok', String(ts), NOW),
  ...parseMandrill([{ event: 'hard_bounce', ts, _id: 'm6', msg: { email: 'f@example.org', diag: 'smtp;550 5.1.1 unknown', bounce_description: 'bad_mailbox' } }], NOW),
];

describe('bounceJson', () => {
  it('is JSON.stringify(bounceOf(e)) for every kind of event: quotes, backslashes, control and non-ASCII characters, a reason cut at 500', () => {
    expect(events.length).toBe(6);
    for (const e of events) expect(bounceJson(e)).toBe(JSON.stringify(bounceOf(e)));
    // A reason over 500 characters is cut, as bounceOf cuts it.
    expect((JSON.parse(bounceJson(events[3]!)) as { diagnostic: string }).diagnostic).toHaveLength(500);
  });
});
