/**
 * `mtarep e2e`'s run against real servers on loopback: Debian's Dovecot (STARTTLS and implicit TLS,
 * a self-signed certificate made here, trusted through NODE_EXTRA_CA_CERTS) and an smtp-server with
 * AUTH that delivers into Dovecot's Maildir. Every failure stage is reached for real.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatJson } from '../../lib/e2e/format.js';
import { runE2e, type E2eOptions } from '../../lib/e2e/run.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { freePort } from '../helpers/net.js';
import { startDeliveringSmtp, type DeliveringSmtp } from '../helpers/smtp-deliver.js';

const SMTP_PW = 'smtp-pass-4711';
const IMAP_PW = 'imap-pass-0815';
let dc: Dovecot;
let smtp: DeliveringSmtp;
/** A server that accepts connections and never says a word. */
let silent: net.Server;
let silentPort: number;
let closedPort: number;

beforeAll(async () => {
  dc = await startDovecot({ users: [{ user: 'bob', password: IMAP_PW }], tls: true });
  // Trusted the way a user would: NODE_EXTRA_CA_CERTS (read by lib/mail/tls.ts with the system CAs).
  process.env['NODE_EXTRA_CA_CERTS'] = dc.caFile!;
  smtp = await startDeliveringSmtp({ dovecot: dc, cert: { cert: dc.caFile!, key: path.join(dc.dir, 'key.pem') }, users: { alice: SMTP_PW } });
  silent = net.createServer(() => {});
  silentPort = await freePort();
  await new Promise<void>((r) => silent.listen(silentPort, '127.0.0.1', r));
  closedPort = await freePort();
});
afterAll(async () => {
  await smtp?.close();
  await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
  await dc?.stop();
});

function opts(over: { to?: string; smtp?: Partial<E2eOptions['smtp']>; imap?: Partial<E2eOptions['imap']> } & Partial<Omit<E2eOptions, 'smtp' | 'imap'>> = {}): E2eOptions {
  const { smtp: s, imap: i, to, ...rest } = over;
  return {
    emailFrom: 'alice@a.test',
    emailTo: to ?? 'bob@b.test',
    prefix: '[e2e email monitoring] ',
    checkFrequencyMs: 200,
    maxChecks: 25,
    timeoutMs: 20_000,
    delete: false,
    smtp: { host: '127.0.0.1', port: smtp.port, tls: 'starttls', user: 'alice', password: SMTP_PW, ...s },
    imap: { host: '127.0.0.1', port: dc.port, tls: 'starttls', user: 'bob', password: IMAP_PW, ...i },
    ...rest,
  };
}

/** No password in any output. */
function clean(r: Awaited<ReturnType<typeof runE2e>>, ...pw: string[]) {
  const json = formatJson(r);
  for (const p of [SMTP_PW, IMAP_PW, ...pw]) expect(json).not.toContain(p);
}

