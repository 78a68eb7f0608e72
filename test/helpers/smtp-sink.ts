/**
 * A real SMTP server on loopback (smtp-server) that keeps every message it accepts, parsed with
 * mailparser. `refuse` makes it answer DATA with a temporary (451) or permanent (554) error; `stop()`
 * and `start()` take it down and up again on the same port (an SMTP relay that is down for a while).
 */
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type net from 'node:net';

export interface SmtpSink {
  host: string;
  port: number;
  readonly mails: ParsedMail[];
  /** Envelope recipients per accepted message. */
  readonly envelopes: { from: string; to: string[] }[];
  /** Logins seen (user names). */
  readonly logins: string[];
  refuse(code: 451 | 554 | null): void;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpSink(opts: { host?: string; port?: number; auth?: { user: string; pass: string } } = {}): Promise<SmtpSink> {
  const host = opts.host ?? '127.0.0.1';
  const mails: ParsedMail[] = [];
  const envelopes: { from: string; to: string[] }[] = [];
  const logins: string[] = [];
  let refuse: 451 | 554 | null = null;
  let server: SMTPServer | null = null;
  let port = opts.port ?? 0;

  const make = () =>
    new SMTPServer({
      secure: false,
      disabledCommands: opts.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !opts.auth,
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, cb) {
        if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) {
          logins.push(auth.username ?? '');
          cb(null, { user: auth.username });
        } else cb(new Error('Invalid username or password'));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (refuse !== null) {
            const err = new Error(refuse === 451 ? 'try again later' : 'message refused') as Error & { responseCode: number };
            err.responseCode = refuse;
            cb(err);
            return;
          }
          simpleParser(Buffer.concat(chunks))
            .then((m) => {
              mails.push(m);
              envelopes.push({
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                to: session.envelope.rcptTo.map((r) => r.address),
              });
              cb();
            })
            .catch((e: Error) => cb(e));
        });
      },
    });

  const start = async () => {
    const s = make();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => resolve());
    });
    s.on('error', () => {});
    port = ((s as unknown as { server: net.Server }).server.address() as net.AddressInfo).port;
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await start();
  return {
    host,
    get port() {
      return port;
    },
    mails,
    envelopes,
    logins,
    refuse: (c) => {
      refuse = c;
    },
    stop,
    start,
    close: stop,
  };
}
