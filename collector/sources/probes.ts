/**
 * The probes source: one round-trip probe round (collector/probes/round.ts) on `probes.interval`.
 * Failing domains are open issues of kind `probe_failing`; while the mailbox cannot be read they are
 * undetermined (kept as they were), never resolved. Without a `probes:` section it does nothing.
 */
import type { Source, SourceContext, SourceOutcome } from './types.js';

async function run(ctx: SourceContext): Promise<SourceOutcome> {
  if (!ctx.config.probes) {
    ctx.step('probes: not configured');
    return { part: { hosts: 0, ips: 0, checks: {}, unhealthyZones: [], errors: [], status: 'ok' }, issues: null };
  }
  const { runProbeRound } = await import('../probes/round.js');
  const r = await runProbeRound({ config: ctx.config, redis: ctx.redis, log: ctx.log, now: ctx.now, lock: ctx.lock });
  ctx.step('probe round');
  return {
    part: {
      hosts: 0,
      ips: 0,
      checks: { probes: { ok: r.sent, error: r.sendFailed + (r.receiveError ? 1 : 0), skipped: 0 } },
      unhealthyZones: [],
      errors: r.errors.map((e) => `probes ${e}`),
      status: r.status,
    },
    issues: { at: r.finishedAt, open: r.issues, undetermined: r.receiveError ? ['probe:'] : [] },
  };
}

export const probesSource: Source = { name: 'probes', steps: () => 1, run };
