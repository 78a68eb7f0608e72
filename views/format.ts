/** Small display formatters shared by the views and the view models that build their props. Pure. */

/** "just now", "5 min ago", "3 h ago", "2 d ago" (or "in the future" for clock skew). */
export function ageText(now: Date, iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return 'unknown';
  const s = Math.round((now.getTime() - t) / 1000);
  if (s < -60) return 'in the future';
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** "2024-05-01 12:00 UTC" from an ISO time: the one time format of the dashboard, kept in lib for the checks' detail lines. */
export { shortTime } from '../lib/time-text.js';

/** A time left, rounded as people say it: "45 s", "59 min", "3 h" (durationText is exact, for configured values). */
export function roughDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

/** Seconds as "15 min" / "1 h" / "90 s". */
export function durationText(sec: number): string {
  if (sec % 3600 === 0) return `${sec / 3600} h`;
  if (sec % 60 === 0) return `${sec / 60} min`;
  return `${sec} s`;
}

/** A measured time (a round trip) as read at a glance, exact to the second: `8.0 s`, `95 s`, `7 min 10 s`, `15 min`; '' for none. */
export function secText(s: number | null | undefined): string {
  if (s === null || s === undefined) return '';
  if (s < 10) return `${s.toFixed(1)} s`;
  const r = Math.round(s);
  if (r < 120) return `${r} s`;
  return r % 60 === 0 ? `${r / 60} min` : `${Math.floor(r / 60)} min ${r % 60} s`;
}
