/**
 * `npm run demo`: mtarep with data, without real MTAs. Starts loopback peers (a DNS server serving
 * DNSBL zones, SenderScore and PTRs; SMTP greeters on 127.1.0.x; an SNDS HTTP server; an SSH server
 * serving a postfix maillog; an SMTP relay as the ESP gateway's provider; the customers' mail servers
 * for round-trip probes), runs five real probe rounds into an embedded Redis through the probes
 * source, as the scheduler does (on a clock moved 5 minutes a round, so that the Delivery page shows
 * domains on time, late and lost, and Events the failing ones), then one real collection of the other
 * sources, serves the dashboard, sends one test mail through the ESP gateway and posts a signed
 * SendGrid webhook batch to it (the ESP page and the esp counters). Everything stays on this
 * machine; nothing is queried on the internet.
 *
 *   npm run demo            dashboard on http://127.0.0.1:8080/  (user demo, password demo-password)
 *   DEMO_PORT=9000 npm run demo
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../lib/config/load.js';
import { upsertUser } from '../lib/htpasswd.js';
import { loggerFor, openRedis } from '../cli/runtime.js';
import { runCollect, formatSummaryLine } from '../collector/run.js';
import { sourceNames } from '../collector/sources/index.js';
import { startServer } from '../web/server.js';
import { startDnsServer } from '../test/helpers/dns-server.js';
import { startHttpServer } from '../test/helpers/http-server.js';
import { startSmtpGreeting, type SmtpGreeting } from '../test/helpers/smtp-greeting.js';
import { startSshServer } from '../test/helpers/ssh-server.js';
import { startSmtpSink } from '../test/helpers/smtp-sink.js';
import { sendgridHeaders, sendgridSigner } from '../test/helpers/esp-webhooks.js';
import { EspGateway } from '../lib/esp/gateway.js';
import { keys } from '../lib/keys.js';
import { SMTPServer } from 'smtp-server';
import { domainStore } from '../lib/probes/domains.js';
import { probeStore } from '../lib/probes/store.js';
import { formatMboxMessage } from '../lib/mail/mbox.js';
import { freePort } from '../test/helpers/net.js';

const port = Number(process.env.DEMO_PORT ?? 8080);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-demo-'));

const mtas = [
  { name: 'mta1', fqdn: 'mta1.example.com', ip: '127.1.0.10' },
  { name: 'mta2', fqdn: 'mta2.example.com', ip: '127.1.0.11' },
  { name: 'mta3', fqdn: 'mta3.example.com', ip: '127.1.0.12' },
  { name: 'mta4', fqdn: 'mta4.example.com', ip: '127.1.0.13' },
];

const rev = (ip: string) => ip.split('.').reverse().join('.');

/** Traditional syslog timestamp `Nov  3 07:30:01`, `minutesAgo` before now. */
function stamp(minutesAgo: number): string {
  const d = new Date(Date.now() - minutesAgo * 60_000);
  const mon = d.toLocaleString('en-US', { month: 'short' });
  const day = String(d.getDate()).padStart(2, ' ');
  return `${mon} ${day} ${d.toTimeString().slice(0, 8)}`;
}