describe('mtarep e2e run', () => {
  it('STARTTLS on both sides, certificates verified: found in INBOX, phases timed, and --delete removes it', async () => {
    const before = dc.count('bob', 'INBOX');
    const r = await runE2e(opts({ delete: true }));
    expect(r).toMatchObject({ success: true, folder: 'INBOX', junk: false, error: null, errorStage: null });
    expect(r.hash).toMatch(/^[0-9a-f]{32}$/);
    expect(r.tries).toBeGreaterThanOrEqual(1);
    expect(r.start).toBeLessThanOrEqual(r.startSmtp!);
    expect(r.startSmtp!).toBeLessThanOrEqual(r.startImap!);
    expect(r.startImap!).toBeLessThanOrEqual(r.startImapSearch!);
    expect(r.startImapSearch!).toBeLessThanOrEqual(r.end);
    expect(smtp.log.at(-1)).toEqual({ to: 'bob@b.test', folder: 'INBOX' });
    expect(dc.count('bob', 'INBOX')).toBe(before);
    clean(r);
  });

  it('implicit TLS on both sides; without --delete the mail stays', async () => {
    const before = dc.count('bob', 'INBOX');
    const r = await runE2e(opts({ smtp: { port: smtp.tlsPort, tls: 'tls' }, imap: { port: dc.tlsPort!, tls: 'tls' } }));
    expect(r).toMatchObject({ success: true, folder: 'INBOX', errorStage: null });
    expect(dc.count('bob', 'INBOX')).toBe(before + 1);
  });

  it('a mail filed into Junk is found there (by its special-use flag) and said so', async () => {
    const r = await runE2e(opts({ to: 'bob+junk@b.test', delete: true }));
    expect(r).toMatchObject({ success: true, folder: 'Junk', junk: true });
    expect(dc.count('bob', 'Junk')).toBe(0);
  });

  it('a wrong SMTP password: smtp-auth with the server answer, no IMAP part', async () => {
    const r = await runE2e(opts({ smtp: { password: 'wrong-smtp-pw' } }));
    expect(r).toMatchObject({ success: false, errorStage: 'smtp-auth', startImap: null, tries: 0 });
    expect(r.error).toMatch(/535/);
    clean(r, 'wrong-smtp-pw');
  });

  it('a wrong IMAP password: imap-auth', async () => {
    const r = await runE2e(opts({ imap: { password: 'wrong-imap-pw' } }));
    expect(r).toMatchObject({ success: false, errorStage: 'imap-auth', startImapSearch: null, tries: 0 });
    expect(r.startImap).not.toBeNull();
    expect(r.error).toMatch(/login refused/i);
    clean(r, 'wrong-imap-pw');
  });

  it('closed ports: smtp-connect, imap-connect', async () => {
    const s = await runE2e(opts({ smtp: { port: closedPort } }));
    expect(s).toMatchObject({ success: false, errorStage: 'smtp-connect' });
    // The server named once, the socket error in words (not node's "connect ECONNREFUSED <address>").
    expect(s.error).toBe(`SMTP 127.0.0.1:${closedPort}: connection refused (waiting for the greeting)`);
    const i = await runE2e(opts({ imap: { port: closedPort } }));
    expect(i).toMatchObject({ success: false, errorStage: 'imap-connect' });
    expect(i.error).toBe(`IMAP 127.0.0.1:${closedPort}: connection refused`);
  });

  it('a server that accepts and never answers: a connect error within the bound, SMTP and IMAP', async () => {
    for (const side of ['smtp', 'imap'] as const) {
      const t0 = Date.now();
      const r = await runE2e(opts({ timeoutMs: 3_000, ...(side === 'smtp' ? { smtp: { port: silentPort } } : { imap: { port: silentPort } }) }));
      const took = Date.now() - t0;
      expect(r.success).toBe(false);
      // The step timeout (2 s for a 3 s bound) fires first and names the stage; the hard bound is the backstop.
      expect(['smtp', 'imap'].map((x) => `${x}-connect`).concat('timeout')).toContain(r.errorStage);
      expect(r.errorStage === 'timeout' || r.errorStage === `${side}-connect`).toBe(true);
      expect(took).toBeLessThan(3_000 + 5_000);
    }
  });

  it('a mail that never arrives: imap-search after --max-checks searches of inbox and Junk', async () => {
    const r = await runE2e(opts({ to: 'bob+void@b.test', maxChecks: 3 }));
    expect(r).toMatchObject({ success: false, errorStage: 'imap-search', tries: 3, folder: null });
    expect(r.error).toMatch(/not found in INBOX or Junk after 3 searches/);
    expect(r.end - r.startImapSearch!).toBeGreaterThanOrEqual(2 * 200);
  });

  it('--timeout is a hard bound: a run still searching is cut off with stage timeout', async () => {
    const t0 = Date.now();
    // 8 s: long enough for SMTP, STARTTLS and the IMAP login to be done and the search to be under way
    // even on a loaded machine (they take well under 1 s on an idle one); the search alone would take
    // 10,000 x 200 ms.
    const r = await runE2e(opts({ to: 'bob+void@b.test', maxChecks: 10_000, timeoutMs: 8_000 }));
    expect(r).toMatchObject({ success: false, errorStage: 'timeout' });
    expect(r.error).toMatch(/no result within 8\.0 s .*IMAP search/);
    expect(r.tries).toBeGreaterThanOrEqual(1);
    expect(Date.now() - t0).toBeLessThan(8_000 + 5_000);
  });
});
