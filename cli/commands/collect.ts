/**
 * `mtarep collect`: one collector run, for cron (exit codes in cli/exit-codes.ts). The maillog hosts'
 * SSH connections are started first (collector/maillog/early.ts loads only the SSH client); the rest
 * of the collector is loaded while they get through their handshake.
 */
import type { ConfiguredContext } from '../commands.js';
import { exitCodes } from '../exit-codes.js';
import { ProgressBar } from '../progress.js';
import { connectEarly } from '../../collector/maillog/early.js';
import { phase } from '../../lib/phases.js';
import type { Redis } from '../../lib/redis.js';

const formats = ['text', 'json', 'influx'] as const;

/** `--only a --only b,c` as a list of names. */
function onlyOf(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return list.flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter((x) => x !== '');
}

export async function run({ config, values }: ConfiguredContext): Promise<number> {
  const only = onlyOf(values.only);
  const format = values.json === true ? 'json' : ((values['output-format'] as string | undefined) ?? 'text');
  if (!(formats as readonly string[]).includes(format)) {
    process.stderr.write(`mtarep: --output-format must be text, json or influx, not "${format}"\n`);
    return exitCodes.usage;
  }
  // The maillog hosts' SSH connections start now and get through their handshake while the collector
  // is loaded and Redis, the lock and the stored state are read; closed below if the run does not
  // take them (also when --only or the sources section turns out wrong just below).
  const early = only.length === 0 || only.includes('maillog') ? connectEarly(config) : undefined;
  try {
    return await collect(config, values, only, format, early);
  } finally {
    early?.close();
  }
}

async function collect(
  config: ConfiguredContext['config'],
  values: ConfiguredContext['values'],
  only: string[],
  format: string,
  early: ReturnType<typeof connectEarly> | undefined,
): Promise<number> {
  const [{ openRedis }, { withSession }, { runAlerts }, { runCollect, LockHeldError, formatSummaryLine }, { intervalOf, selectSources }] = await Promise.all([
    import('../runtime.js'),
    import('../session.js'),
    import('../../collector/alerts.js'),
    import('../../collector/run.js'),
    import('../../collector/sources/index.js'),
  ]);
  // A misspelt `sources.<name>` never gets here: the config load rejects it for every command.
  const problems: string[] = [];
  try {
    selectSources(only);
  } catch (e) {
    problems.push(`--only: ${(e as Error).message}`);
  }
  if (problems.length) {
    process.stderr.write(problems.map((p) => `mtarep: ${p}\n`).join(''));
    return exitCodes.usage;
  }
  // On a terminal: a progress bar, with log lines written above it.
  const bar = process.stderr.isTTY && format === 'text' ? new ProgressBar() : undefined;
  const json = format === 'json';
  const influx = format === 'influx';
  const cron = !process.stderr.isTTY;
  return withSession(
    config,
    {
      verbose: values.verbose === true,
      // Under cron: nothing on stderr unless something failed; the summary line goes to stdout.
      quiet: cron || values.quiet === true,
      warningsToFileOnly: cron,
      ...(bar ? { stream: bar.logStream() } : {}),
    },
    async (log) => {
      const handle = await openRedis(config, log, { reconnect: false });
      phase('redis connected');
      try {
        // The summary line (or JSON / Influx) goes to stdout below, so the run's log only adds what failed.
        const summary = await runCollect({ config, redis: handle.redis, log, only, summaryPrinted: true, ...(bar ? { progress: bar } : {}), ...(early ? { sshConnect: early.connect } : {}) });
        phase('run done');
        bar?.done();
        // The alert engine runs after the run (under cron, `mtarep serve` also runs it between runs).
        try {
          await runAlerts({ config, redis: handle.redis, log, intervalOf: (s) => intervalOf(config, s) });
        } catch (e) {
          log.error('alert engine step failed', { error: (e as Error).message });
        }
        phase('alert step done');
        if (influx) {
          const [{ formatCollectInflux }, { keys }, { readSnapshot }] = await Promise.all([import('../../collector/influx.js'), import('../../lib/keys.js'), import('../../lib/store/index.js')]);
          // The figures as stored by this run, read back through the record store.
          const names = config.hosts.map((h) => h.name);
          const ipsOf = (name: string, rec: { ips: string[] } | undefined) => rec?.ips ?? config.hosts.find((h) => h.name === name)?.ips ?? [];
          const snap = await readSnapshot(handle.redis, keys(config.redis.prefix), names, ipsOf);
          for (const p of snap.problems) log.warn('stored record unreadable', { problem: p });
          const probes = config.probes && (summary.sources ?? []).includes('probes') ? await readProbeFigures(handle.redis, config.redis.prefix) : undefined;
          const lines = formatCollectInflux({ config, summary, hosts: snap.hosts, ips: snap.ips, blocks: snap.blocks, ...(probes ? { probes } : {}) });
          process.stdout.write(lines.join('\n') + '\n');
        } else {
          process.stdout.write(json ? JSON.stringify(summary, null, 2) + '\n' : formatSummaryLine(summary) + '\n');
        }
        return summary.status === 'ok' ? exitCodes.ok : summary.status === 'partial' ? exitCodes.partial : exitCodes.fatal;
      } catch (e) {
        bar?.done();
        if (e instanceof LockHeldError) {
          log.warn(e.message);
          if (json) process.stdout.write(JSON.stringify({ status: 'locked', message: e.message }) + '\n');
          return exitCodes.locked;
        }
        throw e;
      } finally {
        await handle.close();
        phase('redis closed');
      }
    },
  );
}

/** The probe domains and the figures the newest round stored, for the Influx output. */
async function readProbeFigures(redis: Redis, prefix: string) {
  const [{ domainStore }, { probeStore }] = await Promise.all([import('../../lib/probes/domains.js'), import('../../lib/probes/store.js')]);
  const ps = probeStore(redis, prefix);
  const [domains, summaries, state] = await Promise.all([domainStore(redis, prefix).list(), ps.summaries(), ps.state()]);
  return { domains, summaries, ...(state.lastRound ? { round: state.lastRound } : {}) };
}