function maillog(): string {
  const lines: string[] = [];
  const domains = ['gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'aol.com'];
  let q = 0x3f2a0000;
  for (let i = 0; i < 400; i++) {
    const id = (q++).toString(16).toUpperCase();
    const dom = domains[i % domains.length]!;
    const t = stamp(300 - Math.floor(i / 2));
    const status = i % 23 === 0 ? 'bounced' : i % 11 === 0 ? 'deferred' : 'sent';
    const dsn = status === 'sent' ? '2.0.0' : status === 'bounced' ? '5.1.1' : '4.4.1';
    const why = status === 'sent' ? '250 2.0.0 OK' : status === 'bounced' ? '550 5.1.1 user unknown' : 'connect to mx: Connection timed out';
    lines.push(`${t} mta1 postfix/qmgr[1234]: ${id}: from=<news@example.com>, size=8731, nrcpt=1 (queue active)`);
    lines.push(`${t} mta1 postfix/smtp[4154]: ${id}: to=<user${i}@${dom}>, relay=mx.${dom}[127.9.0.1]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=${dsn}, status=${status} (${why})`);
  }
  lines.push(
    `${stamp(20)} mta1 postfix/smtp[4155]: 4A1B2C3D4: to=<x@hotmail.com>, relay=hotmail-com.olc.protection.outlook.com[127.9.0.2]:25, delay=0.8, delays=0.1/0/0.3/0.4, dsn=5.7.1, status=bounced (host hotmail-com.olc.protection.outlook.com[127.9.0.2] said: 550 5.7.1 Unfortunately, messages from [127.1.0.10] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. (in reply to MAIL FROM command))`,
  );
  return lines.join('\n') + '\n';
}

const dns = await startDnsServer();
for (const z of ['zen.spamhaus.org', 'bl.spamcop.net', 'b.barracudacentral.org', 'bl.mailspike.net']) dns.testPoints(z);
dns.fail('dnsbl.dead-list.example', 'drop');
dns.list('zen.spamhaus.org', '127.1.0.11', ['127.0.0.4'], 'https://check.spamhaus.org/query/ip/127.1.0.11');
dns.list('bl.spamcop.net', '127.1.0.12', ['127.0.0.2'], 'Blocked - see https://www.spamcop.net/bl.shtml?127.1.0.12');
dns.list('bl.mailspike.net', '127.1.0.12', ['127.0.0.11']);
const scores: Record<string, string> = { '127.1.0.10': '127.0.4.96', '127.1.0.11': '127.0.4.41', '127.1.0.12': '127.0.4.64' };
for (const [ip, code] of Object.entries(scores)) dns.list('score.senderscore.com', ip, [code]);
for (const m of mtas) {
  dns.set(m.fqdn, { A: [m.ip] });
  // mta4's PTR names the wrong host: the DNS match column shows it.
  dns.set(`${rev(m.ip)}.in-addr.arpa`, { PTR: [m.name === 'mta4' ? 'static-13.isp.example.net' : m.fqdn] });
}

const greeters: SmtpGreeting[] = [];
const first = await startSmtpGreeting({ host: mtas[0]!.ip, banner: `220 ${mtas[0]!.fqdn} ESMTP Postfix` });
greeters.push(first);
for (const m of mtas.slice(1)) greeters.push(await startSmtpGreeting({ host: m.ip, port: first.port, banner: `220 ${m.fqdn} ESMTP Postfix` }));

const sndsRow = (ip: string, color: string, traps: number) =>
  `${ip},11/20/2026 12:00 AM,11/20/2026 11:59 PM,15230,15102,14880,${color},< 0.1%,11/20/2026 8:07 AM,11/20/2026 12:03 PM,${traps},${ip},news@example.com,`;
const snds = await startHttpServer({
  '/snds/data.aspx': { body: [sndsRow('127.1.0.10', 'GREEN', 0), sndsRow('127.1.0.11', 'RED', 42), sndsRow('127.1.0.13', 'YELLOW', 12)].join('\r\n') + '\r\n' },
});

const ssh = await startSshServer();
fs.writeFileSync(path.join(ssh.dir, 'maillog'), maillog());
const keyFile = path.join(dir, 'id_ed25519');
fs.writeFileSync(keyFile, ssh.clientKey.private, { mode: 0o600 });
fs.writeFileSync(path.join(dir, 'known_hosts'), ssh.knownHostsLine() + '\n');

// The ESP gateway's one provider: an SMTP relay that accepts everything; webhooks signed as SendGrid does.
const relay = await startSmtpSink();
const sendgrid = sendgridSigner();

// Round-trip probes. The customers' test mailboxes, as one SMTP server: a probe to shop, bank or
// news comes back at once (into the probes mbox, read by the next round), one to slow comes back a
// round later (late), one to gone never does (lost after max_sec_until_fail).
const customers = [
  { customerName: 'Shop Ltd', customer: 'shop', domain: 'shop.example', back: 1 },
  { customerName: 'Bank plc', customer: 'bank', domain: 'bank.example', back: 1 },
  { customerName: 'Newsletter Co', customer: 'news', domain: 'news.example', back: 1 },
  { customerName: 'Slow Hosting', customer: 'slow', domain: 'slow.example', back: 2 },
  { customerName: 'Gone Inc', customer: 'gone', domain: 'gone.example', back: 0 },
];
const mbox = path.join(dir, 'probes.mbox');
fs.writeFileSync(mbox, '');
/** Messages on their way back: rounds left before they land in the mbox, and their text. */
const returning: { rounds: number; text: string }[] = [];
const customerMx = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, cb) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      for (const rcpt of session.envelope.rcptTo) {
        const c = customers.find((x) => rcpt.address.endsWith(`@${x.domain}`));
        if (c && c.back > 0) returning.push({ rounds: c.back, text: Buffer.concat(chunks).toString('utf8') });
      }
      cb();
    });
  },
});
const mxPort = await freePort();
await new Promise<void>((resolve) => customerMx.listen(mxPort, '127.0.0.1', resolve));

