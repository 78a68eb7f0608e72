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

/** The fields of a CSV row a stored domain keeps, with the CSV column each comes from. */
const comparedFields = [
  ['customerName', 'Customer.friendlyname'],
  ['customer', 'Customer.codename'],
  ['address', 'MailDomain.testuser'],
] as const;

export interface FieldDifference {
  /** The CSV column: Customer.friendlyname, Customer.codename or MailDomain.testuser. */
  field: string;
  /** What is kept (the stored entry, or the earlier row). */
  kept: string;
  /** What this line gives. */
  given: string;
}

export interface ImportConflict {
  line: number;
  domain: string;
  /** What the line disagrees with: the stored entry, or an earlier line of the same rows. */
  against: 'stored' | { line: number };
  fields: FieldDifference[];
}

export interface ImportOutcome {
  imported: string[];
  /** Rows equal to the stored entry or to an earlier row for their domain: nothing to do. */
  present: string[];
  /** Rows that repeat an earlier row of the same import unchanged (also counted in `present`). */
  repeats: { line: number; domain: string; of: number }[];
  /** Rows for a domain already stored (or given earlier in the rows) with other fields: not applied. */
  conflicts: ImportConflict[];
}

function differences(kept: Pick<ProbeDomain, 'customerName' | 'customer' | 'address'>, row: CsvDomainRow): FieldDifference[] {
  return comparedFields.filter(([k]) => kept[k] !== row[k]).map(([k, field]) => ({ field, kept: kept[k], given: row[k] }));
}

/*
 * KEYS[1] domains hash; ARGV[1] domain; ARGV[2] record JSON. Stores the record unless the domain is
 * there; returns false when stored, else the stored JSON (to compare, read in the same step).
 */
const insertScript = `
if redis.call('hsetnx', KEYS[1], ARGV[1], ARGV[2]) == 1 then return false end
return redis.call('hget', KEYS[1], ARGV[1])`;

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
    /**
     * Import rows. A domain already stored is never overwritten: a row equal to the stored entry is
     * `present`, one with other fields a conflict naming them. Within the rows the first one for a
     * domain is imported; a later one is compared with what is kept (that first row, or the stored
     * entry when the first row was not applied): a repeat when equal, else a conflict.
     */
    async import(rows: readonly CsvDomainRow[], now = new Date()): Promise<ImportOutcome> {
      const out: ImportOutcome = { imported: [], present: [], repeats: [], conflicts: [] };
      const fresh: CsvDomainRow[] = [];
      const later: CsvDomainRow[] = [];
      const seen = new Set<string>();
      for (const r of rows) {
        if (seen.has(r.domain)) later.push(r);
        else {
          seen.add(r.domain);
          fresh.push(r);
        }
      }
      /** Per domain, what stands after the first rows: a row of this import (by line) or the stored entry. */
      const kept = new Map<string, { fields: Pick<ProbeDomain, 'customerName' | 'customer' | 'address'>; from: 'stored' | { line: number } }>();
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
          p.eval(insertScript, 1, k.probeDomains, r.domain, JSON.stringify(rec));
        }
        const res = (await p.exec()) ?? [];
        res.forEach(([err, v], j) => {
          if (err) throw err;
          const r = chunk[j]!;
          if (v === null || v === undefined) {
            out.imported.push(r.domain);
            kept.set(r.domain, { fields: r, from: { line: r.line } });
            return;
          }
          const stored = JSON.parse(String(v)) as ProbeDomain;
          const fields = differences(stored, r);
          if (fields.length === 0) {
            out.present.push(r.domain);
            kept.set(r.domain, { fields: r, from: { line: r.line } });
          } else {
            out.conflicts.push({ line: r.line, domain: r.domain, against: 'stored', fields });
            kept.set(r.domain, { fields: stored, from: 'stored' });
          }
        });
      }
      for (const r of later) {
        const keep = kept.get(r.domain)!;
        const fields = differences(keep.fields, r);
        if (fields.length > 0) out.conflicts.push({ line: r.line, domain: r.domain, against: keep.from, fields });
        else {
          out.present.push(r.domain);
          if (keep.from !== 'stored') out.repeats.push({ line: r.line, domain: r.domain, of: keep.from.line });
        }
      }
      out.conflicts.sort((a, b) => a.line - b.line);
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
