// Redis going away in the middle of a collector run: the run fails and says that Redis is the cause
// (it said only "Connection is closed.").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsClient, type DnsClient } from '../../lib/net/dns/client.js';
import { runCollect } from '../../collector/run.js';
import { connectRedis, describeError } from '../../lib/redis.js';
import { captureLog } from '../helpers/capture-log.js';
import { configFrom } from '../helpers/collector-config.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startThrowawayRedis } from '../helpers/throwaway-redis.js';

let dnsServer: TestDnsServer;
beforeAll(async () => {
  dnsServer = await startDnsServer();
  dnsServer.set('mx.example.test', { A: ['127.1.0.30'] });
});
afterAll(() => dnsServer.close());

describe('collector with Redis gone mid-run', () => {
  it('fails the run with an error that names Redis', async () => {
    const srv = await startThrowawayRedis();
    const redis = await connectRedis({ url: srv.url }, { reconnect: false });
    redis.on('error', () => {});
    const config = configFrom({ mta_map: ['mx.example.test'], dns: { servers: [dnsServer.address], timeout_ms: 30_000, tries: 1 }, senderscore_zone: false, dns_match: false });
    // The run holds its lock and waits on its first lookup while Redis stops: the real resolver,
    // gated so the order is fixed.
    const real = createDnsClient(config);
    let reached!: () => void;
    const atLookup = new Promise<void>((r) => (reached = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const dns: DnsClient = {
      resolve4: async (n, o) => {
        reached();
        await gate;
        return real.resolve4(n, o);
      },
      resolve6: (n, o) => gate.then(() => real.resolve6(n, o)),
      resolveTxt: (n, o) => real.resolveTxt(n, o),
      reverse: (ip, o) => real.reverse(ip, o),
      probe4: (n, o) => real.probe4(n, o),
      probe4Cb: (n, o, d) => real.probe4Cb(n, o, d),
      probe4PartsCb: (l, t, o, d) => real.probe4PartsCb(l, t, o, d),
      stats: () => real.stats(),
      close: () => real.close(),
    };
    const log = captureLog();
    try {
      const run = runCollect({ config, redis, log, dns });
      await atLookup;
      await srv.stop();
      open();
      const summary = await run;
      expect(summary.status).toBe('failed');
      expect(summary.errors.join('\n')).toMatch(/Redis/);
      expect(log.text()).toMatch(/"msg":"collector run failed","error":"Redis: /);
    } finally {
      real.close();
      redis.disconnect();
    }
  });

  it('describeError names Redis only for the Redis client\'s own errors', () => {
    expect(describeError(new Error('Connection is closed.'))).toBe('Redis: Connection is closed.');
    expect(describeError(new Error('Command timed out'))).toBe('Redis: Command timed out');
    expect(describeError(Object.assign(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), { name: 'ReplyError' }))).toMatch(/^Redis: WRONGTYPE/);
    expect(describeError(new Error('cannot reach Redis at redis://x'))).toBe('cannot reach Redis at redis://x');
    expect(describeError(new Error('SSH handshake failed'))).toBe('SSH handshake failed');
  });
});
