/**
 * Test data for the dashboard: a real Config from the schema, an htpasswd file, and records written
 * into real Redis through lib/keys.ts exactly as the collector stores them.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import md5crypt from 'apache-md5';
import { configSchema } from '../../lib/config/schema.js';
import { normalizeConfig, type Config } from '../../lib/config/normalize.js';
import { hashPassword } from '../../lib/htpasswd.js';
import { keys, type Keys } from '../../lib/keys.js';
import type { BlocksRecord, DnsblResult, HistoryPoint, HostRecord, IpRecord, RunSummary } from '../../lib/model.js';
import type { Redis } from '../../lib/redis.js';
import { freePort } from '../helpers/net.js';

export const NOW = new Date('2024-05-01T12:00:00Z');
let base = NOW;
/** Records are built relative to this clock (NOW by default; the browser test uses the real one). */
export function useClock(d: Date): void {
  base = d;
}
export const T = (minAgo: number) => new Date(base.getTime() - minAgo * 60_000).toISOString();

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-web-'));
}

export function makeConfig(dir: string, raw: Record<string, unknown> = {}, prefix = 'mtarep:'): Config {
  const parsed = configSchema.parse({
    redis_prefix: prefix,
    http_auth_file: path.join(dir, 'htpasswd'),
    rbls: ['zen.spamhaus.org', 'bl.spamcop.net', 'b.barracudacentral.org'],
    removal_links: { 'b.barracudacentral.org': 'https://barracudacentral.example/lookup?ip='},
    assistance_links: { spamhaus: 'https://wiki.example/runbooks/spamhaus', gmail: 'https://wiki.example/runbooks/gmail' },
    provider_block_strings: { gmail: 'gsmtp.*550', hotmail: 'S3150' },
    graph_domains: ['gmail.com', 'yahoo.com'],
    mta_map: { mta1: 'mta1.example.com', mta2: 'mta2.example.com', mta3: 'mta3.example.com' },
    ...raw,
  });
  const { config, problems } = normalizeConfig(parsed, path.join(dir, 'mtarep.yml'));
  if (problems.length) throw new Error(JSON.stringify(problems));
  return config;
}

export type HashKind = 'bcrypt' | 'apr1' | 'sha';

export function htpasswdLine(user: string, password: string, kind: HashKind): string {
  if (kind === 'bcrypt') return `${user}:${hashPassword(password)}`;
  if (kind === 'apr1') return `${user}:${md5crypt(password)}`;
  return `${user}:{SHA}${crypto.createHash('sha1').update(password).digest('base64')}`;
}

export function writeHtpasswd(config: Config, lines: string[]): void {
  fs.writeFileSync(config.httpAuthFile, lines.join('\n') + '\n');
}

/** A config for a server on a real socket: listening on a free port of this worker, with alice
 *  (password pw-alice, apr1) as the one user of its htpasswd file. */
export async function configOnFreePort(prefix: string): Promise<Config> {
  const config = makeConfig(tempDir(), { listen: `127.0.0.1:${await freePort()}` }, prefix);
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'apr1')]);
  return config;
}

