/**
 * What a first-time user sees instead of an empty table: what is configured, what is missing, and
 * when the first collector run happens.
 */
import type { Config } from '../lib/config/normalize.js';
import { durationText } from './format.js';
import { Layout } from './layout.js';
import { senderscoreSettings } from '../lib/checks/senderscore.js';
import { sndsSettings } from '../lib/checks/snds.js';

export function FirstTimePage(p: { config: Config; user: string }) {
  const c = p.config;
  const item = (ok: boolean, text: string, fix: string) => (
    <li class={ok ? 'done' : 'todo'}>
      <span class="mark">{ok ? '✓' : '•'}</span> {text}
      {!ok && <span class="muted"> — {fix}</span>}
    </li>
  );
  return (
    <Layout title="Welcome" user={p.user} active="overview">
      <section class="welcome">
        <h1>No data yet</h1>
        {c.hosts.length === 0 ? (
          <p>
            mtarep has no mail servers to watch. Add them under <code>mta_map</code> in <code>{c.file}</code>, then restart{' '}
            <code>mtarep start</code>.
          </p>
        ) : (
          <p>
            {c.hosts.length} mail server(s) are configured, but the collector has not stored a result yet. With <code>mtarep start</code>{' '}
            the first run starts at start-up and then every {durationText(c.collectInterval)} (<code>collect_interval</code>); with{' '}
            <code>mtarep serve</code> run <code>mtarep collect</code> yourself (for example from cron). Reload this page when it has
            finished.
          </p>
        )}
        <h2>Configuration ({c.file})</h2>
        <ul class="checklist">
          {item(c.hosts.length > 0, `${c.hosts.length} host(s) in mta_map`, 'list your MTAs by public FQDN')}
          {item(c.zones.length > 0, `${c.zones.length} DNSBL zone(s) in rbls`, 'e.g. zen.spamhaus.org, bl.spamcop.net')}
          {item(senderscoreSettings(c).zone !== null, 'SenderScore lookups', 'senderscore_zone is false')}
          {item(sndsSettings(c).key !== undefined, 'Microsoft SNDS key (snds_key)', 'request automated access at SNDS and set snds_key')}
          {item(c.ssh.keyFile !== undefined, 'SSH key for reading maillogs (ssh_key)', 'set ssh_key and ssh_user to find provider blocks')}
          {item(c.providerBlocks.length > 0, `${c.providerBlocks.length} provider block pattern(s)`, 'provider_block_strings')}
          {item(c.graphDomains.length > 0, `${c.graphDomains.length} graph domain(s)`, 'graph_domains, e.g. gmail.com')}
          {item(c.dns.servers.length > 0, 'own DNS resolver (dns.servers)', 'public resolvers are refused by Spamhaus: use a local resolver')}
        </ul>
        <p>
          See <a href="/help">Help</a> for what each column means.
        </p>
      </section>
    </Layout>
  );
}
