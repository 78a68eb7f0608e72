/**
 * The maillog source: provider blocks and delivery counters from each SSH-enabled host's postfix log
 * (collector/maillog/), then acknowledgements of blocks that have gone are dropped. Which IP a block
 * concerns is told by the host's IPs as the reputation source last stored them (or as configured;
 * a host known by neither is resolved here).
 */
import type { Config } from '../../lib/config/normalize.js';
import { describeError } from '../../lib/redis.js';
import { resolveHosts } from '../hosts.js';
import { maillogIssues } from '../issues.js';
import { collectMaillogs, type MaillogResult } from '../maillog/index.js';
import { acksToRemove } from '../records.js';
import { readAckIds, readBlocks, readPreviousHosts, removeAcks, type Problems } from '../../lib/store/index.js';
import type { Source, SourceContext, SourceOutcome } from './types.js';

/** Hosts whose maillog a run reads (SSH on, a key configured). */
export function maillogHosts(config: Config): string[] {
  return config.ssh.keyFile === undefined ? [] : config.hosts.filter((h) => h.ssh).map((h) => h.name);
}

async function hostIps(ctx: SourceContext, problems: Problems): Promise<Map<string, string[]>> {
  const read = new Set(maillogHosts(ctx.config));
  const hosts = ctx.config.hosts.filter((h) => read.has(h.name));
  const stored = (await readPreviousHosts(ctx.redis, ctx.k, [], problems)).hosts;
  const out = new Map<string, string[]>();
  const unknown = [];
  for (const h of hosts) {
    const ips = stored.get(h.name)?.ips ?? h.ips;
    if (ips && ips.length) out.set(h.name, ips);
    else unknown.push(h);
  }
  if (unknown.length) {
    const { records } = await resolveHosts(unknown, ctx.dns, ctx.now, ctx.runId);
    for (const r of records) out.set(r.name, r.ips);
  }
  return out;
}

async function run(ctx: SourceContext): Promise<SourceOutcome> {
  const { config, redis, log, now, k } = ctx;
  // Stored records that cannot be read are named in the log.
  const problems: Problems = [];
  let result: MaillogResult;
  try {
    result = await collectMaillogs({
      config,
      redis,
      log,
      now,
      hosts: config.hosts,
      hostIps: await hostIps(ctx, problems),
      ...(ctx.sshConnect ? { connect: ctx.sshConnect } : {}),
    });
  } catch (e) {
    const why = describeError(e);
    log.error('maillog part failed', { error: why });
    result = { hosts: config.hosts.length, ok: 0, error: config.hosts.length, skipped: 0, errors: [`all hosts: ${why}`] };
  }
  ctx.step('maillogs read');

  const read = new Set(maillogHosts(config));
  const blocks = [...(await readBlocks(redis, k, config.hosts.map((h) => h.name), problems)).values()];
  const gone = acksToRemove((await readAckIds(redis, k, problems)).filter((id) => id.startsWith('block:')), [], blocks);
  for (const p of problems) log.warn(`stored record not read: ${p}`);
  await removeAcks(redis, k, gone);
  if (gone.length) log.info(`removed ${gone.length} acknowledgement(s) whose issue has gone`, { acks: gone.slice(0, 20) });

  const at = now().toISOString();
  const issues = maillogIssues(blocks.filter((b) => read.has(b.host)), ctx.runId, at);
  return {
    part: {
      hosts: config.hosts.length,
      ips: 0,
      checks: { maillog: { ok: result.ok, error: result.error, skipped: result.skipped } },
      unhealthyZones: [],
      errors: result.errors.map((e) => `maillog ${e}`),
      status: result.error > 0 ? 'partial' : 'ok',
    },
    issues: { at, open: issues.open, undetermined: issues.undetermined },
  };
}

export const maillogSource: Source = { name: 'maillog', steps: () => 1, run };
