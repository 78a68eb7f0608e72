/**
 * Time zone names. Building the first Intl.DateTimeFormat of a process loads ICU's locale and zone
 * data: 20-100 ms, most of a short command's start. The names of UTC itself need none of that.
 */

const utcNames = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Etc/Universal', 'Etc/Zulu']);

/** Whether `tz` names UTC exactly (as written; other spellings go through Intl and work as well). */
export function isUtcName(tz: string | undefined): boolean {
  return tz !== undefined && utcNames.has(tz);
}

/** Whether Intl knows `tz` as a time zone (UTC's names without building a formatter). */
export function isTimeZone(tz: string): boolean {
  if (isUtcName(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
