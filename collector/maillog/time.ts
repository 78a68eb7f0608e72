/**
 * Time for maillog lines: the host's time zone (default the collector's), year inference for syslog
 * stamps that carry none, and the day a line counts into. Intl is slow per call, so offsets and days
 * are cached per hour / minute: a log holds millions of lines but only a few hours.
 */
import { isUtcName } from '../../lib/time-zones.js';

export interface WallTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const DAY_MS = 86_400_000;

export class HostClock {
  readonly tz: string | undefined;
  readonly nowMs: number;
  /** Now as the host's wall clock, as if it were UTC (for comparisons between wall times). */
  private readonly nowWallMs: number;
  readonly nowYear: number;
  /** `YYYYMMDD` of now in the host's zone. */
  readonly today: string;
  /** null for UTC: its wall clock is Date's UTC fields (no Intl, see lib/time-zones.ts). */
  private readonly fmt: Intl.DateTimeFormat | null;
  private readonly offsetCache = new Map<number, number>();
  private lastDayMinute = NaN;
  /** The newest stamp parsed with this clock (see parse.ts): text with its trailing space, time, day. */
  lastStamp: { prefix: string; ms: number; day: string } | null = null;
  private lastDay = '';

  constructor(now: Date, tz?: string) {
    this.tz = tz;
    this.nowMs = now.getTime();
    this.fmt = isUtcName(tz) ? null : new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    const w = this.wall(this.nowMs);
    this.nowYear = w.year;
    this.nowWallMs = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
    this.today = dayString(w.year, w.month, w.day);
  }

  /** Wall-clock parts of an instant in the host's zone. */
  wall(ms: number): WallTime {
    if (this.fmt === null) {
      const d = new Date(ms);
      return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
    }
    const parts = this.fmt.formatToParts(new Date(ms));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? NaN);
    return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
  }

  /** The zone's UTC offset (ms, east positive) at an instant; cached per hour. */
  offsetAt(ms: number): number {
    const hourKey = Math.floor(ms / 3_600_000);
    let off = this.offsetCache.get(hourKey);
    if (off === undefined) {
      const w = this.wall(hourKey * 3_600_000);
      off = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - hourKey * 3_600_000;
      this.offsetCache.set(hourKey, off);
    }
    return off;
  }

  /** Epoch ms of a wall time in the host's zone (in a DST gap or fold: the earlier offset's reading). */
  wallToEpoch(year: number, month: number, day: number, hour: number, minute: number, second: number, ms = 0): number {
    const naive = Date.UTC(year, month - 1, day, hour, minute, second, ms);
    const guess = naive - this.offsetAt(naive);
    const off2 = this.offsetAt(guess);
    return naive - off2;
  }

  /**
   * The year of a syslog stamp without one: this year, unless that puts the line more than a day
   * ahead of now (a December line read in January), then last year.
   */
  inferYear(month: number, day: number, hour: number, minute: number, second: number): number {
    const naive = Date.UTC(this.nowYear, month - 1, day, hour, minute, second);
    return naive - this.nowWallMs > DAY_MS ? this.nowYear - 1 : this.nowYear;
  }

  /** `YYYYMMDD` of an instant in the host's zone; cached per minute (lines come in order). */
  dayOf(ms: number): string {
    const minute = Math.floor(ms / 60_000);
    if (minute === this.lastDayMinute) return this.lastDay;
    const local = new Date(ms + this.offsetAt(ms));
    const d = dayString(local.getUTCFullYear(), local.getUTCMonth() + 1, local.getUTCDate());
    this.lastDayMinute = minute;
    this.lastDay = d;
    return d;
  }
}

export function dayString(y: number, m: number, d: number): string {
  return `${y}${m < 10 ? '0' : ''}${m}${d < 10 ? '0' : ''}${d}`;
}
