/**
 * An SMTP server (smtp-server) that delivers into a throwaway Dovecot (test/helpers/dovecot.ts) as an
 * MTA + LDA would: AUTH required (PLAIN / LOGIN), STARTTLS on `port` and implicit TLS on `tlsPort`
 * with the given certificate. Routing by recipient: `<user>@...` lands in the user's INBOX,
 * `<user>+junk@...` in their Junk folder (as a spam filter would file it), `<user>+void@...` is accepted
 * and never delivered (a mail lost on the way).
 */
import fs from 'node:fs';
import { SMTPServer } from 'smtp-server';
import type { Dovecot } from './dovecot.js';
import { freePort } from './net.js';

export interface DeliveringSmtp {
  port: number;
  tlsPort: number;
  /** Messages delivered (user, folder) and dropped, in order. */
  log: { to: string; folder: string | null }[];
  close(): Promise<void>;
}

export async function startDeliveringSmtp(opts: {
  dovecot: Dovecot;
  cert: { cert: string; key: string };
  users: Record<string, string>;
}): Promise<DeliveringSmtp> {
  const log: DeliveringSmtp['log'] = [];
  const make = (secure: boolean) =>
    new SMTPServer({
      secure,
      key: fs.readFileSync(opts.cert.key),
      cert: fs.readFileSync(opts.cert.cert),
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: false,
      logger: false,
      onAuth(auth, _s, cb) {
        if (opts.users[auth.username ?? ''] === auth.password) cb(null, { user: auth.username });
        else cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          for (const r of session.envelope.rcptTo) {
            const m = /^([^+@]+)(?:\+([^@]+))?@/.exec(r.address);
            const user = m?.[1] ?? '';
            const tag = m?.[2];
            const folder = tag === 'void' ? null : tag === 'junk' ? 'Junk' : 'INBOX';
            if (folder !== null) opts.dovecot.deliver(user, folder, raw);
            log.push({ to: r.address, folder });
          }
          cb(null, 'Ok: queued');
        });
      },
    });
  const plain = make(false);
  const tls = make(true);
  const port = await freePort();
  const tlsPort = await freePort();
  await new Promise<void>((r) => plain.listen(port, '127.0.0.1', r));
  await new Promise<void>((r) => tls.listen(tlsPort, '127.0.0.1', r));
  return {
    port,
    tlsPort,
    log,
    close: async () => {
      await new Promise<void>((r) => plain.close(() => r()));
      await new Promise<void>((r) => tls.close(() => r()));
    },
  };
}
