// A throwaway redis-server does not outlive the process that started it, however that process ends:
// an interrupted test run or benchmark leaves no server and no folder behind.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../../lib/redis.js';
import { startThrowawayRedis } from './throwaway-redis.js';

const helper = path.resolve(__dirname, 'throwaway-redis.ts');
let tmp: string | undefined;

afterEach(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** True once nothing accepts connections on the port (polled, within a bound). */
async function closedWithin(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(true));
    });
    if (refused) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('throwaway redis-server', () => {
  it('stop() stops the server and removes its folder', async () => {
    const r = await startThrowawayRedis();
    const c = await connectRedis({ url: r.url }, { reconnect: false });
    const [, dir] = (await c.config('GET', 'dir')) as [string, string];
    c.disconnect();
    expect(fs.existsSync(dir)).toBe(true);
    await r.stop();
    expect(await closedWithin(r.port, 5000)).toBe(true);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('a process killed with SIGKILL leaves no server and no folder behind', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-tw-'));
    const script = path.join(tmp, 'start.mjs');
    fs.writeFileSync(
      script,
      `const { startThrowawayRedis } = await import(${JSON.stringify(helper)});
const r = await startThrowawayRedis();
process.stdout.write(JSON.stringify({ port: r.port }) + '\\n');
setInterval(() => {}, 60_000);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0]!;
        if (out.includes('\n')) resolve(JSON.parse(line) as { port: number });
      });
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before starting redis-server`)));
    });
    const c = await connectRedis({ url: `redis://127.0.0.1:${port}/0` }, { reconnect: false });
    const [, dir] = (await c.config('GET', 'dir')) as [string, string];
    expect(await c.ping()).toBe('PONG');
    c.disconnect();
    child.kill('SIGKILL');
    await exited;
    expect(await closedWithin(port, 10_000)).toBe(true);
    // The folder goes right after the server is told to stop.
    const deadline = Date.now() + 10_000;
    while (fs.existsSync(dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(dir)).toBe(false);
  });
});
