/**
 * The probe send loop (collector/probes/send.ts) with the real SMTP sender, a real smtp-server and a
 * real Redis: with batches overlapping, every probe's record is in Redis before the server sees the
 * probe, every answer is saved, batches are counted in order, a refused probe is send-failed, and a
 * failure stops the loop with its error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { stringify } from 'yaml';
import { parseConfig } from '../../lib/config/load.js';
import { createSmtpSender } from '../../lib/mail/smtp.js';
import type { ProbeDomain } from '../../lib/probes/domains.js';
import { probeStore } from '../../lib/probes/store.js';
import { keys } from '../../lib/keys.js';
import { sendProbes } from '../../collector/probes/send.js';
import { freePort } from '../helpers/net.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';

let r: TestRedis;
let server: SMTPServer;
let port: number;
/** Per probe seen by the server: was its record already in Redis then? */
const seen: { token: string; recorded: boolean }[] = [];

beforeAll(async () => {
  r = await testRedis();
  const k = keys(r.prefix);
  server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(addr, _s, cb) {
      if (!addr.address.startsWith('refuse')) return cb();
      const e = new Error('5.1.1 mailbox unknown') as Error & { responseCode: number };
      e.responseCode = 550;
      cb(e);
    },
    onData(stream, _s, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const token = /^X-Mtarep-Probe: (\S+)/m.exec(Buffer.concat(chunks).toString())?.[1] ?? '';
        r.redis.hexists(k.probeRecords, token).then(
          (n) => {
            seen.push({ token, recorded: n === 1 });
            cb(null, `Ok: queued as ${token.slice(4, 10)}`);
          },
          (e: Error) => cb(e),
        );
      });
    },
  });
  port = await freePort();
  await new Promise<void>((res) => server.listen(port, '127.0.0.1', res));
});
afterAll(async () => {
  await new Promise<void>((res) => server.close(() => res()));
  await r?.close();
});

const config = () =>
  parseConfig(stringify({ redis_url: 'redis://127.0.0.1:1', probes: { from: 'probes@mon.test', smtp: { host: '127.0.0.1', port, pool: 3 }, mbox: '/tmp/none.mbox' } }), '/tmp/m.yml').probes!;

const domains = (n: number, refused: (i: number) => boolean = () => false): ProbeDomain[] =>
  Array.from({ length: n }, (_, i) => ({ domain: `d${i}.test`, address: `${refused(i) ? 'refuse' : 'probe'}@d${i}.test`, customer: 'c', customerName: 'C', maintenance: false, addedAt: '2026-06-01T00:00:00Z' }));

describe('sendProbes', () => {
  it('records before submission, answers after, batches counted in order, refusals send-failed', async () => {
    // The real store and sender, their calls logged: which tokens were saved (before / with answers) and submitted.
    const events: string[] = [];
    const realStore = probeStore(r.redis, r.prefix);
    const store: typeof realStore = {
      ...realStore,
      save: async (recs, bump) => {
        await realStore.save(recs, bump);
        events.push(`${recs.some((p) => p.submitMs !== undefined) ? 'answers' : 'records'} ${recs[0]!.token}`);
      },
    };
    const smtp = createSmtpSender({ host: '127.0.0.1', port, tls: 'none', pool: 3 });
    const sendMany = smtp.sendMany.bind(smtp);
    smtp.sendMany = (msgs, onResult) => {
      events.push(`submit ${msgs[0]!.headers!['X-Mtarep-Probe']}`);
      return sendMany(msgs, onResult);
    };
    const counts: number[] = [];
    const ds = domains(450, (i) => i % 100 === 7);
    try {
      const out = await sendProbes(store, smtp, config(), ds, () => Date.now(), (n) => void counts.push(n));
      expect(out).toMatchObject({ sent: 445, failed: 5 });
      expect(out.firstError).toMatch(/every recipient was refused: 550 5\.1\.1 mailbox unknown/);
    } finally {
      smtp.close();
    }
    expect(counts).toEqual([200, 400, 450]);
    // Per batch: its records saved, then submitted, then its answers saved; a batch's records may be
    // saved while the one before is being submitted.
    const firsts = [...new Set(events.map((e) => e.split(' ')[1]!))];
    expect(firsts).toHaveLength(3);
    for (const t of firsts) {
      const at = (what: string) => events.indexOf(`${what} ${t}`);
      expect(at('records')).toBeGreaterThanOrEqual(0);
      expect(at('records')).toBeLessThan(at('submit'));
      expect(at('submit')).toBeLessThan(at('answers'));
    }
    expect(events.filter((e) => e.startsWith('answers')).map((e) => e.split(' ')[1])).toEqual(firsts);
    expect(seen).toHaveLength(445);
    expect(seen.filter((s) => !s.recorded)).toEqual([]);
    const k = keys(r.prefix);
    const tokens = await r.redis.zrange(k.probeSent, 0, -1);
    expect(tokens).toHaveLength(450);
    const recs = (await store.get(tokens)).filter((p) => p !== undefined);
    expect(recs.filter((p) => p.sendError)).toHaveLength(5);
    expect(recs.filter((p) => p.sendError).every((p) => p.address.startsWith('refuse') && p.sendError!.stage === 'send')).toBe(true);
    const ok = recs.filter((p) => !p.sendError);
    expect(ok.every((p) => p.submittedAt !== undefined && p.smtp === `250 Ok: queued as ${p.token.slice(4, 10)}`)).toBe(true);
    // Indexes: per domain, and the open set holds exactly the probes that went.
    expect(await r.redis.zrange(k.probeSentByDomain('d7.test'), 0, -1)).toEqual([recs.find((p) => p.domain === 'd7.test')!.token]);
    expect(await r.redis.zcard(k.probeOpen)).toBe(445);
  });

  it('a failure after a batch stops the loop with its error', async () => {
    const store = probeStore(r.redis, r.prefix);
    const smtp = createSmtpSender({ host: '127.0.0.1', port, tls: 'none', pool: 2 });
    const counts: number[] = [];
    try {
      await expect(
        sendProbes(store, smtp, config(), domains(650), () => Date.now(), (n) => {
          counts.push(n);
          if (n === 400) throw new Error('killed after two batches');
        }),
      ).rejects.toThrow('killed after two batches');
    } finally {
      smtp.close();
    }
    expect(counts).toEqual([200, 400]);
  });
});
