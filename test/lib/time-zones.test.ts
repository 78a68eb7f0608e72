/** Time zone names: the canonical ones without a formatter, everything else as Intl decides. */
import { describe, expect, it } from 'vitest';
import { isTimeZone, isUtcName } from '../../lib/time-zones.js';

const intlKnows = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

describe('isTimeZone', () => {
  it('agrees with Intl on canonical names, links, other cases and names it does not know', () => {
    const names = ['America/New_York', 'Europe/Paris', 'Asia/Kolkata', 'US/Eastern', 'Asia/Calcutta', 'america/new_york', 'Etc/GMT+5', 'UTC', 'Etc/Zulu', 'Mars/Olympus', 'America/New York', '', 'Europe/Paris '];
    for (const tz of names) expect([tz, isTimeZone(tz)]).toEqual([tz, intlKnows(tz)]);
    expect(isTimeZone('US/Eastern')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
  it('knows UTC by its names only as written', () => {
    expect(isUtcName('Etc/UTC')).toBe(true);
    expect(isUtcName('utc')).toBe(false);
    expect(isUtcName(undefined)).toBe(false);
  });
});
