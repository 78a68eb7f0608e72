/**
 * The dashboard on a real socket in front of a real Chromium, for the browser tests: this file's Redis
 * database, the user alice in the htpasswd file, the server on a port the OS picks, one browser, and
 * all three closed after the file. What a test shows (its config and its data) stays in the test.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { Config } from '../../lib/config/normalize.js';
import { silentLogger } from '../../lib/log.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { launchChromium } from '../helpers/browser.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { htpasswdLine, writeHtpasswd } from './fixtures.js';

/** Where the browser tests put their screenshots (gitignored). */
export const shots = path.resolve('screenshots');

/** The one user in the htpasswd file (bcrypt), as `browser.newContext({ httpCredentials: alice })` takes it. */
export const alice = { username: 'alice', password: 'pw-alice' };

export interface DashboardInChromium {
  readonly t: TestRedis;
  readonly server: RunningServer;
  readonly browser: Browser;
}

/**
 * Registers the calling describe's beforeAll and afterAll. `prepare` makes the config and writes the
 * test's data into `t`; the server then listens on 127.0.0.1, port 0 (whatever `prepare`'s config says),
 * and reports its address in `server.url`. The fields can be read from the tests on.
 */
export function dashboardInChromium(prepare: (t: TestRedis) => Promise<Config>): DashboardInChromium {
  let t: TestRedis | undefined;
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    fs.mkdirSync(shots, { recursive: true });
    t = await testRedis();
    const config = await prepare(t);
    writeHtpasswd(config, [htpasswdLine(alice.username, alice.password, 'bcrypt')]);
    server = await startServer({ config: { ...config, listen: { host: '127.0.0.1', port: 0 } }, redis: t.redis, log: silentLogger });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await t?.close();
  });
  const started = <T>(v: T | undefined, name: string): T => {
    if (v === undefined) throw new Error(`the browser dashboard's ${name} is not started yet: read it inside a test`);
    return v;
  };
  return {
    get t() {
      return started(t, 'Redis');
    },
    get server() {
      return started(server, 'server');
    },
    get browser() {
      return started(browser, 'browser');
    },
  };
}
