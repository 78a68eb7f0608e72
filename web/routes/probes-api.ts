/**
 * Probe API (issue 9): GET /api/probes (every domain with its figures, like mxtrax's api/v2/maildomain),
 * GET /api/probes/<domain> (one, with recent probes), GET /api/probes/<domain>/stats?from=&to=
 * (daily stats, like api/v1/stat). Same auth as the rest; unknown domain: JSON 404. Registered before
 * the host API so /api/probes is never read as a host name.
 */
import type { Hono } from 'hono';
import type { WebContext } from '../context.js';
import { guard } from '../data.js';
import type { WebEnv } from '../env.js';
import { isDate, loadDomain, loadDomains, loadStats } from '../viewmodel/delivery.js';
import { domainStore } from '../../lib/probes/domains.js';

export function probesApiRoutes(app: Hono<WebEnv>, w: WebContext): void {
  const headers = { 'Cache-Control': 'no-store' };
  app.get('/api/probes', async (c) => c.json({ domains: await guard('probes', () => loadDomains(w.redis, w.config)) }, 200, headers));

  app.get('/api/probes/:domain', async (c) => {
    const name = c.req.param('domain');
    const d = await guard('probes', () => loadDomain(w.redis, w.config, name, w.now()));
    if (!d) return c.json({ error: 'unknown domain', domain: name }, 404, headers);
    return c.json(d, 200, headers);
  });

  app.get('/api/probes/:domain/stats', async (c) => {
    const name = c.req.param('domain');
    const from = c.req.query('from');
    const to = c.req.query('to');
    if ((from !== undefined && !isDate(from)) || (to !== undefined && !isDate(to))) {
      return c.json({ error: 'from and to must be dates YYYY-MM-DD' }, 400, headers);
    }
    const known = await guard('probes', () => domainStore(w.redis, w.config.redis.prefix).get(name));
    if (!known) return c.json({ error: 'unknown domain', domain: name }, 404, headers);
    return c.json({ days: await guard('probes', () => loadStats(w.redis, w.config, known.domain, from, to)) }, 200, headers);
  });
}
