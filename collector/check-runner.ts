/**
 * Running the per-IP checks over targets in this process (the default CheckRunner): every check of
 * the list at once, each bounded by its own timeouts. A check that breaks its contract gives errors
 * for the targets it left out, never a clean verdict.
 */
import type { CheckResult } from '../lib/model.js';
import { scrub, secretsOf } from '../lib/log.js';
import type { AnyPlugin, CheckDeps, Target } from '../lib/checks/types.js';
import type { RunResults } from './records.js';

/** Results for every target when a check broke its contract (threw, or its shard was lost): errors, never clean. */
export function crashed(check: AnyPlugin, targets: readonly Target[], at: string, why: string): Map<string, CheckResult<unknown>> {
  const reason = `${check.name} check failed: ${why}`;
  return new Map(targets.map((t) => [t.ip, { status: 'error', at, reason }]));
}

/**
 * Run every check over all targets at once. A check that breaks its contract (throws, or leaves a
 * target without a result) gives errors for those targets, never a clean verdict (an IP without
 * DNSBL results would look unlisted). Exported for tests.
 */
export async function runChecks(list: readonly AnyPlugin[], targets: readonly Target[], deps: CheckDeps, step: (label: string) => void): Promise<RunResults> {
  // A thrown message may carry anything (a DQS query name, a URL with a key): it is stored and shown.
  const secrets = secretsOf(deps.config);
  const entries = await Promise.all(
    list.map(async (check) => {
      const skip = check.skipReason(deps.config);
      if (skip !== null) {
        step(`${check.name} skipped`);
        return [check.name, { skipped: skip }] as const;
      }
      let results: Map<string, CheckResult<unknown>>;
      try {
        results = await check.run(targets, deps);
      } catch (e) {
        const why = scrub((e as Error).message, secrets);
        deps.log.error(`${check.name} check threw instead of reporting errors as data`, { error: why });
        results = crashed(check, targets, deps.now().toISOString(), why);
      }
      const lost = targets.filter((t) => !results.has(t.ip));
      if (lost.length > 0) {
        deps.log.error(`${check.name} check returned no result for ${lost.length} IP(s)`, { ips: lost.slice(0, 20).map((t) => t.ip) });
        for (const [ip, r] of crashed(check, lost, deps.now().toISOString(), 'it returned no result for this IP')) results.set(ip, r);
      }
      step(`${check.name} done`);
      return [check.name, { results }] as const;
    }),
  );
  return Object.fromEntries(entries) as RunResults;
}
