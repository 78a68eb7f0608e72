/**
 * JSON API: GET /api/hosts (every host), GET /api/:fqdn (one host by public FQDN or mta_map name) and
 * GET /api/version (the data version the overview polls to know when to reload).
 * Same auth as the pages; unknown hosts get a JSON 404.
 */
import type { Hono } from 'hono';
import type { WebContext } from '../context.js';
import { loadSnapshot } from '../data.js';
import type { WebEnv } from '../env.js';
import { apiHost, findHost } from '../viewmodel/api.js';

export function apiRoutes(app: Hono<WebEnv>, w: WebContext): void {
  const { config, redis, k } = w;
  const headers = { 'Cache-Control': 'no-store' };

  // The overview polls this to reload itself when the collector (or an acknowledgement) changed the data.
  app.get('/api/version', async (c) => c.json({ dataVersion: await w.version.read() }, 200, headers));

  app.get('/api/hosts', async (c) => {
    const snap = await loadSnapshot(redis, k, config);
    const now = w.now();
    return c.json({ lastRun: snap.lastRun, hosts: config.hosts.map((h) => apiHost(config, snap, h, now, w.plugins)) }, 200, headers);
  });

  app.get('/api/:fqdn', async (c) => {
    const name = c.req.param('fqdn');
    const host = findHost(config, name);
    if (!host) return c.json({ error: 'unknown host', host: name }, 404, headers);
    const snap = await loadSnapshot(redis, k, config);
    return c.json(apiHost(config, snap, host, w.now(), w.plugins), 200, headers);
  });
}
