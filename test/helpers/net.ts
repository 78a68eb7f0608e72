/**
 * A free TCP port on a loopback address, for servers the tests start as other processes (redis-server,
 * Dovecot, sshd, ...) and for "nothing listens here" addresses.
 *
 * Not the OS's `listen(0)` choice: that port is closed again before the server binds it, and in that
 * moment the kernel may hand the same number to another test's `listen(0)` or outgoing connection, or
 * another test file may be told the same. Instead the ports come from 20000-32767, below the kernel's
 * ephemeral range (32768-60999 by default; checked in /proc, with a fallback to `listen(0)` where the
 * range differs), so the kernel never hands one out by itself; each vitest worker has its own block
 * (VITEST_POOL_ID), so two files running at once never draw the same port; each process starts at its
 * own place in the block (a hash of its pid: which free port is drawn changes no outcome), so files that follow each other in one worker do not
 * reuse the ports just released; and each port is bound once to check it is free before it is given.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';

const LOW = 20_000;
const HIGH = 32_767;
const BLOCK = 400;
const BLOCKS = Math.floor((HIGH - LOW + 1) / BLOCK);

function ephemeralRange(): [number, number] | null {
  try {
    const [a, b] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return a !== undefined && b !== undefined && Number.isInteger(a) && Number.isInteger(b) ? [a, b] : null;
  } catch {
    return null;
  }
}

const range = ephemeralRange();
/** Our ports are outside the kernel's own choices only where its range does not overlap ours. */
const ownRange = range !== null && (range[0] > HIGH || range[1] < LOW);
const block = (Number(process.env.VITEST_POOL_ID ?? 0) || 0) % BLOCKS;
let next = crypto.createHash('sha256').update(String(process.pid)).digest().readUInt16BE(0) % BLOCK;

function tryListen(port: number, host: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(null) : reject(e)));
    srv.listen({ port, host, exclusive: true }, () => {
      const got = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(got));
    });
  });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  if (!ownRange) {
    const p = await tryListen(0, host);
    if (p === null) throw new Error(`no free port on ${host}`);
    return p;
  }
  for (let i = 0; i < BLOCK; i++) {
    const port = LOW + block * BLOCK + (next++ % BLOCK);
    const got = await tryListen(port, host);
    if (got !== null) return got;
  }
  throw new Error(`no free port on ${host} in ${LOW + block * BLOCK}-${LOW + block * BLOCK + BLOCK - 1}`);
}
