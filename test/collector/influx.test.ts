/** `mtarep collect --output-format influx`: the run's figures as line protocol, from stored records. */
import { describe, expect, it } from 'vitest';
import { formatCollectInflux } from '../../collector/influx.js';
import { blocksRecord, hostRecord, makeConfig, runSummary, sampleData, tempDir } from '../web/fixtures.js';

/** A strict reader of the lines this module writes (tags sorted, no spaces in keys): measurement, tags, fields, timestamp. */
function parse(line: string) {
  const m = /^([^ ,]+)((?:,[^ ]+)?) (\S+) (\d+)$/.exec(line);
  if (!m) throw new Error(`not a line: ${line}`);
  const tags = Object.fromEntries(m[2]!.split(',').filter(Boolean).map((t) => t.split('=') as [string, string]));
  const fields = Object.fromEntries(m[3]!.split(',').map((f) => f.split('=') as [string, string]));
  return { measurement: m[1]!, tags, fields, ts: m[4]! };
}

describe('collect --output-format influx', () => {
  it('one line per run, check, IP, IP x zone, host maillog and provider; failures as *_error, never as clean values', () => {
    const config = makeConfig(tempDir(), { snds_key: 'k-123456789', ssh_key: '/nonexistent/key' });
    const d = sampleData();
    const summary = runSummary({ checks: { dnsbl: { ok: 8, error: 1, skipped: 0 } } });
    const lines = formatCollectInflux({
      config,
      summary,
      hosts: new Map(d.hosts.map((h) => [h.name, h])),
      ips: new Map(d.ips.map((r) => [r.ip, r])),
      blocks: new Map(d.blocks.map((b) => [b.host, b])),
    }).map(parse);
    const ts = String(BigInt(Date.parse(summary.finishedAt)) * 1_000_000n);
    expect(lines.every((l) => l.ts === ts)).toBe(true);
    const find = (measurement: string, tags: Record<string, string>) =>
      lines.filter((l) => l.measurement === measurement && Object.entries(tags).every(([k, v]) => l.tags[k] === v));

    expect(find('mtarep_run', {})[0]!.fields).toEqual({ duration_seconds: '12', hosts: '3i', ips: '4i', errors: '0i', unhealthy_zones: '0i', ok: '0i' });
    expect(find('mtarep_run', {})[0]!.tags).toEqual({ status: 'partial' });
    expect(find('mtarep_check', { check: 'dnsbl' })[0]!.fields).toEqual({ ok: '8i', error: '1i', skipped: '0i' });

    const ip1 = find('mtarep_ip', { host: 'mta1', ip: '192.0.2.10' })[0]!.fields;
    expect(ip1).toMatchObject({ checked: '1i', listings: '2i', dnsbl_errors: '1i', senderscore: '95', senderscore_error: '0i', snds_traps: '0i', snds_color: '"green"', rdns_match: '1i' });
    // mta2's SenderScore failed: no value, an error flag.
    const ip2 = find('mtarep_ip', { ip: '192.0.2.20' })[0]!.fields;
    expect(ip2['senderscore']).toBeUndefined();
    expect(ip2['senderscore_error']).toBe('1i');
    expect(find('mtarep_dnsbl', { ip: '192.0.2.10', zone: 'zen.spamhaus.org' })[0]!.fields).toEqual({ listed: '1i', error: '0i' });
    expect(find('mtarep_dnsbl', { ip: '192.0.2.10', zone: 'b.barracudacentral.org' })[0]!.fields).toEqual({ listed: '0i', error: '1i' });
    // Host that did not resolve: no IP lines; blocks per configured provider; a host never read: read_error 1.
    expect(find('mtarep_ip', { host: 'mta3' })).toHaveLength(0);
    expect(find('mtarep_provider_blocks', { host: 'mta2', provider: 'gmail' })[0]!.fields).toEqual({ blocks: '1i' });
    expect(find('mtarep_provider_blocks', { host: 'mta2', provider: 'hotmail' })[0]!.fields).toEqual({ blocks: '0i' });
    expect(find('mtarep_maillog', { host: 'mta2' })[0]!.fields).toEqual({ read_error: '0i' });
    expect(find('mtarep_maillog', { host: 'mta1' })[0]!.fields).toEqual({ read_error: '1i' });
  });

  it('escapes tag values (a provider name with space, comma and equals sign) and never writes NaN', () => {
    const config = makeConfig(tempDir(), {
      ssh_key: '/nonexistent/key',
      provider_block_strings: { 'odd provider,x=1': 'x' },
      mta_map: { mta1: 'mta1.example.com' },
    });
    const lines = formatCollectInflux({
      config,
      summary: runSummary(),
      hosts: new Map([['mta1', hostRecord('mta1', 'mta1.example.com', ['192.0.2.1'])]]),
      ips: new Map(),
      blocks: new Map([['mta1', blocksRecord('mta1', [])]]),
    });
    expect(lines).toContain(`mtarep_provider_blocks,host=mta1,provider=odd\\ provider\\,x\\=1 blocks=0i ${BigInt(Date.parse(runSummary().finishedAt)) * 1_000_000n}`);
    expect(lines.join('\n')).not.toMatch(/NaN|undefined/);
    // Never checked: checked=0 and every check an error.
    expect(lines.find((l) => l.startsWith('mtarep_ip,'))).toMatch(/ checked=0i,listings=0i,dnsbl_errors=3i,senderscore_error=1i,rdns_error=1i,fdns_error=1i,helo_error=1i /);
  });

  it('with probes: one mtarep_probe_round line and one mtarep_probe line per domain, never-probed domains with zero counts', () => {
    const config = makeConfig(tempDir(), {});
    const d = sampleData();
    const summary = runSummary({});
    const counts = { pending: 1, on_time: 5, late: 1, overdue: 0, lost: 2, bounced: 1, spam: 0, send_failed: 0 };
    const lines = formatCollectInflux({
      config,
      summary,
      hosts: new Map(d.hosts.map((h) => [h.name, h])),
      ips: new Map(d.ips.map((r) => [r.ip, r])),
      blocks: new Map(),
      probes: {
        domains: [
          { domain: 'acme.test', address: 'p@acme.test', customer: 'acme', customerName: 'Acme', maintenance: false, addedAt: summary.finishedAt },
          { domain: 'quiet.test', address: 'p@quiet.test', customer: 'q', customerName: 'Q', maintenance: true, addedAt: summary.finishedAt },
        ],
        summaries: new Map([
          ['acme.test', { domain: 'acme.test', counts, judged: 9, onTimePct: 55.6, failed: 3, avgRttS: 12.5, failing: true, reasons: ['3 failed > max_fail_number 0'], last: { token: 't', state: 'on_time' as const, sentAt: 1, returnedAt: 2, rttS: 8.25 }, judgedAt: 3 }],
        ]),
        round: { runId: 'r', startedAt: summary.startedAt, finishedAt: summary.finishedAt, status: 'partial', sent: 2, sendFailed: 1, matched: 4, bounced: 1, scanned: 40, failing: ['acme.test'], errors: ['x'], receiveError: 'login refused' },
      },
    }).map(parse);
    const round = lines.filter((l) => l.measurement === 'mtarep_probe_round');
    expect(round).toHaveLength(1);
    expect(round[0]!.tags).toEqual({ status: 'partial' });
    expect(round[0]!.fields).toEqual({ sent: '2i', send_failed: '1i', matched: '4i', bounced: '1i', failing: '1i', receive_error: '1i' });
    const acme = lines.find((l) => l.measurement === 'mtarep_probe' && l.tags['domain'] === 'acme.test')!;
    expect(acme.tags).toEqual({ domain: 'acme.test', customer: 'acme' });
    expect(acme.fields).toEqual({ failing: '1i', maintenance: '0i', last_rtt_s: '8.25', on_time_pct: '55.6', pending: '1i', on_time: '5i', late: '1i', overdue: '0i', lost: '2i', bounced: '1i', spam: '0i', send_failed: '0i' });
    const quiet = lines.find((l) => l.measurement === 'mtarep_probe' && l.tags['domain'] === 'quiet.test')!;
    expect(quiet.fields).toMatchObject({ failing: '0i', maintenance: '1i', on_time: '0i', lost: '0i' });
    expect(quiet.fields['last_rtt_s']).toBeUndefined();
  });
});
