/**
 * GET /metrics in the Prometheus text format: a fresh registry per scrape, built from the stored
 * records by web/viewmodel/metrics.ts. A machine route (web/machine.ts): it takes a bearer token
 * (metrics.bearer_token) or the dashboard's basic auth (web/auth.ts bearerOrBasicAuth).
 */
import type { Hono } from 'hono';
import { mtarepVersion } from '../../lib/version.js';
import { bearerOrBasicAuth, type HtpasswdStore } from '../auth.js';
import type { WebContext } from '../context.js';
import { loadSnapshot } from '../data.js';
import type { WebEnv } from '../env.js';
import { loadProbeFigures } from '../viewmodel/delivery.js';
import { buildMetrics } from '../viewmodel/metrics.js';

export function metricsRoutes(app: Hono<WebEnv>, w: WebContext, store: HtpasswdStore): void {
  app.get('/metrics', bearerOrBasicAuth(store, w.config.metrics.bearerToken), async (c) => {
    const [snap, probes] = await Promise.all([loadSnapshot(w.redis, w.k, w.config), w.config.probes ? loadProbeFigures(w.redis, w.config) : undefined]);
    const registry = buildMetrics({ config: w.config, snap, version: mtarepVersion(), plugins: w.plugins, ...(probes ? { probes } : {}) });
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
  });
}
