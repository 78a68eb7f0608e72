/**
 * `mtarep send` as a user runs it: the real CLI in a child process, a temp config pointing at the
 * test Redis and the vendor APIs played on loopback. Output names the provider and every attempt;
 * exit codes tell sent / sent-with-a-bad-key / refused / failed apart; keys never appear.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../lib/keys.js';
import { runCli } from './helpers/cli.js';
import { startEspApi, type EspApiServer } from './helpers/esp-api.js';
import { testRedis, type TestRedis } from './helpers/redis.js';

let r: TestRedis;
let api: EspApiServer;
let dir: string;
const k = keys('mtarep:');

beforeAll(async () => {
  r = await testRedis();
  api = await startEspApi();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-cli-send-'));
});
afterAll(async () => {
  await Promise.all([r.close(), api.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await r.redis.flushdb();
  api.mode.sendgrid = api.mode.mailgun = api.mode.mandrill = 'ok';
});

function writeConfig(esp: Record<string, unknown> | null): string {
  const file = path.join(dir, 'mtarep.yml');
  fs.writeFileSync(
    file,
    stringify({
      redis_url: r.url,
      data_dir: './data',
      ...(esp
        ? {
            esp: {
              from: 'probes@mon.example.com',
              timeout_ms: 30000,
              providers: [
                { name: 'sendgrid', api_key: api.keys.sendgrid, api_url: api.apiUrl.sendgrid },
                { name: 'mailgun', api_key: api.keys.mailgun, domain: api.mailgunDomain, api_url: api.apiUrl.mailgun },
              ],
              ...esp,
            },
          }
        : {}),
    }),
  );
  return file;
}

describe('mtarep send', () => {
  it('sends, naming the provider and every attempt (exit 0)', async () => {
    const cfg = writeConfig({});
    const res = await runCli(['send', '--config', cfg, '--to', 'someone@example.net', '--subject', 'hello there']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^sent to someone@example\.net by sendgrid \(message id sgid\w+\)/);
    expect(res.stdout).toMatch(/1\. sendgrid .* sent +202 accepted/);
    expect(api.accepted.at(-1)).toMatchObject({ vendor: 'sendgrid', subject: 'hello there', to: 'someone@example.net' });
    expect(await r.redis.llen(k.espSends)).toBe(1);
  });

  it('a bad key on the first provider: sent by the next, exit 1, the key never printed', async () => {
    const cfg = writeConfig({
      providers: [
        { name: 'sendgrid', api_key: 'SG.wrong-key-secret', api_url: api.apiUrl.sendgrid },
        { name: 'mailgun', api_key: api.keys.mailgun, domain: api.mailgunDomain, api_url: api.apiUrl.mailgun },
      ],
    });
    const res = await runCli(['send', '-c', cfg, '--to', 'someone@example.net']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/sent to someone@example\.net by mailgun/);
    expect(res.stdout).toMatch(/1\. sendgrid .* auth +401 /);
    expect(res.stdout).toMatch(/warning: sendgrid has a configuration problem/);
    expect(res.stdout + res.stderr).not.toContain('SG.wrong-key-secret');
  });

  it('--json prints every attempt; every provider failing exits 4', async () => {
    api.mode.sendgrid = '500';
    api.mode.mailgun = '429';
    const res = await runCli(['send', '-c', writeConfig({}), '--to', 'someone@example.net', '--json']);
    expect(res.code).toBe(4);
    const out = JSON.parse(res.stdout) as { outcome: string; attempts: { provider: string; outcome: string; status: number }[] };
    expect(out.outcome).toBe('failed');
    expect(out.attempts.map((a) => [a.provider, a.outcome, a.status])).toEqual([
      ['sendgrid', 'unavailable', 500],
      ['mailgun', 'unavailable', 429],
    ]);
  });

  it('an invalid recipient is refused without trying the next provider (exit 5)', async () => {
    const res = await runCli(['send', '-c', writeConfig({}), '--to', 'invalid@example.net']);
    expect(res.code).toBe(5);
    expect(res.stdout).toMatch(/NOT sent to invalid@example\.net: sendgrid refused the message as invalid/);
    expect(res.stdout).toMatch(/Does not contain a valid address/);
    expect(res.stdout).not.toMatch(/mailgun/);
  });

  it('no --to is a usage error (exit 2)', async () => {
    const noTo = await runCli(['send', '-c', writeConfig({})]);
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toMatch(/send needs --to ADDRESS/);
  });

  it('a --to that is not an address is a usage error (exit 2)', async () => {
    const bad = await runCli(['send', '-c', writeConfig({}), '--to', 'not-an-address']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not "not-an-address"/);
  });

  it('no providers configured is a config error (exit 2)', async () => {
    const none = await runCli(['send', '-c', writeConfig(null), '--to', 'someone@example.net']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no ESP providers configured/);
  });
});
