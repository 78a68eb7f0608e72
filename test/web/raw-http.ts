/** Raw HTTP against a running dashboard (bytes as sent, no decoding), and Redis's own count of GETs. */
import http from 'node:http';
import type { Redis } from '../../lib/redis.js';

export interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export function getRaw(base: string, path: string, headers: Record<string, string>, method = 'GET', agent?: http.Agent): Promise<Raw> {
  return new Promise((resolve, reject) => {
    http
      .request(new URL(path, base), { method, headers, ...(agent ? { agent } : {}) }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      })
      .on('error', reject)
      .end();
  });
}

/** A POST of exactly these body bytes (a declared Content-Length), as curl --data-binary sends it. */
export function postRaw(base: string, path: string, headers: Record<string, string>, body: string | Buffer): Promise<Raw> {
  return new Promise((resolve, reject) => {
    http
      .request(new URL(path, base), { method: 'POST', headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      })
      .on('error', reject)
      .end(body);
  });
}

/** GET commands redis-server has run so far (INFO commandstats). */
export async function redisGets(admin: Redis): Promise<number> {
  return Number(/cmdstat_get:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
}

/**
 * Ask for a page until 5 requests in a row cost no GET on the server (the page cached, the login
 * remembered, the version known from the watch); fails after 30 s. Returns the last answer.
 */
export async function untilCachedWithoutRedis(base: string, path: string, headers: Record<string, string>, admin: Redis): Promise<Raw> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const before = await redisGets(admin);
    let last: Raw | undefined;
    for (let i = 0; i < 5; i++) last = await getRaw(base, path, headers);
    if ((await redisGets(admin)) === before && last!.status === 200) return last!;
    if (Date.now() > deadline) throw new Error(`${path} still costs Redis GETs after 30 s (status ${last!.status})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
