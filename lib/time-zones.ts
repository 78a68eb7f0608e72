/**
 * Time zone names. Building the first Intl.DateTimeFormat of a process loads ICU's locale and zone
 * data: 20-100 ms, most of a short command's start. The names of UTC itself need none of that.
 */

const utcNames = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Etc/Universal', 'Etc/Zulu']);

/** Whether `tz` names UTC exactly (as written; other spellings go through Intl and work as well). */
export function isUtcName(tz: string | undefined): boolean {
  return tz !== undefined && utcNames.has(tz);
}

/** ICU's canonical zone names (~3 ms to list, against ~20 ms for a process's first formatter). */
let canonical: Set<string> | undefined;

/**
 * Whether Intl knows `tz` as a time zone. UTC's names and the canonical names (America/New_York)
 * without building a formatter: `check-config` of a config with host time zones spent ~30 ms here.
 * Anything else (a link such as US/Eastern, another case) is asked of a formatter, which decides.
 */
export function isTimeZone(tz: string): boolean {
  if (isUtcName(tz)) return true;
  canonical ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (canonical.has(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
