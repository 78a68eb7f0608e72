/**
 * The ESP page's latest events, stored as ONE list entry per webhook batch (`esp:events`): writing a
 * batch of 100 events costs one list element, and a SendGrid batch is stored as the raw body it came
 * in (normalised again when the page reads it, which happens rarely) so no event is serialised at
 * arrival. An entry is a header line and the payload:
 *
 *     <format> <received epoch ms> <skip>\n<payload>
 *
 * - format `sendgrid`: the payload is the SendGrid body as received; `events`: JSON `EspEvent[]`.
 * - skip: `-`, or the comma-separated 0-based positions of the payload's events that the batch did
 *   not count (seen before: an ESP retrying part of a batch); they are not shown again.
 * The list is trimmed by events, not entries (the ingest script keeps `esp:event-marks` beside it).
 * An entry written by earlier versions (one JSON `EspEvent` per entry) is read too.
 */
import { parseSendgrid, type EspEvent } from './events.js';

export type LatestFormat = 'sendgrid' | 'events';

/** The header of a batch's entry, without the skip field (the ingest script adds it). */
export function latestHeader(format: LatestFormat, receivedMs: number): string {
  return `${format} ${Math.trunc(receivedMs)}`;
}

/** The events of one entry, newest first (the batch's last event first); [] for an entry that cannot be read. */
export function decodeLatest(entry: string): EspEvent[] {
  try {
    if (entry.startsWith('{')) return [JSON.parse(entry) as EspEvent];
    const nl = entry.indexOf('\n');
    if (nl < 0) return [];
    const [format, received, skip] = entry.slice(0, nl).split(' ');
    const payload = JSON.parse(entry.slice(nl + 1)) as unknown;
    let events: EspEvent[];
    if (format === 'sendgrid') events = parseSendgrid(payload, new Date(Number(received)));
    else if (format === 'events' && Array.isArray(payload)) events = payload as EspEvent[];
    else return [];
    if (skip && skip !== '-') {
      const skipped = new Set(skip.split(',').map(Number));
      events = events.filter((_, i) => !skipped.has(i));
    }
    return events.reverse();
  } catch {
    return [];
  }
}

/** The newest `max` events of the list's entries (newest entry first). */
export function latestEvents(entries: readonly string[], max: number): EspEvent[] {
  const out: EspEvent[] = [];
  for (const entry of entries) {
    for (const e of decodeLatest(entry)) {
      if (out.length >= max) return out;
      out.push(e);
    }
  }
  return out;
}
