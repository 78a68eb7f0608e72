import { describe, expect, it } from 'vitest';
import { formatInflux, formatJson, formatNagios, isoLocal, nagiosUnknown, toJson } from '../../lib/e2e/format.js';
import type { E2eRun, E2eTarget } from '../../lib/e2e/result.js';

const t0 = Date.UTC(2024, 4, 1, 12, 0, 0, 0);
const found: E2eRun = {
  success: true,
  hash: '0123456789abcdef0123456789abcdef',
  start: t0,
  startSmtp: t0 + 5,
  startImap: t0 + 1_255,
  startImapSearch: t0 + 1_300,
  tries: 2,
  end: t0 + 3_505,
  folder: 'INBOX',
  junk: false,
  error: null,
  errorStage: null,
};
const target: E2eTarget = { emailFrom: 'alice@my-domain', emailTo: 'bob@other-domain', smtpHost: 'mail.my-domain', smtpPort: 587, imapHost: 'mail.other-domain', imapPort: 143 };

describe('e2e JSON', () => {
  it('has exactly the original fields plus folder, junk, error, error_stage; durations in microseconds', () => {
    const j = toJson(found);
    expect(Object.keys(j)).toEqual([
      'success', 'hash', 'start', 'start_time_smtp', 'start_time_imap', 'start_time_imap_search', 'tries', 'end',
      'total_duration', 'smtp_duration', 'imap_duration', 'folder', 'junk', 'error', 'error_stage',
    ]);
    // Whole deltas, not the original's sub-second remainder (3.505 s is 3505000, not 505000).
    expect(j.total_duration).toBe(3_505_000);
    expect(j.smtp_duration).toBe(1_250_000);
    expect(j.imap_duration).toBe(2_250_000);
    expect(j.tries).toBe(2);
    expect(j.folder).toBe('INBOX');
    expect(j.error).toBeNull();
    expect(new Date(j.start).getTime()).toBe(t0);
    expect(new Date(j.end).getTime()).toBe(t0 + 3_505);
    expect(JSON.parse(formatJson(found))).toEqual(j);
  });

  it('timestamps are ISO 8601 with microseconds and the UTC offset', () => {
    expect(isoLocal(t0 + 123)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.123000[+-]\d\d:\d\d$/);
    expect(new Date(isoLocal(t0 + 123)).getTime()).toBe(t0 + 123);
  });

  it('a run that failed in SMTP is complete: stages not reached are null, their durations 0', () => {
    const r: E2eRun = { ...found, success: false, startImap: null, startImapSearch: null, tries: 0, end: t0 + 805, folder: null, error: 'login refused: 535 5.7.8 Authentication failed', errorStage: 'smtp-auth' };
    const j = toJson(r);
    expect(j).toMatchObject({ success: false, start_time_imap: null, start_time_imap_search: null, tries: 0, imap_duration: 0, smtp_duration: 800_000, total_duration: 805_000, error_stage: 'smtp-auth' });
    expect(j.error).toMatch(/535/);
  });
});

describe('e2e Influx line', () => {
  it("is the original's measurement, tags and fields", () => {
    expect(formatInflux(found, target)).toBe(
      'mail-e2e,email-from=alice@my-domain,email-to=bob@other-domain,imap=mail.other-domain:143,smtp=mail.my-domain:587 ' +
        'success=1,total_dur=3505000,smtp_dur=1250000,imap_dur=2250000,junk=0,tries=2',
    );
  });

  it('escapes tag values and adds the failed stage as a string field', () => {
    const r: E2eRun = { ...found, success: false, folder: null, error: 'not found', errorStage: 'imap-search' };
    const line = formatInflux(r, { ...target, emailFrom: 'odd, name=x@y', imapHost: '::1' });
    expect(line).toContain('email-from=odd\\,\\ name\\=x@y');
    expect(line).toContain('imap=[::1]:143');
    expect(line).toMatch(/ success=0,.*,error_stage="imap-search"$/);
  });
});

describe('e2e Nagios line', () => {
  it('OK with perfdata, exit 0', () => {
    const n = formatNagios(found);
    expect(n.code).toBe(0);
    expect(n.line).toBe(
      'MAIL-E2E OK - mail 01234567 found in INBOX after 3.505 s (SMTP 1.250 s, 2 searches) | total=3.505s;;;0; smtp=1.250s;;;0; imap=2.250s;;;0; tries=2;;;0; success=1;;;0;1',
    );
  });

  it('WARNING when found in Junk or over --warning; CRITICAL over --critical', () => {
    expect(formatNagios({ ...found, folder: 'Junk', junk: true })).toMatchObject({ code: 1 });
    expect(formatNagios({ ...found, folder: 'Junk', junk: true }).line).toMatch(/^MAIL-E2E WARNING - .*found in Junk \(Junk\)/);
    const slow = formatNagios(found, { warningS: 2, criticalS: 10 });
    expect(slow.code).toBe(1);
    expect(slow.line).toMatch(/over the warning threshold \| total=3\.505s;2;10;0;/);
    expect(formatNagios(found, { warningS: 1, criticalS: 3 }).code).toBe(2);
  });

  it('CRITICAL with the stage and reason on failure; text never holds a pipe or a line break', () => {
    const r: E2eRun = { ...found, success: false, folder: null, error: 'login | refused\nNO [AUTHENTICATIONFAILED]', errorStage: 'imap-auth' };
    const n = formatNagios(r);
    expect(n.code).toBe(2);
    expect(n.line).toMatch(/^MAIL-E2E CRITICAL - imap-auth: login \/ refused NO \[AUTHENTICATIONFAILED\] \| total=/);
    expect(n.line.split('|')).toHaveLength(2);
    expect(nagiosUnknown('--smtp-host is required')).toEqual({ line: 'MAIL-E2E UNKNOWN - --smtp-host is required', code: 3 });
  });
});
