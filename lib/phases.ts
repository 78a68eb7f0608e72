/**
 * Opt-in timing of a process's phases, for benchmarks and for finding where a cron run's time goes:
 * with `MTAREP_PHASES=<file>` in the environment, `phase(name)` marks the moment on Node's performance
 * timeline and, when the process exits, the file gets one JSON object: Node's own start figures and
 * every mark, in ms since the process started. Without the variable `phase` does nothing (a long
 * `mtarep start` must not collect marks). The marks live on the process-wide timeline, so the modules
 * run from the CLI bundle and those loaded beside it (cli/main.ts) add to the same list.
 */
import fs from 'node:fs';

// Node's global `performance` (node:perf_hooks' object), not imported: loading perf_hooks costs every
// start a few ms, and without MTAREP_PHASES nothing here touches it (the launcher loads this module).

const file = process.env['MTAREP_PHASES'];

/** A figure a mark carries: a duration (`ms`) or a count. */
export interface PhaseFigure {
  value: number;
  unit: 'ms' | 'count';
}

/**
 * Mark that `name` is reached now, with the marking thread's CPU time so far and an optional figure
 * (a no-op unless MTAREP_PHASES names a file).
 */
export const phase: (name: string, figure?: PhaseFigure) => void = file
  ? (name, figure) => void performance.mark(`mtarep:${name}`, { detail: { cpuMs: threadCpuMs(), ...(figure ? { figure } : {}) } })
  : () => {};

/** USER_HZ is 100 on Linux: a tick of /proc's CPU times is 10 ms. */
const tickMs = 10;

/** User + system CPU ms in the text of a /proc `stat` file (fields after the `(name)`, which may hold spaces). */
function statCpuMs(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * tickMs;
}

/**
 * CPU ms so far of the process or thread whose /proc `stat` file this is (`/proc/<pid>/stat`,
 * `/proc/self/task/<tid>/stat`), or undefined where there is none (not Linux, gone).
 */
export function procCpuMs(statPath: string): number | undefined {
  try {
    return statCpuMs(fs.readFileSync(statPath, 'latin1'));
  } catch {
    return undefined;
  }
}

/** This thread's CPU time in ms (Linux), or undefined: a worker thread reports its own with its result. */
export function threadCpuMs(): number | undefined {
  return procCpuMs('/proc/thread-self/stat');
}

export interface PhaseReport {
  pid: number;
  /** ms from the process's start (performance.timeOrigin) to Node's bootstrap done and to each mark. */
  bootstrapMs: number;
  /** Each mark: when, the marking thread's CPU ms by then (Linux), and its figure if it has one. */
  marks: { name: string; ms: number; cpuMs?: number; figure?: PhaseFigure }[];
  exitMs: number;
  /** CPU ms of each thread still alive at exit (Linux /proc; the main thread's id is `pid`). */
  threads: { tid: number; name: string; cpuMs: number }[];
}

/** Per-thread CPU from /proc/self/task (empty where there is none). */
function threadCpu(): PhaseReport['threads'] {
  try {
    return fs.readdirSync('/proc/self/task').map((tid) => {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      return { tid: Number(tid), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpuMs: statCpuMs(stat) };
    });
  } catch {
    return [];
  }
}

/** The marks so far (for the exit hook and tests). */
export function phaseReport(): PhaseReport {
  return {
    pid: process.pid,
    bootstrapMs: performance.nodeTiming.bootstrapComplete,
    marks: performance
      .getEntriesByType('mark')
      .filter((m) => m.name.startsWith('mtarep:'))
      .map((m) => {
        const detail = (m as { detail?: { cpuMs?: number; figure?: PhaseFigure } }).detail ?? {};
        return {
          name: m.name.slice(7),
          ms: Math.round(m.startTime * 10) / 10,
          ...(detail.cpuMs !== undefined ? { cpuMs: detail.cpuMs } : {}),
          ...(detail.figure ? { figure: detail.figure } : {}),
        };
      }),
    exitMs: Math.round(performance.now() * 10) / 10,
    threads: threadCpu(),
  };
}

const g = globalThis as { mtarepPhasesHook?: boolean };
if (file && !g.mtarepPhasesHook) {
  // Once per process, whichever copy of this module (modules or bundle) loads first.
  g.mtarepPhasesHook = true;
  process.once('exit', () => {
    try {
      fs.writeFileSync(file, JSON.stringify(phaseReport()) + '\n');
    } catch {
      // a timing aid: never a reason for a run to fail
    }
  });
}

/**
 * The phases of one process as one line: ms from its start to each mark (with the marking thread's
 * CPU ms by then: the main thread's for every mark the collector sets), a mark's figure, and CPU per
 * thread.
 */
export function formatPhases(p: PhaseReport | undefined): string {
  if (!p) return '(no phase report)';
  const marks = p.marks
    .map(({ name, ms, cpuMs, figure }) => {
      if (figure) return `${name} ${Math.round(figure.value)}${figure.unit === 'ms' ? ' ms' : ''}`;
      return `${name} ${Math.round(ms)}${cpuMs !== undefined ? ` (CPU ${cpuMs})` : ''}`;
    })
    .join(', ');
  const main = p.threads.find((t) => t.tid === p.pid);
  const others = p.threads.filter((t) => t.tid !== p.pid).reduce((n, t) => n + t.cpuMs, 0);
  return `node started ${Math.round(p.bootstrapMs)}, ${marks}, exit ${Math.round(p.exitMs)}; CPU: main thread ${main?.cpuMs ?? '?'} ms, other threads alive at exit (V8, libuv) ${others} ms`;
}