const configFile = path.join(dir, 'mtarep.yml');
fs.writeFileSync(
  configFile,
  stringify({
    listen: `127.0.0.1:${port}`,
    data_dir: path.join(dir, 'data'),
    dns: { servers: [dns.address], timeout_ms: 500, tries: 1 },
    rbls: ['zen.spamhaus.org', 'bl.spamcop.net', 'b.barracudacentral.org', 'bl.mailspike.net', 'dnsbl.dead-list.example'],
    snds_key: 'demo-snds-key',
    snds_url: `${snds.url}snds/`,
    smtp_banner_port: first.port,
    smtp_banner_timeout_ms: 1000,
    ssh_key: keyFile,
    ssh_user: 'mtarep',
    ssh_known_hosts: path.join(dir, 'known_hosts'),
    graph_domains: ['gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'aol.com'],
    provider_block_strings: { hotmail: 'mail\\.live\\.com\\/mail\\/troubleshooting\\.aspx#errors' },
    removal_links: { hotmail: 'https://olcsupport.office.com/', 'zen.spamhaus.org': 'https://check.spamhaus.org/results/?query={ip}' },
    assistance_links: { hotmail: 'https://wiki.example.com/runbooks/hotmail-block' },
    probes: {
      from: 'probes@mon.example.com',
      smtp: { host: '127.0.0.1', port: mxPort, tls: 'none' },
      mbox,
      max_return_s: 420,
      max_sec_until_fail: 900,
    },
    esp: {
      from: 'probes@mon.example.com',
      providers: [{ name: 'smtp', host: relay.host, port: relay.port, tls: 'none' }],
      webhooks: { counters_id: 'esp', sendgrid: { public_key: sendgrid.publicKey } },
    },
    mta_map: Object.fromEntries(
      mtas.map((m) => [
        m.name,
        m.name === 'mta1'
          ? { fqdn: m.fqdn, ssh_host: ssh.host, ssh_port: ssh.port, maillog_path: path.join(ssh.dir, 'maillog'), counters_id: 'demo' }
          : { fqdn: m.fqdn, ssh: false },
      ]),
    ),
  }),
);
upsertUser(path.join(dir, 'data', 'htpasswd'), 'demo', 'demo-password');

const config = loadConfig(configFile);
const log = loggerFor(config, { stderrLevel: 'warn' });
const handle = await openRedis(config, log);
// The customers' domains, then five probe rounds 5 minutes apart (the round's clock, ending 5
// minutes ago): before each, the mails due back land in the mbox as the test mailboxes return them.
// Each round is a run of the probes source (what `mtarep start` schedules), so its failing domains
// are recorded as issue events, as they would be in production.
const store = domainStore(handle.redis, config.redis.prefix);
for (const c of customers) await store.add({ customerName: c.customerName, customer: c.customer, address: `mtarep-probe@${c.domain}`, domain: c.domain });
const t0 = Date.now() - 25 * 60_000;
for (let round = 0; round < 5; round++) {
  const at = new Date(t0 + round * 5 * 60_000);
  for (const m of returning) m.rounds--;
  for (const m of returning.filter((x) => x.rounds === 0)) {
    fs.appendFileSync(mbox, formatMboxMessage({ fromLine: `From probes@mon.example.com ${at.toUTCString()}`, raw: m.text.replace(/\r\n/g, '\n') }));
  }
  returning.splice(0, returning.length, ...returning.filter((x) => x.rounds > 0));
  const r = await runCollect({ config, redis: handle.redis, log, now: () => at, only: ['probes'] });
  if (r.status !== 'ok') console.log(formatSummaryLine(r));
}
const judged = [...(await probeStore(handle.redis, config.redis.prefix).summaries()).values()].sort((a, b) => a.domain.localeCompare(b.domain));
console.log(`probes: ${judged.length} domains after 5 rounds: ${judged.map((d) => `${d.domain} ${d.failing ? 'failing' : 'fine'} (${Object.entries(d.counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ')})`).join(', ')}`);

// One collection of the other sources, now (after the probe rounds, so the events stay in time order).
const summary = await runCollect({ config, redis: handle.redis, log, only: sourceNames().filter((n) => n !== 'probes') });
console.log(formatSummaryLine(summary));

const server = await startServer({ config, redis: handle.redis, log });

// One test mail through the gateway (as `mtarep send` does), then the delivery events an ESP would
// post back: a signed SendGrid batch, counted into the esp:<day>:<type> graph counters.
const sent = await new EspGateway({ esp: config.esp, redis: handle.redis, k: keys(config.redis.prefix), log }).send({
  to: 'postmaster@example.org',
  subject: 'mtarep demo test mail',
  text: 'Sent through the ESP gateway by npm run demo.',
});
const at = Math.floor(Date.now() / 1000);
const sgEvent = (n: number, event: string, email: string, extra: Record<string, unknown> = {}) => ({
  email,
  timestamp: at - 600 + n * 7,
  event,
  sg_event_id: `demo-${n}`,
  sg_message_id: `demo${Math.floor(n / 3)}.filter0001.example`,
  'smtp-id': `<demo${Math.floor(n / 3)}@mon.example.com>`,
  ...extra,
});
const domains = ['gmail.com', 'yahoo.com', 'outlook.com'];
const events = [
  ...Array.from({ length: 24 }, (_, n) => sgEvent(n, n % 4 === 0 ? 'processed' : 'delivered', `user${n}@${domains[n % 3]!}`, { response: '250 2.0.0 OK' })),
  sgEvent(24, 'bounce', 'nobody@yahoo.com', { type: 'bounce', status: '5.1.1', reason: '550 5.1.1 <nobody@yahoo.com>: Recipient address rejected: User unknown' }),
  sgEvent(25, 'deferred', 'user3@outlook.com', { response: '451 4.7.500 Server busy. Please try again later.', attempt: '2' }),
  sgEvent(26, 'open', 'user1@yahoo.com', { useragent: 'Mozilla/5.0', ip: '127.7.0.1' }),
  sgEvent(27, 'click', 'user1@yahoo.com', { url: 'https://example.com/offer', ip: '127.7.0.1' }),
  sgEvent(28, 'spamreport', 'user5@gmail.com'),
];
const body = JSON.stringify(events);
const posted = await fetch(`${server.url}webhooks/sendgrid`, { method: 'POST', headers: sendgridHeaders(sendgrid, body, at), body });
console.log(
  `ESP: test mail ${sent.outcome}${sent.provider ? ` through ${sent.provider}` : ''}; SendGrid webhook batch of ${events.length} events: HTTP ${posted.status}`,
);
console.log(`mtarep demo: ${server.url}  (user demo, password demo-password); config ${configFile}; Ctrl-C stops`);

const stop = async () => {
  await server.close();
  await handle.close();
  await Promise.all([dns.close(), snds.close(), ssh.close(), relay.close(), new Promise<void>((resolve) => customerMx.close(() => resolve())), ...greeters.map((g) => g.close())]);
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
