/**
 * One host's maillog read: load state, connect, plan, stream each segment through the scanner,
 * commit. Throws on any failure (the caller turns it into the host's error record); nothing is
 * written unless the whole read succeeded.
 */
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import type { Keys } from '../../lib/keys.js';
import type { Logger } from '../../lib/log.js';
import type { BlocksRecord } from '../../lib/model.js';
import type { Redis } from '../../lib/redis.js';
import { phase } from '../../lib/phases.js';
import type { SshSession, SshTarget } from '../ssh/client.js';
import { assertSafePath } from '../ssh/quote.js';
import type { KnownHostEntry } from '../ssh/known-hosts.js';
import { mergeBlocks, toBlock } from './blocks.js';
import { commitRead, loadHostState } from './commit.js';
import { LineSplitter } from './lines.js';
import { planRead, type SavedPosition, type Segment } from './plan.js';
import type { QueueLimits } from './queue.js';
import { probeRemote, readRemote } from './remote.js';
import { inlineSink, workerSink, type ScanInit, type ScanSink } from './sink.js';
import { sshTargetOf } from './ssh-setup.js';

export interface HostReadContext {
  config: Config;
  redis: Redis;
  keys: Keys;
  log: Logger;
  now: () => Date;
  /** Reads larger than this are scanned in a worker thread (and not streamed by the probe). */
  workerThresholdBytes: number;
  privateKey: Buffer;
  knownHosts: readonly KnownHostEntry[];
  connect: (t: SshTarget) => Promise<SshSession>;
  queueLimits: QueueLimits;
  /** Test seam: runs after the read, right before the commit. */
  beforeCommit?: (host: string) => Promise<void>;
}

export interface HostReadResult {
  lines: number;
  unparsed: number;
  blocks: number;
  notes: string[];
}

/** Overall limit for one streamed read: the idle timer catches a stalled MTA long before this. */
const READ_LIMIT_MS = 30 * 60_000;

export async function readHost(ctx: HostReadContext, host: HostConfig, hostIps: readonly string[]): Promise<HostReadResult> {
  const { config } = ctx;
  assertSafePath(host.maillogPath); // before connecting: a path no command can carry is a config error
  const state = await loadHostState(ctx.redis, ctx.keys, host.name);
  phase('maillog state loaded');
  const session = await ctx.connect(sshTargetOf(config, host, ctx.privateKey, ctx.knownHosts));
  phase('ssh ready');
  try {
    // A rotation between the listing and the read makes the read refuse (inode check): plan again.
    for (let attempt = 1; ; attempt++) {
      const done = await attemptRead(ctx, host, hostIps, session, state);
      if (done) return done;
      if (attempt >= 3) throw new Error(`${host.maillogPath} kept changing under the read (rotated 3 times in a row?)`);
    }
  } finally {
    session.close();
  }
}

async function attemptRead(
  ctx: HostReadContext,
  host: HostConfig,
  hostIps: readonly string[],
  session: SshSession,
  state: Awaited<ReturnType<typeof loadHostState>>,
): Promise<HostReadResult | null> {
  const { config } = ctx;
  const now = ctx.now();
  const timers = { timeoutMs: READ_LIMIT_MS, idleTimeoutMs: config.ssh.timeoutMs };
  const saved = state.position?.path === host.maillogPath ? state.position : null;
  // First run: the tail holds days of history; only today's lines count, so "today" is right at
  // once and nothing older is counted into the wrong day or twice next to an external writer.
  const init: ScanInit = {
    rules: config.providerBlocks,
    timezone: host.timezone,
    nowMs: now.getTime(),
    firstRun: saved === null,
    queue: state.queue,
    queueLimits: ctx.queueLimits,
  };
  let sink: ScanSink = inlineSink(init);
  // A first read is usually a large one (the initial tail): its scanner thread starts now, while the
  // probe runs, and is dropped if the read turns out small.
  let early: ScanSink | undefined = saved === null ? workerSink(init) : undefined;
  try {
    // The usual run is one exec: the probe streams a small backlog from the saved offset at once.
    const fast = new LineSplitter((b) => sink.feed(b));
    const probe = await probeRemote(session, host.maillogPath, saved, ctx.workerThresholdBytes, (b) => fast.push(b), timers);
    phase('probe done');
    let next: SavedPosition;
    const notes: string[] = [];
    if (probe.streamed) {
      fast.end(false);
      next = { path: host.maillogPath, inode: probe.current.inode, offset: saved!.offset + fast.consumed };
    } else {
      const plan = planRead(state.position, host.maillogPath, probe.current, probe.rotated, config.maillog.initialTailBytes);
      notes.push(...plan.notes);
      const sizeOf = (seg: Segment) => (seg.inode === probe.current.inode ? probe.current.size : (probe.rotated.find((f) => f.inode === seg.inode)?.size ?? 0));
      const bytes = plan.segments.reduce((n, seg) => n + Math.max(0, sizeOf(seg) - seg.from), 0);
      // A large read is scanned on another core while this thread runs SSH.
      if (bytes > ctx.workerThresholdBytes) {
        sink = early ?? workerSink(init);
        early = undefined;
      }
      next = { path: host.maillogPath, inode: probe.current.inode, offset: 0 };
      for (const seg of plan.segments) {
        const splitter = new LineSplitter((b) => sink.feed(b), { skipFirstPartial: seg.skipFirstPartial });
        let first = true;
        const ok = await readRemote(session, seg, (b) => {
          if (first) phase('first byte');
          first = false;
          splitter.push(b);
        }, {
          ...timers,
          onChannel: (flow) => {
            sink.onBackpressure = (pause) => (pause ? flow.pause() : flow.resume());
          },
        });
        if (!ok) return null;
        splitter.end(seg.finalFile);
        if (!seg.finalFile) next = { path: host.maillogPath, inode: seg.inode, offset: seg.from + splitter.consumed };
      }
    }
    phase('read done');
    const scan = await sink.finish();
    phase('scan finished');

    const fresh = [...scan.blocks].map(([provider, b]) => toBlock(provider, b.line, b.ms, hostIps));
    const blocks = mergeBlocks(
      state.previous?.blocks ?? [],
      fresh,
      config.providerBlocks.map((r) => r.provider),
      now.getTime(),
      config.providerBlockWindowSec,
    );
    const at = now.toISOString();
    const record: BlocksRecord = { host: host.name, status: 'ok', at, blocksAt: at, blocks, lines: { read: scan.lines, unparsed: scan.unparsed } };
    await ctx.beforeCommit?.(host.name);
    await commitRead(ctx.redis, ctx.keys, {
      host: host.name,
      countersId: host.countersId,
      expected: state.rawPosition,
      next,
      record,
      queue: scan.queue,
      counters: scan.counters,
      ttlSec: config.retention.countersDays * 86_400,
    });
    phase('committed');
    for (const p of scan.slow) {
      notes.push(`provider_block_strings.${p.provider} /${p.source}/ was slow on ${p.lines} line(s) (up to ${Math.round(p.ms)} ms each; matched in bounded time): simplify it`);
    }
    if (scan.expiredUnknown > 0) notes.push(`${scan.expiredUnknown} expired messages had no remembered recipients (deferred before the first read?)`);
    return { lines: scan.lines, unparsed: scan.unparsed, blocks: blocks.length, notes };
  } finally {
    sink.close();
    early?.close();
  }
}
