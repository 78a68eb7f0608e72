/** The help page: what each column and colour means, and where each is configured. Static text. */
import { Layout } from './layout.js';

/** The probe limits as configured ('7 min', '1 day', ...), or null when probes are off. */
export interface HelpProbeLimits {
  maxReturn: string;
  untilFail: string;
  window: string;
}

export function HelpPage(p: { user: string; trapsWarning: number; scoreWarning: number; criticalZones: string[]; staleAfter: string; probes: HelpProbeLimits | null }) {
  const back = p.probes?.maxReturn ?? <code>max_return_s</code>;
  const fail = p.probes?.untilFail ?? <code>max_sec_until_fail</code>;
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
        <h2>Delivery (round-trip probes)</h2>
        <p>
          {p.probes ? '' : <>Off until a <code>probes:</code> section is configured. </>}
          Each round sends every domain's test address a mail with a unique token; the address returns it and mtarep finds it in its own
          mailbox. A probe is <b>on time</b> when it came back within {back} (<code>max_return_s</code>), <b>late</b> when it came back
          after that, <b>pending</b> while it is out and younger than that, <b>overdue</b> when it is out and older, <b>lost</b> when it
          is out longer than {fail} (<code>max_sec_until_fail</code>), <b>bounced</b> when a bounce or an ESP webhook said so,{' '}
          <b>spam</b> when it came back into a Junk folder, and <b>send failed</b> when no server took it. A probe counts as out only up
          to the last complete read of the mailbox: a mailbox that cannot be read makes nothing overdue or lost.
        </p>
        <p>
          A domain is <b>failing</b> when the probes of the last {p.probes?.window ?? <code>window</code>} that are not pending pass a
          limit (<code>max_fail_number</code>, <code>max_fail_percentage</code> for not returned, bounced, spam and send failed;{' '}
          <code>max_late_number</code>, <code>max_late_percentage</code> for late); the row's tooltip names the limit. A domain in{' '}
          <b>maintenance</b> gets no probes and is never failing. The Round trip column is the last probe's; while that one is out, it is
          the newest that came back, greyed.
        </p>
        <h2>ESP</h2>
        <p>
          Test mails and probes (with <code>probes.via: esp</code>) go through <code>esp.providers</code> in order; the first that works is
          tried first by every process for <code>esp.first_working_cache_s</code>. A provider that is down, slow or refuses the key is
          skipped; a message refused as invalid is not sent elsewhere. The ESP page shows each provider's last success and failure, the one
          in use, and the events the webhooks (<code>/webhooks/sendgrid</code>, <code>/mailgun</code>, <code>/mandrill</code>, each
          checked by its vendor's signature) counted per day.
        </p>
        <h2>Events and alerts</h2>
        <p>
          Every issue that opens, changes, resolves or is acknowledged is a line on the Events page. Alerts (<code>alerts.email</code>,{' '}
          <code>alerts.webhooks</code>) are sent in digests of those changes; the page says when a notification is still retrying or
          failed.
        </p>
        <h2>API</h2>
        <p>
          <code>GET /api/&lt;fqdn&gt;</code> and <code>GET /api/hosts</code> (same login) return the original keys (<code>hostname</code>,{' '}
          <code>senderscore</code>, <code>sndscolor</code>, <code>sndstraps</code>, <code>brightmail</code>, <code>provblocks</code>,{' '}
          <code>listings</code>) plus every check's structured result under <code>ips</code>. <code>GET /api/probes</code>,{' '}
          <code>/api/probes/&lt;domain&gt;</code> and <code>GET /api/esp</code> give what the Delivery and ESP pages show.
        </p>
      </section>
    </Layout>
  );
}