export function basic(user: string, password: string): Record<string, string> {
  return { Authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') };
}

export function zone(z: string, state: DnsblResult['state'], extra: Partial<DnsblResult> = {}): DnsblResult {
  return {
    zone: z,
    kind: 'block',
    state,
    critical: /spamhaus|spamcop/.test(z),
    codes: state === 'listed' ? ['127.0.0.2'] : [],
    labels: state === 'listed' ? ['SBL'] : [],
    at: T(5),
    ...extra,
  };
}

/** Overrides of a record; `dnsbl` may be given as the zones alone (the check ran and asked them). */
export type RecordOverrides = Omit<Partial<IpRecord>, 'dnsbl'> & { dnsbl?: DnsblResult[] | IpRecord['dnsbl'] };

export function ipRecord(ip: string, host: string, fqdn: string, over: RecordOverrides = {}): IpRecord {
  const { dnsbl, ...extra } = over;
  return {
    ip,
    family: ip.includes(':') ? 6 : 4,
    host,
    fqdn,
    checkedAt: T(5),
    runId: 'run1',
    dnsbl: Array.isArray(dnsbl)
      ? { status: 'ok', at: T(5), value: { zones: dnsbl } }
      : (dnsbl ?? { status: 'ok', at: T(5), value: { zones: [zone('zen.spamhaus.org', 'not_listed'), zone('bl.spamcop.net', 'not_listed'), zone('b.barracudacentral.org', 'not_listed')] } }),
    senderscore: { status: 'ok', at: T(5), value: { score: 95 } },
    snds: {
      status: 'ok',
      at: T(5),
      value: {
        data: { color: 'green', traps: 0, complaintRate: '< 0.1%', rcptCommands: 10, dataCommands: 10, recipients: 10, periodStart: T(1440), periodEnd: T(60) },
        blocked: null,
      },
    },
    dnsMatch: {
      status: 'ok',
      at: T(5),
      value: {
        rdns: { state: 'match', found: [fqdn] },
        fdns: { state: 'match', found: [ip] },
        helo: { state: 'match', found: [fqdn] },
      },
    },
    ...extra,
  };
}

export function hostRecord(name: string, fqdn: string, ips: string[], extra: Partial<HostRecord> = {}): HostRecord {
  return { name, fqdn, ips, resolve: { status: 'ok', at: T(5) }, checkedAt: T(5), runId: 'run1', ...extra };
}

export function blocksRecord(host: string, blocks: BlocksRecord['blocks'], extra: Partial<BlocksRecord> = {}): BlocksRecord {
  return { host, status: 'ok', at: T(5), blocksAt: T(5), blocks, ...extra };
}

export function runSummary(extra: Partial<RunSummary> = {}): RunSummary {
  return {
    id: 'run1',
    startedAt: T(6),
    finishedAt: T(5),
    durationMs: 12_000,
    hosts: 3,
    ips: 4,
    status: 'partial',
    checks: {},
    unhealthyZones: [],
    errors: [],
    ...extra,
  };
}

export interface Dataset {
  hosts: HostRecord[];
  ips: IpRecord[];
  blocks: BlocksRecord[];
  lastRun?: RunSummary;
}

/** Store records the way the collector does and bump the data version. */
export async function store(redis: Redis, k: Keys, d: Dataset): Promise<void> {
  const m = redis.multi();
  for (const h of d.hosts) m.set(k.host(h.name), JSON.stringify(h));
  for (const r of d.ips) m.set(k.ip(r.ip), JSON.stringify(r));
  for (const b of d.blocks) m.set(k.blocks(b.host), JSON.stringify(b));
  if (d.lastRun) m.set(k.lastRun, JSON.stringify(d.lastRun));
  m.incr(k.dataVersion);
  await m.exec();
}

/** Two days of hourly history for `ip`, 49 points ending at `end` (ms): the score wobbles between 80
 *  and 86, the last ten hours have two listings, traps count 0 to 4, SNDS always green. */
export async function storeHourlyHistory(redis: Redis, k: Keys, ip: string, end: number): Promise<void> {
  for (let i = 48; i >= 0; i--) {
    const ts = end - i * 3_600_000;
    const point: HistoryPoint = { t: ts, score: 80 + (i % 7), listings: i < 10 ? 2 : 0, traps: i % 5, color: 'green' };
    await redis.zadd(k.history(ip), ts, JSON.stringify(point));
  }
}

export const XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>';

/** A small fleet with one of everything: a critical listing with an XSS TXT, a block with an XSS line,
 *  a host that failed to resolve, a failed check. */
export function sampleData(): Dataset {
  const k1 = ipRecord('192.0.2.10', 'mta1', 'mta1.example.com', {
    dnsbl: [
      zone('zen.spamhaus.org', 'listed', { txt: `Listed: ${XSS}`, removalLink: 'https://check.spamhaus.example/?ip=192.0.2.10' }),
      zone('bl.spamcop.net', 'listed', { labels: ['listed'] }),
      zone('b.barracudacentral.org', 'error', { reason: 'timeout after 3s' }),
    ],
  });
  const k1v6 = ipRecord('2001:db8::10', 'mta1', 'mta1.example.com');
  const k2 = ipRecord('192.0.2.20', 'mta2', 'mta2.example.com', {
    senderscore: { status: 'error', at: T(5), reason: 'timeout after 3s' },
    dnsbl: [zone('zen.spamhaus.org', 'not_listed'), zone('bl.spamcop.net', 'not_listed'), zone('b.barracudacentral.org', 'listed', { critical: false, labels: [] })],
  });
  return {
    hosts: [
      hostRecord('mta1', 'mta1.example.com', ['192.0.2.10', '2001:db8::10']),
      hostRecord('mta2', 'mta2.example.com', ['192.0.2.20']),
      hostRecord('mta3', 'mta3.example.com', [], { resolve: { status: 'error', reason: 'NXDOMAIN', at: T(5) } }),
    ],
    ips: [k1, k1v6, k2],
    blocks: [
      blocksRecord('mta2', [
        { provider: 'gmail', line: `May  1 11:50:00 mta2 postfix/smtp[1]: 550-5.7.1 ${XSS} gsmtp`, at: T(10), ip: '192.0.2.20', recipientDomain: 'gmail.com' },
      ]),
    ],
    lastRun: runSummary(),
  };
}

export { keys };
