/**
 * SenderScore over DNS (../shared/notes/sources.md): A `<reversed-ip>.<senderscore_zone>` answers
 * `127.0.4.N`, N the 0-100 score. NXDOMAIN means Validity has no score for the IP (plain data, not an
 * error). `127.255.255.255` means the querying IP is not registered with Validity: an error, never
 * score 255. Any other answer or failed lookup is an error with the raw answer or the failure kind.
 */
import { senderscorePlugin } from '../../lib/checks/senderscore.js';
import type { CheckResult, SenderScoreValue } from '../../lib/model.js';
import { DnsLookupError } from '../dns/client.js';
import { mapLimit } from '../../lib/concurrency.js';
import { dnsblName } from '../dns/names.js';
import type { Check } from './types.js';

/** Pure: the result for the A records of one score query. */
export function scoreFromAnswers(answers: readonly string[], at: string): CheckResult<SenderScoreValue> {
  if (answers.includes('127.255.255.255')) {
    return { status: 'error', at, reason: 'querying IP not registered with Validity (answer 127.255.255.255)' };
  }
  const m = answers.length === 1 ? /^127\.0\.4\.(\d{1,3})$/.exec(answers[0]!) : null;
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 100)) return { status: 'error', at, reason: `unexpected answer ${answers.join(', ')} (expected 127.0.4.0-100)` };
  return { status: 'ok', at, value: { score: n } };
}

export const senderscoreCheck: Check<SenderScoreValue> = {
  name: 'senderscore',
  plugin: senderscorePlugin,
  skipReason(config) {
    return config.senderscoreZone === null ? 'senderscore_zone is false' : null;
  },
  async run(targets, deps) {
    const zone = deps.config.senderscoreZone;
    const at = deps.now().toISOString();
    const out = new Map<string, CheckResult<SenderScoreValue>>();
    if (zone === null) {
      for (const t of targets) out.set(t.ip, { status: 'skipped', at, reason: 'senderscore_zone is false' });
      return out;
    }
    // The DNS client bounds queries in flight; this only keeps the number of pending promises small.
    await mapLimit(targets, deps.config.dns.concurrency, async (t) => {
      if (t.family === 6) {
        out.set(t.ip, { status: 'skipped', at, reason: 'SenderScore has no data for IPv6 addresses' });
        return;
      }
      try {
        out.set(t.ip, scoreFromAnswers(await deps.dns.resolve4(dnsblName(t.ip, zone)), at));
      } catch (e) {
        const err = e instanceof DnsLookupError ? e : new DnsLookupError('OTHER', (e as Error).message);
        if (err.kind === 'NXDOMAIN' || err.kind === 'NODATA') out.set(t.ip, { status: 'ok', at, value: { score: null } });
        else out.set(t.ip, { status: 'error', at, reason: `SenderScore lookup failed: ${err.message}` });
      }
    });
    return out;
  },
};
