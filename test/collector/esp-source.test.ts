/**
 * The ESP source (issue 12: "an ESP provider failing over" alerts): the ESP gateway sends through the
 * vendor APIs played on loopback (test/helpers/esp-api.ts); `mtarep collect --only esp` turns the
 * providers' state into `esp_failover` issues, opened, changed and resolved in the real events stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCollect } from '../../collector/run.js';
import { espIssues } from '../../collector/sources/esp.js';
import { EspGateway } from '../../lib/esp/gateway.js';
import { readEvents } from '../../lib/issue-store.js';
import { keys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import { configFrom } from '../helpers/collector-config.js';
import { startEspApi, type EspApiServer } from '../helpers/esp-api.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';

let api: EspApiServer;
let r: TestRedis;
const k = keys('mtarep:');
let clock = Date.parse('2026-11-03T10:00:00Z');
const now = () => new Date(clock);

beforeAll(async () => {
  [api, r] = await Promise.all([startEspApi(), testRedis()]);
});
afterAll(async () => {
  await Promise.all([api?.close(), r?.close()]);
});

describe('esp source', () => {
  it('the newest attempt of each provider decides: failing with another working is a warning, none working or a refused key a problem', () => {
    const s = (name: 'sendgrid' | 'mailgun', lastOutcome?: string) => ({ name, sent: 0, failed: 0, ...(lastOutcome ? { lastOutcome, lastFailureAnswer: 'HTTP 500' } : {}) });
    expect(espIssues([s('sendgrid'), s('mailgun')])).toEqual([]);
    expect(espIssues([s('sendgrid', 'unavailable'), s('mailgun', 'sent')])).toEqual([
      { id: 'esp:sendgrid', kind: 'esp_failover', severity: 'warning', provider: 'sendgrid', state: 'failing: the next provider sends', detail: 'HTTP 500' },
    ]);
    expect(espIssues([s('sendgrid', 'unavailable'), s('mailgun', 'unavailable')]).map((i) => [i.id, i.severity])).toEqual([
      ['esp:sendgrid', 'problem'],
      ['esp:mailgun', 'problem'],
    ]);
    expect(espIssues([s('sendgrid', 'auth'), s('mailgun', 'invalid')]).map((i) => [i.severity, i.state])).toEqual([['problem', 'failing: key refused']]);
  });

  it('a provider failing over opens an esp_failover issue, its recovery resolves it', async () => {
    const config = configFrom({
      esp: {
        from: 'probes@mon.example.com',
        timeout_ms: 30000,
        first_working_cache_s: 0,
        providers: [
          { name: 'sendgrid', api_key: api.keys.sendgrid, api_url: api.apiUrl.sendgrid },
          { name: 'mailgun', api_key: api.keys.mailgun, domain: api.mailgunDomain, api_url: api.apiUrl.mailgun },
        ],
      },
    });
    const collect = async () => {
      clock += 15 * 60_000;
      await runCollect({ config, redis: r.redis, log: silentLogger, now, only: ['esp'] });
    };
    const send = () => new EspGateway({ esp: config.esp!, redis: r.redis, k }).send({ to: 'someone@example.net', subject: 's', text: 't' });
    const issueEvents = async () => (await readEvents(r.redis, k, { source: 'esp', type: ['opened', 'changed', 'resolved'] })).map((e) => [e.type, e.issue!.id, e.issue!.severity]);

    await collect();
    expect(await issueEvents()).toEqual([]);

    api.mode.sendgrid = '500';
    expect((await send()).provider).toBe('mailgun');
    await collect();
    expect(await issueEvents()).toEqual([['opened', 'esp:sendgrid', 'warning']]);
    const opened = (await readEvents(r.redis, k, { source: 'esp', type: 'opened' }))[0]!.issue!;
    expect(opened).toMatchObject({ kind: 'esp_failover', provider: 'sendgrid', state: 'failing: the next provider sends' });
    expect(opened.detail).toMatch(/500/);
    expect(JSON.stringify(opened)).not.toContain(api.keys.sendgrid);

    api.mode.sendgrid = 'ok';
    expect((await send()).provider).toBe('sendgrid');
    await collect();
    expect(await issueEvents()).toEqual([
      ['opened', 'esp:sendgrid', 'warning'],
      ['resolved', 'esp:sendgrid', 'warning'],
    ]);
  });
});
