/**
 * The dashboard's HTTP server. (Foundation placeholder: the dashboard issue fills in the app.)
 */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import fs from 'node:fs';
import type { Config } from '../lib/config/normalize.js';
import type { Logger } from '../lib/log.js';
import type { Redis } from '../lib/redis.js';
import { parseHtpasswd, verifyPassword } from '../lib/htpasswd.js';

export interface WebDeps {
  config: Config;
  redis: Redis;
  log: Logger;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export function createApp(deps: WebDeps): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Basic (.+)$/i.exec(header);
    if (m) {
      const [user, ...pw] = Buffer.from(m[1]!, 'base64').toString('utf8').split(':');
      const entries = parseHtpasswd(fs.readFileSync(deps.config.httpAuthFile, 'utf8'));
      if (await verifyPassword(entries.find((e) => e.user === user), pw.join(':'))) return next();
    }
    return c.text('authentication required', 401, { 'WWW-Authenticate': 'Basic realm="mtarep"' });
  });
  app.get('/', (c) => c.text('mtarep'));
  return app;
}

export async function startServer(deps: WebDeps): Promise<RunningServer> {
  const app = createApp(deps);
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: deps.config.listen.host, port: deps.config.listen.port }, (info: AddressInfo) => {
      resolve({
        url: `http://${info.address}:${info.port}/`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
