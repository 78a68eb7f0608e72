/**
 * Static files behind the same auth as the pages: the dashboard's CSS/JS from views/assets and
 * Highcharts from the installed package (never a CDN). Read once, kept in memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import type { WebEnv } from './env.js';

const types: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/** views/assets in the source tree, from web/ or from dist/web/. */
function assetsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = path.join(dir, 'views', 'assets');
    if (fs.existsSync(path.join(p, 'app.css'))) return p;
    dir = path.dirname(dir);
  }
  throw new Error('views/assets not found next to the dashboard code');
}

export function assetFiles(): Map<string, string> {
  const dir = assetsDir();
  const files = new Map<string, string>();
  for (const name of fs.readdirSync(dir)) files.set(name, path.join(dir, name));
  files.set('highcharts.js', createRequire(import.meta.url).resolve('highcharts/highcharts.js'));
  return files;
}

export function assetRoutes(app: Hono<WebEnv>): void {
  const files = assetFiles();
  const loaded = new Map<string, Buffer>();
  app.get('/assets/:name', (c) => {
    const name = c.req.param('name');
    const file = files.get(name);
    if (file === undefined) return c.text('not found\n', 404);
    let body = loaded.get(name);
    if (body === undefined) {
      body = fs.readFileSync(file);
      loaded.set(name, body);
    }
    return c.body(new Uint8Array(body), 200, {
      'Content-Type': types[path.extname(name)] ?? 'application/octet-stream',
      'Cache-Control': 'private, max-age=300',
    });
  });
}
