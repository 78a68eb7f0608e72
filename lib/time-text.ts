/**
 * The dashboard's one way to write a time: `2026-11-30 19:15 UTC` (24-hour, to the minute). Lives in
 * lib so the check plugins' detail lines use it too; views/format.ts re-exports it for the views.
 */

/** "2024-05-01 12:00 UTC" from an ISO time or an acknowledgement's "2024-05-01 12:00:00" (UTC, as stored); anything else as it is. */
export function shortTime(iso: string): string {
  return iso.length >= 16 ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso;
}
