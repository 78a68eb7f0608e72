/**
 * The probe domains (mxtrax Customer + MailDomain) in Redis: one HASH domain -> JSON record, so a
 * host of thousands of domains is one HGETALL. Shared by the CLI, the probe round and the dashboard
 * (which switches maintenance), hence in lib/.
 */
import type { Redis } from '../redis.js';
import { keys as keyBuilder } from '../keys.js';
import type { CsvDomainRow } from './csv.js';

export interface ProbeDomain {
  domain: string;
  /** The test mailbox that returns every probe. */
  address: string;
  /** Customer code (mxtrax Customer.codename). */
  customer: string;
  /** Customer's friendly name (mxtrax Customer.friendlyname). */
  customerName: string;
  maintenance: boolean;
  /** Who switched maintenance last and when (ISO 8601). */
  maintenanceBy?: string;
  maintenanceAt?: string;
  addedAt: string;
}

export class DomainError extends Error {
  override readonly name = 'DomainError';
}

export interface ImportOutcome {
  imported: string[];
  present: string[];
}

/*
 * KEYS[1] domains hash, KEYS[2] data version; ARGV[1] domain; ARGV[2] 'on'|'off'; ARGV[3] who;
 * ARGV[4] when (ISO). Returns the updated JSON, or false when the domain is unknown. Read-modify-write
 * in one step so two writers (CLI and dashboard) never lose each other's change; the data version
 * moves so cached pages (overview's failing count, Delivery page) show the change.
 */
const maintenanceScript = `
local v = redis.call('hget', KEYS[1], ARGV[1])
if not v then return false end
local d = cjson.decode(v)
d['maintenance'] = (ARGV[2] == 'on')
d['maintenanceBy'] = ARGV[3]
d['maintenanceAt'] = ARGV[4]
local out = cjson.encode(d)
redis.call('hset', KEYS[1], ARGV[1], out)
redis.call('incr', KEYS[2])
return out`;

export function domainStore(redis: Redis, prefix: string) {
  const k = keyBuilder(prefix);
  return {
    async list(): Promise<ProbeDomain[]> {
      const all = await redis.hgetall(k.probeDomains);
      return Object.values(all)
        .map((v) => JSON.parse(v) as ProbeDomain)
        .sort((a, b) => a.customer.localeCompare(b.customer) || a.domain.localeCompare(b.domain));
    },
    /** Every domain, unsorted (the dashboard sorts its own way). */
    async all(): Promise<ProbeDomain[]> {
      return Object.values(await redis.hgetall(k.probeDomains)).map((v) => JSON.parse(v) as ProbeDomain);
    },
    async get(domain: string): Promise<ProbeDomain | undefined> {
      const v = await redis.hget(k.probeDomains, domain.toLowerCase());
      return v ? (JSON.parse(v) as ProbeDomain) : undefined;
    },
    /** Some domains (one HMGET); unknown ones are absent from the map. */
    async getMany(names: readonly string[]): Promise<Map<string, ProbeDomain>> {
      const out = new Map<string, ProbeDomain>();
      if (names.length === 0) return out;
      const vals = await redis.hmget(k.probeDomains, ...names.map((n) => n.toLowerCase()));
      for (const v of vals) {
        if (!v) continue;
        const d = JSON.parse(v) as ProbeDomain;
        out.set(d.domain, d);
      }
      return out;
    },
    async count(): Promise<number> {
      return redis.hlen(k.probeDomains);
    },
    /** Import rows: a domain already stored (or earlier in the same rows) is `present`, never overwritten. */
    async import(rows: readonly CsvDomainRow[], now = new Date()): Promise<ImportOutcome> {
      const out: ImportOutcome = { imported: [], present: [] };
      const seen = new Set<string>();
      const fresh: CsvDomainRow[] = [];
      for (const r of rows) {
        if (seen.has(r.domain)) out.present.push(r.domain);
        else {
          seen.add(r.domain);
          fresh.push(r);
        }
      }
      for (let i = 0; i < fresh.length; i += 1000) {
        const chunk = fresh.slice(i, i + 1000);
        const p = redis.pipeline();
        for (const r of chunk) {
          const rec: ProbeDomain = {
            domain: r.domain,
            address: r.address,
            customer: r.customer,
            customerName: r.customerName,
            maintenance: false,
            addedAt: now.toISOString(),
          };
          p.hsetnx(k.probeDomains, r.domain, JSON.stringify(rec));
        }
        const res = (await p.exec()) ?? [];
        res.forEach(([err, v], j) => {
          if (err) throw err;
          (v === 1 ? out.imported : out.present).push(chunk[j]!.domain);
        });
      }
      return out;
    },
    async add(row: Omit<CsvDomainRow, 'line'>, now = new Date()): Promise<ProbeDomain> {
      const rec: ProbeDomain = { ...row, maintenance: false, addedAt: now.toISOString() };
      const ok = await redis.hsetnx(k.probeDomains, row.domain, JSON.stringify(rec));
      if (ok !== 1) throw new DomainError(`domain ${row.domain} is already present`);
      return rec;
    },
    /** Remove a domain with its summary and statistics; its probe records age out with retention. */
    async remove(domain: string): Promise<boolean> {
      const d = domain.toLowerCase();
      const res = await redis.multi().hdel(k.probeDomains, d).hdel(k.probeSummaries, d).del(k.probeStats(d)).exec();
      if (!res) throw new DomainError('remove: transaction aborted');
      for (const [err] of res) if (err) throw err;
      return res[0]![1] === 1;
    },
    async setMaintenance(domain: string, on: boolean, by: string, now = new Date()): Promise<ProbeDomain> {
      const v = (await redis.eval(maintenanceScript, 2, k.probeDomains, k.dataVersion, domain.toLowerCase(), on ? 'on' : 'off', by, now.toISOString())) as
        | string
        | null;
      if (!v) throw new DomainError(`unknown domain ${domain}`);
      return JSON.parse(v) as ProbeDomain;
    },
  };
}

export type DomainStore = ReturnType<typeof domainStore>;
