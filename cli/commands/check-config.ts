/** `mtarep check-config`: the config is valid; here is what mtarep would monitor. */
import fs from 'node:fs';
import type { Config } from '../../lib/config/normalize.js';
import { describeTarget } from '../../lib/redis-target.js';
import { badLinesText, checkableHash, scanHtpasswd } from '../../lib/htpasswd.js';
import { fileErrorText } from '../../lib/files.js';
import { exitCodes } from '../exit-codes.js';
import type { ConfiguredContext } from '../commands.js';
import { checkPlugins } from '../../lib/checks/index.js';
import { counted } from '../../lib/plural.js';

export function describeConfig(config: Config): string {
  const out: string[] = [];
  const line = (s = '') => out.push(s);
  line(`config: ${config.file} is valid`);
  line(`redis: ${config.redis.url ? describeTarget({ url: config.redis.url }) : `embedded redis-server, data in ${config.dataDir}/redis`} (prefix "${config.redis.prefix}")`);
  let users = 'missing: created with user admin at first start';
  const warnings = [...config.warnings];
  if (fs.existsSync(config.httpAuthFile)) {
    try {
      const scan = scanHtpasswd(fs.readFileSync(config.httpAuthFile, 'utf8'));
      // Only the users who can log in: a malformed line is no user.
      users = counted(scan.entries.filter((e) => checkableHash(e.hash)).length, 'user');
      if (scan.badLines.length > 0) warnings.push(`http_auth_file: ${badLinesText(scan.badLines)}`);
    } catch (e) {
      users = `unreadable: ${fileErrorText(e)}`;
    }
  }
  line(`dashboard: http://${config.listen.host}:${config.listen.port}/ (users: ${config.httpAuthFile}, ${users})`);
  line(`collector: every ${config.collectInterval} s under \`mtarep start\``);
  line();
  line(`hosts (${config.hosts.length}):`);
  if (config.hosts.length === 0) line('  none yet: add them to mta_map');
  for (const h of config.hosts) {
    const ips = h.ips ? h.ips.join(', ') + ' (from config)' : 'A/AAAA of the fqdn at each run';
    const ssh = h.ssh ? `ssh ${h.sshUser ?? config.ssh.user ?? '(ssh_user)'}@${h.sshHost}:${h.sshPort} ${h.maillogPath}` : 'maillog not read (no ssh_key)';
    line(`  ${h.name}  fqdn=${h.fqdn}  ips=${ips}`);
    line(`      ${ssh}; counters ${h.countersId}:<YYYYMMDD>:<type>${h.timezone ? `; time zone ${h.timezone}` : ''}`);
  }
  line();
  for (const p of checkPlugins) line(p.describe(config));
  line();
  line(`DNSBL zones (${config.zones.length}), resolvers: ${config.dns.servers.join(', ') || 'system default'}, timeout ${config.dns.timeoutMs} ms x ${config.dns.tries}, ${config.dns.concurrency} in flight:`);
  if (config.zones.length === 0) line('  none: add them to rbls');
  for (const z of config.zones) {
    const tags = [
      z.kind,
      z.ipv6 ? 'ipv4+ipv6' : 'ipv4',
      z.critical ? 'critical' : '',
      z.hasDqsKey ? 'Spamhaus DQS (key set)' : '',
      z.domainOnly ? 'NOT QUERIED: domain list' : '',
      z.rateLimit ? `${z.rateLimit} q/s` : '',
      z.servers ? `resolvers ${z.servers.join(', ')}` : '',
      z.selfTest ? '' : 'no self-test',
    ].filter(Boolean);
    line(`  ${z.zone}  ${tags.join(', ')}  (${counted(z.codes.length, 'return code')})`);
  }
  line();
  line(`provider blocks: ${counted(config.providerBlocks.length, 'pattern')}${config.providerBlocks.length ? ` (${config.providerBlocks.map((p) => p.provider).join(', ')})` : ''}, window ${config.providerBlockWindowSec} s`);
  line(`graph domains: ${config.graphDomains.join(', ') || 'none'}`);
  if (warnings.length > 0) {
    line();
    for (const w of warnings) line(`warning: ${w}`);
  }
  return out.join('\n') + '\n';
}

export function cmdCheckConfig(config: Config, out: NodeJS.WritableStream): number {
  out.write(describeConfig(config));
  return exitCodes.ok;
}

export async function run({ config }: ConfiguredContext): Promise<number> {
  return cmdCheckConfig(config, process.stdout);
}
