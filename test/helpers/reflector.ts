/**
 * The customers' side of a probe's round trip, for tests and the benchmark: a real SMTP server
 * (smtp-server) that receives probes and, per recipient domain, returns them into a Dovecot mailbox on
 * time, late, into Junk, as a DSN bounce, never, or refuses them at RCPT. Delivery times are set by
 * the test clock through the Received: header of the hop into the probe mailbox.
 */
import { SMTPServer } from 'smtp-server';
import type { Dovecot } from './dovecot.js';
import { freePort } from './net.js';

export type Behaviour = 'on_time' | 'late' | 'junk' | 'bounce' | 'never' | 'refuse' | 'delay-dsn';

export interface Reflector {
  port: number;
  /** Messages received, by recipient. */
  received: { to: string; raw: string }[];
  setBehaviour(domain: string, b: Behaviour): void;
  close(): Promise<void>;
}

export async function startReflector(opts: {
  /** Where returns go: a Dovecot (Maildir) or anything with deliver(user, folder, raw) (an mbox writer). */
  dovecot: Pick<Dovecot, 'deliver'>;
  mailbox: string;
  /** The test clock: Received dates are clock() + delay. */
  clock: () => Date;
  behaviours: Record<string, Behaviour>;
  onTimeDelayS?: number;
  lateDelayS?: number;
}): Promise<Reflector> {
  const behaviours = new Map(Object.entries(opts.behaviours));
  const received: { to: string; raw: string }[] = [];
  const rfc = (d: Date) => d.toUTCString().replace('GMT', '+0000');
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(addr, _s, cb) {
      const domain = addr.address.split('@')[1]!.toLowerCase();
      if (behaviours.get(domain) === 'refuse') {
        const e = new Error(`5.1.1 <${addr.address}>: Recipient address rejected: User unknown in virtual mailbox table`) as Error & { responseCode: number };
        e.responseCode = 550;
        return cb(e);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString();
        for (const r of session.envelope.rcptTo) {
          const to = r.address.toLowerCase();
          received.push({ to, raw });
          const domain = to.split('@')[1]!;
          const b = behaviours.get(domain) ?? 'never';
          const head = raw.split(/\r?\n\r?\n/)[0]!;
          const subject = /^Subject: (.*)$/im.exec(head)?.[1] ?? '';
          const msgId = /^Message-ID: (.*)$/im.exec(head)?.[1] ?? '';
          const at = (s: number) => rfc(new Date(opts.clock().getTime() + s * 1000));
          const recv = (s: number) =>
            `Received: from mx.${domain} (mx.${domain} [127.0.0.1])\r\n\tby imap.mon.test (Dovecot) with LMTP id x; ${at(s)}\r\nReceived: from mx.${domain} by mx.${domain}; ${at(0)}\r\n`;
          const reply = (s: number) =>
            `${recv(s)}From: ${to}\r\nTo: ${opts.mailbox}\r\nSubject: Re: ${subject}\r\nIn-Reply-To: ${msgId}\r\nAuto-Submitted: auto-replied\r\nDate: ${at(s)}\r\n\r\nYour message was returned.\r\n`;
          if (b === 'on_time') opts.dovecot.deliver(opts.mailbox, 'INBOX', reply(opts.onTimeDelayS ?? 12));
          else if (b === 'late') opts.dovecot.deliver(opts.mailbox, 'INBOX', reply(opts.lateDelayS ?? 350));
          else if (b === 'junk') opts.dovecot.deliver(opts.mailbox, 'Junk', reply(opts.onTimeDelayS ?? 12));
          else if (b === 'bounce' || b === 'delay-dsn') {
            const action = b === 'bounce' ? 'failed' : 'delayed';
            const status = b === 'bounce' ? '5.1.1' : '4.4.1';
            opts.dovecot.deliver(
              opts.mailbox,
              'INBOX',
              `${recv(5)}From: MAILER-DAEMON@mx.${domain} (Mail Delivery System)\r\nTo: ${opts.mailbox}\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="B0UND"\r\n\r\n--B0UND\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.${domain}.\r\n\r\n--B0UND\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.${domain}\r\n\r\nFinal-Recipient: rfc822; ${to}\r\nAction: ${action}\r\nStatus: ${status}\r\nDiagnostic-Code: smtp; 550 5.1.1 <${to}>: Recipient address rejected:\r\n    User unknown in virtual mailbox table\r\n\r\n--B0UND\r\nContent-Type: text/rfc822-headers\r\n\r\n${head}\r\n--B0UND--\r\n`,
            );
          }
        }
        cb(null, 'Ok: queued');
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    received,
    setBehaviour: (d, b) => void behaviours.set(d, b),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
