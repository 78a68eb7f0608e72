/**
 * Peers the tests and benchmarks start as other processes (redis-server, Dovecot, sshd, rbldnsd) must
 * not outlive the process that started them, however it ends: killed, Ctrl-C, a crash, where no
 * teardown runs. `stopWhenWeExit` gives such a peer a watchdog shell that holds the read end of a
 * pipe from this process: the pipe closes when this process exits, however it exits (the kernel
 * closes it), and the shell then sends the peer SIGTERM and removes its folder. No polling, no timer.
 * The watchdog runs in its own process group (a Ctrl-C to the run does not stop it before it acts)
 * and does not hold this process open. A normal stop cancels it first (SIGKILL to the shell), so it
 * never acts on a process id that may since have been reused.
 */
import { spawn } from 'node:child_process';

export interface Watchdog {
  /** The peer is being stopped by its owner: the watchdog goes without acting. */
  cancel(): void;
}

export function stopWhenWeExit(pid: number | undefined, dir?: string): Watchdog {
  if (pid === undefined) return { cancel() {} };
  const w = spawn('sh', ['-c', 'cat >/dev/null; kill "$1" 2>/dev/null; [ -z "$2" ] || rm -rf "$2"', 'mtarep-watchdog', String(pid), dir ?? ''], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  w.on('error', () => {}); // no sh: the peer is still stopped by its owner, only not after a kill
  w.stdin!.on('error', () => {});
  w.unref();
  (w.stdin as unknown as { unref?: () => void }).unref?.();
  return {
    cancel() {
      if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    },
  };
}
