/** The help page: what each column and colour means, and where each is configured. Static text. */
import { Layout } from './layout.js';

export function HelpPage(p: { user: string; trapsWarning: number; scoreWarning: number; criticalZones: string[]; staleAfter: string }) {
  return (
    <Layout title="Help" user={p.user} active="help">
      <section class="prose">
        <h1>Help</h1>
        <h2>Row colours</h2>
        <table class="grid help">
          <tbody>
            <tr class="sev-error">
              <td class="sev"><span class="dot"></span></td>
              <td>
                <b>Problem</b>: listed on a critical zone (zones whose name contains {p.criticalZones.join(', ')}; <code>severity.critical_zones</code>{' '}
                or per-zone <code>critical</code>), any provider block, a DNS mismatch, blocked in SNDS, or a bad HTTP reputation.
              </td>
            </tr>
            <tr class="sev-warning">
              <td class="sev"><span class="dot"></span></td>
              <td>
                <b>Warning</b>: SNDS filter yellow or red, SNDS trap hits ≥ {p.trapsWarning} (<code>severity.snds_traps_warning</code>),
                SenderScore below {p.scoreWarning} (<code>severity.senderscore_warning</code>), or a listing on a non-critical zone.
              </td>
            </tr>
            <tr class="sev-unknown">
              <td class="sev"><span class="dot"></span></td>
              <td>
                <b>Cannot tell</b>: a check failed (timeout, SERVFAIL, SSH error…), a zone failed its self-test or gave an answer that is
                not a listing code, the data is older than {p.staleAfter}, or the host has not been checked yet. Never read this as clean.
              </td>
            </tr>
            <tr class="sev-ok">
              <td class="sev"><span class="dot"></span></td>
              <td>
                <b>Clean</b>: every check answered and found nothing.
              </td>
            </tr>
          </tbody>
        </table>
        <h2>Columns</h2>
        <dl class="facts wide">
          <dt>Host / IP</dt>
          <dd>One row per address of each <code>mta_map</code> entry (IPv4 and IPv6). A host whose name did not resolve shows the error.</dd>
          <dt>DNS match</dt>
          <dd>
            rDNS: the PTR of the IP names the FQDN; fDNS: the FQDN resolves to the IP; HELO: the SMTP greeting on port{' '}
            <code>smtp_banner_port</code> names the FQDN. Green matches, red mismatches, grey could not be checked. Off with{' '}
            <code>dns_match: false</code>.
          </dd>
          <dt>SenderScore</dt>
          <dd>Validity's 0-100 score from <code>senderscore_zone</code>; "no score" when it has none for the IP.</dd>
          <dt>SNDS / Traps</dt>
          <dd>Microsoft SNDS filter colour and trap hits of the newest day (needs <code>snds_key</code>); "no data" when SNDS has no row.</dd>
          <dt>HTTP reputation</dt>
          <dd>Shown when <code>http_reputation</code> is configured.</dd>
          <dt>Provider blocks</dt>
          <dd>
            The newest maillog line matching <code>provider_block_strings</code> within <code>provider_block_window</code> seconds, read
            over SSH (<code>ssh_key</code>, <code>ssh_user</code>, <code>maillog_path</code>). Click a block for the rejection line,
            removal link (<code>removal_links</code>) and runbook (<code>assistance_links</code>).
          </dd>
          <dt>DNSBL listings</dt>
          <dd>
            Zones from <code>rbls</code> that list the IP, with the answer code's meaning and TXT reason in the details. "? n" counts zones
            that could not be checked (hover for the reasons).
          </dd>
          <dt>Checked</dt>
          <dd>When the collector last checked the IP (every <code>collect_interval</code> seconds).</dd>
        </dl>
        <h2>Acknowledging</h2>
        <p>
          Open a listing or block and press Acknowledge: it records your user name and the time. The badge then turns amber with a check
          mark. An acknowledgement disappears by itself when the issue goes away.
        </p>
        <h2>Sorting and filtering</h2>
        <p>Click a column heading to sort (click again to reverse); the sort stays in the address, so a bookmark keeps it. The filter box hides rows that do not contain its text.</p>
        <h2>Graphs</h2>
        <p>
          Sent / bounced / deferred / expired / fbl per <code>graph_domains</code> for a day, summed over every identifier of the{' '}
          <code>&lt;id&gt;:&lt;YYYYMMDD&gt;:&lt;type&gt;</code> counters (the original mtarep's format). Click a legend item to hide a series.
        </p>
        <h2>API</h2>
        <p>
          <code>GET /api/&lt;fqdn&gt;</code> and <code>GET /api/hosts</code> (same login) return the original keys (<code>hostname</code>,{' '}
          <code>senderscore</code>, <code>sndscolor</code>, <code>sndstraps</code>, <code>brightmail</code>, <code>provblocks</code>,{' '}
          <code>listings</code>) plus every check's structured result under <code>ips</code>.
        </p>
      </section>
    </Layout>
  );
}
