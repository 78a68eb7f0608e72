/**
 * The `mtarep e2e` command as its users run it (a child process, not a terminal): options with the
 * original's names, passwords from a file or the environment, the three output formats, exit codes,
 * certificate verification through NODE_EXTRA_CA_CERTS (and --insecure), no password in any output.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { freePort } from '../helpers/net.js';
import { startDeliveringSmtp, type DeliveringSmtp } from '../helpers/smtp-deliver.js';
import { startTcpTap } from '../helpers/tcp-tap.js';

const SMTP_PW = 'smtp-pass-4711';
const IMAP_PW = 'imap-pass-0815';
let dc: Dovecot;
let smtp: DeliveringSmtp;
let dir: string;

beforeAll(async () => {
  dc = await startDovecot({ users: [{ user: 'bob', password: IMAP_PW }], tls: true });
  smtp = await startDeliveringSmtp({ dovecot: dc, cert: { cert: dc.caFile!, key: path.join(dc.dir, 'key.pem') }, users: { alice: SMTP_PW } });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-e2e-cli-'));
});
afterAll(async () => {
  await smtp?.close();
  await dc?.stop();
});

const base = () => [
  'e2e', '--email-from', 'alice@a.test', '--email-to', 'bob@b.test',
  '--smtp-host', '127.0.0.1', '--smtp-port', String(smtp.port), '--smtp-username', 'alice',
  '--imap-host', '127.0.0.1', '--imap-port', String(dc.port), '--imap-username', 'bob',
  '--check-frequency', '0.2', '--max-checks', '25', '--timeout', '20',
];
const trusted = () => ({ NODE_EXTRA_CA_CERTS: dc.caFile!, MTAREP_SMTP_PASSWORD: SMTP_PW, MTAREP_IMAP_PASSWORD: IMAP_PW });

function noPasswords(...texts: string[]) {
  for (const t of texts) for (const p of [SMTP_PW, IMAP_PW, 'wrong-imap-pw']) expect(t).not.toContain(p);
}

describe('mtarep e2e (CLI)', { timeout: 120_000 }, () => {
  it("JSON by default: the original's fields, passwords from the environment, exit 0", async () => {
    const r = await runCli(base(), { env: trusted() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ success: true, folder: 'INBOX', error: null, error_stage: null });
    for (const k of ['hash', 'start', 'start_time_smtp', 'start_time_imap', 'start_time_imap_search', 'tries', 'end', 'total_duration', 'smtp_duration', 'imap_duration']) {
      expect(j, k).toHaveProperty(k);
    }
    expect(j['total_duration']).toBe(Math.round((Date.parse(j['end'] as string) - Date.parse(j['start'] as string)) * 1000));
    noPasswords(r.stdout, r.stderr);
  });

  it('Influx line for Telegraf, passwords from files; a wrong IMAP password is a complete line with success=0 and exit 2', async () => {
    const smtpFile = path.join(dir, 'smtp-pw');
    const imapFile = path.join(dir, 'imap-pw');
    fs.writeFileSync(smtpFile, SMTP_PW + '\n');
    fs.writeFileSync(imapFile, 'wrong-imap-pw\n');
    const args = [...base(), '--output-format', 'influx', '--smtp-password-file', smtpFile, '--imap-password-file', imapFile];
    const r = await runCli(args, { env: { NODE_EXTRA_CA_CERTS: dc.caFile! } });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(
      new RegExp(`^mail-e2e,email-from=alice@a\\.test,email-to=bob@b\\.test,imap=127\\.0\\.0\\.1:${dc.port},smtp=127\\.0\\.0\\.1:${smtp.port} success=0,total_dur=\\d+,smtp_dur=\\d+,imap_dur=\\d+,junk=0,tries=0,error_stage="imap-auth"\\n$`),
    );
    noPasswords(r.stdout, r.stderr);
    fs.writeFileSync(imapFile, IMAP_PW + '\n');
    const ok = await runCli(args, { env: { NODE_EXTRA_CA_CERTS: dc.caFile! } });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/ success=1,/);
  });

  it('Nagios: WARNING for a mail in Junk with perfdata; CRITICAL for a certificate nobody trusts; --insecure says so', async () => {
    const junk = await runCli([...base().map((a) => (a === 'bob@b.test' ? 'bob+junk@b.test' : a)), '--output-format', 'nagios', '--delete'], { env: trusted() });
    expect(junk.code).toBe(1);
    expect(junk.stdout).toMatch(/^MAIL-E2E WARNING - mail [0-9a-f]{8} found in Junk \(Junk\) after [\d.]+ s .*\| total=[\d.]+s;;;0; smtp=[\d.]+s;;;0; imap=[\d.]+s;;;0; tries=\d+;;;0; success=1;;;0;1\n$/);

    // No NODE_EXTRA_CA_CERTS: the self-signed certificate is refused at SMTP connect.
    const env = { MTAREP_SMTP_PASSWORD: SMTP_PW, MTAREP_IMAP_PASSWORD: IMAP_PW, NODE_EXTRA_CA_CERTS: '' };
    const untrusted = await runCli([...base(), '--output-format', 'nagios'], { env });
    expect(untrusted.code).toBe(2);
    expect(untrusted.stdout).toMatch(/^MAIL-E2E CRITICAL - smtp-connect: .*(certificate|self.signed)/i);
    const insecure = await runCli([...base(), '--insecure'], { env });
    expect(insecure.code).toBe(0);
    expect(insecure.stderr).toMatch(/--insecure: TLS certificates are NOT verified/);
    noPasswords(junk.stdout, untrusted.stdout, insecure.stdout, insecure.stderr);
  });

  it('bad options are UNKNOWN (exit 3) naming the option; a closed port is a complete failure', async () => {
    const missing = await runCli(['e2e', '--email-from', 'a@b', '--output-format', 'nagios']);
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe('MAIL-E2E UNKNOWN - --email-to is required\n');
    const badTls = await runCli([...base(), '--smtp-tls', 'ssl'], { env: trusted() });
    expect(badTls.code).toBe(3);
    expect(badTls.stderr).toMatch(/--smtp-tls must be none, tls or starttls, not "ssl"/);
    const unknown = await runCli([...base(), '--frobnicate'], { env: trusted() });
    expect(unknown.code).toBe(3);
    const closed = await runCli([...base().map((a) => (a === String(smtp.port) ? String(0) : a))], { env: trusted() });
    expect(closed.code).toBe(3); // port 0 is not a port
    const port = await freePort();
    const refused = await runCli([...base().map((a) => (a === String(smtp.port) ? String(port) : a))], { env: trusted() });
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout)).toMatchObject({ success: false, error_stage: 'smtp-connect', start_time_imap: null, tries: 0 });
  });

  it('addresses, hosts, --timeout and the thresholds are checked before any connection: UNKNOWN (exit 3) naming the option', async () => {
    // Taps in front of both servers count connections; a good run through them shows they count.
    const smtpTap = await startTcpTap(smtp.port);
    const imapTap = await startTcpTap(dc.port);
    try {
      const tapped = () => base().map((a) => (a === String(smtp.port) ? String(smtpTap.port) : a === String(dc.port) ? String(imapTap.port) : a));
      // Equal thresholds are fine.
      const good = await runCli([...tapped(), '--output-format', 'nagios', '--warning', '15', '--critical', '15'], { env: trusted() });
      expect(good.code).toBe(0);
      const counted = [smtpTap.connections, imapTap.connections];
      expect(counted[0]).toBeGreaterThan(0);
      expect(counted[1]).toBeGreaterThan(0);

      const set = (args: string[], name: string, value: string) => args.map((a, i) => (args[i - 1] === name ? value : a));
      const cases: [string, string, string][] = [
        ['--email-from', 'notanemail', '--email-from: not an e-mail address (user@domain): "notanemail"'],
        ['--email-to', 'b', '--email-to: not an e-mail address (user@domain): "b"'],
        ['--email-to', 'bob@b.test>\r\nRCPT TO:<x@y.test', '--email-to: not an e-mail address (user@domain): "bob@b.test>\\r\\nRCPT TO:<x@y.test"'],
        ['--smtp-host', 'mail host', '--smtp-host: not a host name or IP address: "mail host"'],
        ['--imap-host', `127.0.0.1:${imapTap.port}`, `--imap-host: not a host name or IP address: "127.0.0.1:${imapTap.port}"`],
        // Node's timers cannot wait longer than 24.8 days: a longer --timeout fired at once.
        ['--timeout', '3000000', '--timeout must be a number from 1 to 2073600, not "3000000"'],
      ];
      // Thresholds: a --warning above --critical could never show (past --critical a run is CRITICAL).
      const thresholds: [string[], string][] = [
        [['--warning', '30', '--critical', '10'], '--warning 30 is more than --critical 10: the warning threshold must not exceed the critical one'],
        [['--critical', '2.5', '--warning', '2.75'], '--warning 2.75 is more than --critical 2.5: the warning threshold must not exceed the critical one'],
        [['--warning=-1'], '--warning must be a number of at least 0, not "-1"'],
        [['--critical', 'soon'], '--critical must be a number of at least 0, not "soon"'],
      ];
      const runs: [string[], string][] = [
        ...cases.map(([name, value, message]): [string[], string] => [set(tapped(), name, value), message]),
        ...thresholds.map(([extra, message]): [string[], string] => [[...tapped(), ...extra], message]),
      ];
      for (const [args, message] of runs) {
        const r = await runCli([...args, '--output-format', 'nagios'], { env: trusted() });
        expect(r.stdout, message).toBe(`MAIL-E2E UNKNOWN - ${message}\n`);
        expect(r.stderr).toBe(`mtarep e2e: ${message} (try mtarep e2e --help)\n`);
        expect(r.code).toBe(3);
      }
      expect([smtpTap.connections, imapTap.connections]).toEqual(counted);
      // A one-label domain (a test server's user@localhost) and an IPv6 server are addresses and hosts.
      const local = await runCli([...set(set(tapped(), '--email-to', 'bob@localhost'), '--smtp-host', '::1'), '--smtp-port', '1', '--output-format', 'nagios'], { env: trusted() });
      expect(local.stdout).toMatch(/^MAIL-E2E CRITICAL - smtp-connect: SMTP ::1:1:/);
    } finally {
      await smtpTap.close();
      await imapTap.close();
    }
  });
});
