/**
 * `mtarep domains import|list|add|remove|maintenance`: the probe domains (mxtrax's customers and mail
 * domains). Import prints imported / already present / conflicting / invalid, each conflicting line
 * with the fields that differ and each invalid line with its reason, and checks that they add up to
 * the file's data lines.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { ConfiguredContext } from '../commands.js';
import { exitCodes } from '../exit-codes.js';
import { openRedis } from '../runtime.js';
import { withSession } from '../session.js';
import { checkEntry, parseDomainsCsv } from '../../lib/probes/csv.js';
import { domainStore, DomainError, type DomainStore } from '../../lib/probes/domains.js';
import { fileErrorText } from '../../lib/files.js';
import { counted } from '../../lib/plural.js';

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');
const err = (s: string) => process.stderr.write(`mtarep: ${s}\n`);

export async function run(ctx: ConfiguredContext): Promise<number> {
  const [sub, ...args] = ctx.positionals;
  const usage = (msg: string) => {
    err(`${msg} (see mtarep domains --help)`);
    return exitCodes.usage;
  };
  const subs: Record<string, { n: [number, number]; use: string }> = {
    import: { n: [1, 1], use: 'domains import FILE.csv' },
    list: { n: [0, 0], use: 'domains list [--json]' },
    add: { n: [1, 1], use: 'domains add <testuser@domain> --customer <code> [--name <friendly>]' },
    remove: { n: [1, 1], use: 'domains remove <domain>' },
    maintenance: { n: [2, 2], use: 'domains maintenance <domain> on|off' },
  };
  const spec = sub === undefined ? undefined : subs[sub];
  if (!spec) return usage(sub === undefined ? 'domains needs a subcommand: import, list, add, remove or maintenance' : `unknown subcommand "${sub}"`);
  if (args.length < spec.n[0] || args.length > spec.n[1]) return usage(`usage: mtarep ${spec.use}`);
  if (sub === 'maintenance' && args[1] !== 'on' && args[1] !== 'off') return usage('maintenance takes on or off');
  if (sub === 'add' && typeof ctx.values.customer !== 'string') return usage('add needs --customer <code>');
  // add takes the test mailbox's whole address (its domain is the probe domain), never a bare domain.
  if (sub === 'add' && !args[0]!.includes('@')) return usage(`add needs the test address testuser@domain, not "${args[0]}"`);
  let csvText: string | undefined;
  if (sub === 'import') {
    try {
      csvText = fs.readFileSync(args[0]!, 'utf8');
    } catch (e) {
      err(`cannot read ${args[0]}: ${fileErrorText(e)}`);
      return exitCodes.usage;
    }
  }
  return withSession(ctx.config, { quiet: true }, async (log) => {
    const handle = await openRedis(ctx.config, log, { reconnect: false });
    try {
      const store = domainStore(handle.redis, ctx.config.redis.prefix);
      switch (sub) {
        case 'import':
          return await importCsv(store, args[0]!, csvText!);
        case 'list':
          return await list(store, ctx.values.json === true);
        case 'add': {
          const c = checkEntry(String(ctx.values.name ?? ''), String(ctx.values.customer), args[0]!, args[0]!.split('@').pop() ?? '');
          if (!c.ok) {
            err(`cannot add ${args[0]}: ${c.reason}`);
            return exitCodes.usage;
          }
          const rec = await store.add({
            address: c.address,
            domain: c.domain,
            customer: String(ctx.values.customer).trim(),
            customerName: String(ctx.values.name ?? ctx.values.customer).trim(),
          });
          out(`added ${rec.domain} (${rec.address}, customer ${rec.customer})`);
          return exitCodes.ok;
        }
        case 'remove': {
          const ok = await store.remove(args[0]!);
          if (!ok) {
            err(`unknown domain ${args[0]}`);
            return exitCodes.usage;
          }
          out(`removed ${args[0]!.toLowerCase()}`);
          return exitCodes.ok;
        }
        case 'maintenance': {
          const who = `${os.userInfo().username} (cli)`;
          const rec = await store.setMaintenance(args[0]!, args[1] === 'on', who);
          out(`${rec.domain}: maintenance ${rec.maintenance ? 'on' : 'off'}`);
          return exitCodes.ok;
        }
      }
      return exitCodes.usage;
    } catch (e) {
      if (e instanceof DomainError) {
        err(e.message);
        return exitCodes.usage;
      }
      throw e;
    } finally {
      await handle.close();
    }
  });
}

async function importCsv(store: DomainStore, file: string, text: string): Promise<number> {
  const parsed = parseDomainsCsv(text);
  const res = await store.import(parsed.rows);
  const imported = res.imported.length;
  const present = res.present.length;
  const conflicting = res.conflicts.length;
  const invalid = parsed.invalid.length;
  out(`${file}: ${counted(parsed.dataLines, 'data line')}${parsed.header ? ' (after the header row)' : ''}`);
  out(`imported:        ${imported}`);
  out(`already present: ${present}`);
  for (const r of res.repeats) out(`  line ${r.line}: ${r.domain} repeats line ${r.of}`);
  out(`conflicting:     ${conflicting}${conflicting > 0 ? ' (not imported: import never changes a stored domain)' : ''}`);
  for (const c of res.conflicts) {
    const against = c.against === 'stored' ? 'the stored entry' : `line ${c.against.line}`;
    const kept = c.against === 'stored' ? 'stored' : `line ${c.against.line}`;
    out(`  line ${c.line}: ${c.domain} differs from ${against}: ${c.fields.map((f) => `${f.field} ${JSON.stringify(f.given)} (${kept}: ${JSON.stringify(f.kept)})`).join(', ')}`);
  }
  out(`invalid:         ${invalid}`);
  for (const i of parsed.invalid) out(`  line ${i.line}: ${i.reason}`);
  const sum = imported + present + conflicting + invalid;
  if (sum !== parsed.dataLines) {
    err(`the counts do not add up: ${imported} + ${present} + ${conflicting} + ${invalid} != ${parsed.dataLines} data lines`);
    return exitCodes.fatal;
  }
  out(`check: ${imported} + ${present} + ${conflicting} + ${invalid} = ${parsed.dataLines} data lines`);
  if (res.conflicts.some((c) => c.against === 'stored')) {
    out('to replace a stored domain: mtarep domains remove <domain> (its probe statistics go with it), then import again');
  }
  return invalid > 0 || conflicting > 0 ? exitCodes.partial : exitCodes.ok;
}

async function list(store: DomainStore, json: boolean): Promise<number> {
  const all = await store.list();
  if (json) {
    out(JSON.stringify({ domains: all }, null, 2));
    return exitCodes.ok;
  }
  if (all.length === 0) {
    out('no probe domains (add them with mtarep domains import FILE.csv or mtarep domains add)');
    return exitCodes.ok;
  }
  const rows = all.map((d) => [d.customer, d.domain, d.address, d.maintenance ? `on (${d.maintenanceBy ?? '?'}, ${d.maintenanceAt ?? '?'})` : 'off', d.customerName]);
  const head = ['CUSTOMER', 'DOMAIN', 'TEST ADDRESS', 'MAINTENANCE', 'NAME'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i]!))).join('  ');
  out(fmt(head));
  for (const r of rows) out(fmt(r));
  out(`${counted(all.length, 'domain')}, ${all.filter((d) => d.maintenance).length} in maintenance`);
  return exitCodes.ok;
}
