/**
 * One SMTP client connection (RFC 5321): connect (plain or implicit TLS), greeting, EHLO (HELO when
 * EHLO is refused), STARTTLS, AUTH PLAIN / LOGIN, then mail transactions. With PIPELINING (RFC 2920)
 * advertised, MAIL FROM, every RCPT TO and DATA go in one write and the body in a second (the client
 * waits for DATA's 354, as RFC 2920 requires); without it the commands go one at a time. A failed
 * transaction is followed by RSET so the next one starts clean. Every failure is a MailError naming
 * the stage ('connect' until EHLO/STARTTLS are done, 'auth', then 'send'), the server's answer and
 * a code (ECONNECTION, ETIMEDOUT, ETLS, EPROTOCOL, EAUTH, EENVELOPE, EMESSAGE).
 */
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import { describeSocketError, MailError, type MailStage } from './errors.js';
import { ehloExtensions, hasEightBit, ReplyReader, type Reply } from './smtp-wire.js';
import { tlsOptions, type TlsSettings } from './tls.js';
import { attachHandlers, detachHandlers, type SocketHandlers } from './socket-handlers.js';

export interface ConnectionSettings extends TlsSettings {
  host: string;
  port: number;
  user?: string | undefined;
  password?: string | undefined;
  /** Name sent in EHLO (default: the OS host name when it has a dot, else the address literal). */
  name?: string | undefined;
  /** Connect + greeting, and each wait for an answer, in ms (default 15 s). */
  timeoutMs?: number | undefined;
}

export interface Envelope {
  /** '' for the null sender (MAIL FROM:<>). */
  from: string;
  to: string[];
}

/** A message as the connection takes it: envelope and DATA text. */
export interface Job {
  env: Envelope;
  body: string;
}

/** The next message, started in the same write as the previous body: its envelope's answers to come. */
export interface Chained<J extends Job> {
  job: J;
  sent: Promise<Answer>[];
}

export type TxOutcome =
  | { ok: true; response: string; accepted: string[]; rejected: string[] }
  | {
      ok: false;
      error: MailError;
      /** Nothing was accepted and the connection is gone (closed, 421): a fresh connection may take the message. */
      retry: boolean;
    };

export type Answer = Reply | MailError;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const isOk = (a: Answer): a is Reply => !(a instanceof MailError) && a.code < 400;
/** The reply as a readable text: latin-1 on the wire, UTF-8 when the server wrote UTF-8. */
const textOf = (r: Reply) => (hasEightBit(r.text) ? Buffer.from(r.text, 'latin1').toString('utf8') : r.text);

export class SmtpConnection {
  private socket: net.Socket;
  private readonly reader = new ReplyReader();
  private readonly waiters: { what: string; done: (a: Answer) => void }[] = [];
  private readonly timeoutMs: number;
  private stage: MailStage = 'connect';
  private tlsPending: boolean;
  private dead: MailError | undefined;
  /** The server said 421 or we said QUIT: no new transaction on this connection. */
  private closing = false;
  private ext = new Map<string, string>();
  private readonly at: string;

  private constructor(
    private readonly s: ConnectionSettings,
    private readonly secrets: readonly string[],
  ) {
    this.timeoutMs = s.timeoutMs ?? 15_000;
    this.at = `${s.host}:${s.port}`;
    this.tlsPending = s.tls === 'tls';
    this.socket = this.tlsPending ? tls.connect({ host: s.host, port: s.port, ...tlsOptions(s.host, s) }) : net.connect({ host: s.host, port: s.port });
    this.socket.setNoDelay(true);
    if (this.tlsPending) this.socket.once('secureConnect', () => (this.tlsPending = false));
    this.attach(this.socket);
  }

  /** Connect and get ready to send (greeting, EHLO, STARTTLS, AUTH); throws a MailError. */
  static async open(s: ConnectionSettings, secrets: readonly string[]): Promise<SmtpConnection> {
    const c = new SmtpConnection(s, secrets);
    try {
      await c.handshake();
      return c;
    } catch (e) {
      c.destroy();
      throw e;
    }
  }

  /** True while new transactions may use this connection. */
  get usable(): boolean {
    return this.dead === undefined && !this.closing;
  }

  get pipelining(): boolean {
    return this.ext.has('PIPELINING');
  }

  /**
   * One mail transaction; `job.body` is the DATA text from dataBody() (latin-1). Never throws. With
   * PIPELINING, the next message (`takeNext`) starts in the same write as this one's body (RFC 2920:
   * message content may begin a group, DATA ends one): its envelope's answers come back as `chained`,
   * to be passed to the next call as `sent`.
   */
  async transaction<J extends Job>(job: J, takeNext?: () => J | undefined, sent?: Promise<Answer>[]): Promise<{ outcome: TxOutcome; chained?: Chained<J> }> {
    if (!sent && !this.usable) {
      return { outcome: { ok: false, error: this.dead ?? this.error('send', `${this.at} is closing the connection`, { code: 'ECONNECTION' }), retry: true } };
    }
    this.socket.ref();
    try {
      return await this.exchange(job, takeNext, sent);
    } finally {
      if (this.usable) this.socket.unref();
    }
  }

  /** Say QUIT and hang up (without waiting for the answer). */
  quit(): void {
    if (this.dead) return;
    this.closing = true;
    this.socket.unref();
    this.socket.end('QUIT\r\n');
    this.socket.setTimeout(Math.min(this.timeoutMs, 5000), () => this.socket.destroy());
  }

  destroy(): void {
    this.fail(this.error(this.stage, `${this.at}: connection closed by the client`, { code: 'ECONNECTION' }));
  }

  // --- transactions ---------------------------------------------------------------------------

  /** MAIL FROM, RCPT TO and DATA for an envelope, or why it cannot go on this connection. */
  private envelope(env: Envelope, body: string): { lines: string[]; what: string[] } | MailError {
    const utf8 = hasEightBit(env.from) || env.to.some(hasEightBit);
    if (utf8 && !this.ext.has('SMTPUTF8')) return this.error('send', `${this.at} does not support SMTPUTF8, needed for a non-ASCII address`, { code: 'EENVELOPE' });
    const params = `${utf8 ? ' SMTPUTF8' : ''}${hasEightBit(body) && this.ext.has('8BITMIME') ? ' BODY=8BITMIME' : ''}`;
    const wire = (a: string) => (utf8 ? Buffer.from(a, 'utf8').toString('latin1') : a);
    const lines = [`MAIL FROM:<${wire(env.from)}>${params}`];
    const what = ['MAIL FROM'];
    for (const a of env.to) {
      lines.push(`RCPT TO:<${wire(a)}>`);
      what.push('RCPT TO');
    }
    lines.push('DATA');
    what.push('DATA');
    return { lines, what };
  }

  private async exchange<J extends Job>(job: J, takeNext: (() => J | undefined) | undefined, sent: Promise<Answer>[] | undefined): Promise<{ outcome: TxOutcome; chained?: Chained<J> }> {
    const { env, body } = job;
    let answers: Answer[];
    if (sent) answers = await Promise.all(sent);
    else {
      const cmds = this.envelope(env, body);
      if (cmds instanceof MailError) return { outcome: { ok: false, error: cmds, retry: false } };
      if (this.pipelining) answers = await Promise.all(this.commands(cmds.lines, cmds.what));
      else answers = await this.lockStep(cmds.lines, cmds.what);
    }
    // The server is closing (421, the rest of the group unanswered) or went away before the body:
    // nothing was accepted, another connection may take the message (but not after a timeout).
    const closing = answers.find((a): a is Reply => !(a instanceof MailError) && a.code === 421);
    if (closing) {
      this.closing = true;
      return { outcome: { ok: false, error: this.replyError('send', 'the server is closing the connection', closing, 'EENVELOPE'), retry: true } };
    }
    const lost = answers.find((a): a is MailError => a instanceof MailError);
    if (lost) return { outcome: { ok: false, error: lost, retry: lost.code === 'ECONNECTION' } };
    const replies = answers as Reply[];
    const mailReply = replies[0]!;
    const dataReply = replies.length === env.to.length + 2 ? replies[replies.length - 1] : undefined;
    if (mailReply.code >= 400) return { outcome: await this.refused(mailReply, `sender <${env.from}> refused`, dataReply) };
    const accepted: string[] = [];
    const rejected: string[] = [];
    let firstRefusal: Reply | undefined;
    env.to.forEach((a, i) => {
      const r = replies[i + 1]!;
      if (r.code < 400) accepted.push(a);
      else {
        rejected.push(a);
        firstRefusal ??= r;
      }
    });
    if (accepted.length === 0) return { outcome: await this.refused(firstRefusal!, 'every recipient was refused', dataReply) };
    if (!dataReply || dataReply.code !== 354) return { outcome: await this.refused(dataReply!, 'DATA refused', undefined, 'EMESSAGE') };
    const final = this.expect('end of data');
    let chained: Chained<J> | undefined;
    const next = this.pipelining && this.usable ? takeNext?.() : undefined;
    const nextCmds = next ? this.envelope(next.env, next.body) : undefined;
    if (next && nextCmds && !(nextCmds instanceof MailError)) {
      chained = { job: next, sent: nextCmds.what.map((w) => this.expect(w)) };
      this.socket.write(`${body}${nextCmds.lines.join('\r\n')}\r\n`, 'latin1');
    } else {
      // A next message that cannot go here at all still goes through transaction(), which says why.
      if (next) chained = { job: next, sent: [Promise.resolve(nextCmds as MailError)] };
      this.socket.write(body, 'latin1');
    }
    const end = await final;
    if (end instanceof MailError) return { outcome: { ok: false, error: end, retry: false }, ...(chained ? { chained } : {}) };
    if (end.code >= 400) {
      if (end.code === 421) this.closing = true;
      return { outcome: { ok: false, error: this.replyError('send', 'message refused', end, 'EMESSAGE'), retry: end.code === 421 }, ...(chained ? { chained } : {}) };
    }
    return { outcome: { ok: true, response: textOf(end), accepted, rejected }, ...(chained ? { chained } : {}) };
  }

  /** Without PIPELINING: one command at a time, stopping at a refused MAIL FROM or when no RCPT was accepted. */
  private async lockStep(lines: string[], what: string[]): Promise<Answer[]> {
    const out: Answer[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (i === lines.length - 1 && !out.slice(1).some((a) => !(a instanceof MailError) && a.code < 400)) break;
      const a = await this.command(lines[i]!, what[i]!);
      out.push(a);
      if (a instanceof MailError || (i === 0 && a.code >= 400)) break;
    }
    return out;
  }

  /**
   * A refused transaction: the answer as the error, and the session made clean again (a 354 to DATA
   * despite no recipient gets an empty message, which the server refuses; otherwise RSET).
   */
  private async refused(r: Reply, what: string, data: Reply | undefined, code = 'EENVELOPE'): Promise<TxOutcome> {
    const error = this.replyError('send', what, r, code);
    const a = await (data?.code === 354 ? this.command('.', 'end of data') : this.command('RSET', 'RSET'));
    // A session that cannot be reset is not used again.
    if (!(a instanceof MailError) && a.code >= 400 && data?.code !== 354) this.closing = true;
    return { ok: false, error, retry: false };
  }

  // --- session set-up ---------------------------------------------------------------------------

  private async handshake(): Promise<void> {
    const greeting = await this.expect('greeting');
    if (greeting instanceof MailError) throw greeting;
    if (greeting.code !== 220) throw this.replyError('connect', 'greeting refused', greeting, 'EPROTOCOL');
    await this.hello();
    if (this.s.tls === 'starttls') {
      if (!this.ext.has('STARTTLS')) throw this.error('connect', `${this.at} does not offer STARTTLS (tls: starttls)`, { code: 'ETLS' });
      const r = await this.command('STARTTLS', 'STARTTLS');
      if (!isOk(r)) throw r instanceof MailError ? r : this.replyError('connect', 'STARTTLS refused', r, 'ETLS');
      await this.upgrade();
      await this.hello();
    }
    if (this.s.user) {
      this.stage = 'auth';
      await this.auth(this.s.user, this.s.password ?? '');
    }
    this.stage = 'send';
    this.socket.unref();
  }

  private async hello(): Promise<void> {
    const name = this.s.name ?? defaultName(this.socket);
    let r = await this.command(`EHLO ${name}`, 'EHLO');
    if (r instanceof MailError) throw r;
    // 500 / 502: a server from before ESMTP.
    if (r.code === 500 || r.code === 502) {
      r = await this.command(`HELO ${name}`, 'HELO');
      if (r instanceof MailError) throw r;
      if (r.code !== 250) throw this.replyError('connect', 'HELO refused', r, 'EPROTOCOL');
      this.ext = new Map();
      return;
    }
    if (r.code !== 250) throw this.replyError('connect', 'EHLO refused', r, 'EPROTOCOL');
    this.ext = ehloExtensions(r);
  }

  private async upgrade(): Promise<void> {
    const raw = this.socket;
    this.detach(raw);
    raw.on('error', () => {}); // the TLS socket reports what goes wrong underneath
    this.tlsPending = true;
    const secure = tls.connect({ socket: raw, host: this.s.host, ...tlsOptions(this.s.host, this.s) });
    this.socket = secure;
    this.attach(secure);
    const ready = this.expect('TLS handshake');
    secure.once('secureConnect', () => {
      this.tlsPending = false;
      const w = this.waiters.shift();
      w?.done({ code: 220, text: '220 TLS' });
    });
    const r = await ready;
    if (r instanceof MailError) throw r;
  }

  private async auth(user: string, password: string): Promise<void> {
    const offered = (this.ext.get('AUTH') ?? '').toUpperCase().split(/\s+/);
    let r: Answer;
    if (offered.includes('PLAIN')) r = await this.command(`AUTH PLAIN ${b64(`\0${user}\0${password}`)}`, 'AUTH PLAIN');
    else if (offered.includes('LOGIN')) {
      r = await this.command('AUTH LOGIN', 'AUTH LOGIN');
      if (!(r instanceof MailError) && r.code === 334) r = await this.command(b64(user), 'AUTH LOGIN user name');
      if (!(r instanceof MailError) && r.code === 334) r = await this.command(b64(password), 'AUTH LOGIN password');
    } else {
      const what = this.ext.has('AUTH') ? `offers AUTH ${this.ext.get('AUTH')}, not PLAIN or LOGIN` : 'does not offer AUTH';
      throw this.error('auth', `${this.at} ${what}${this.s.tls === 'none' ? ' (over a connection without TLS)' : ''}`, { code: 'EAUTH' });
    }
    if (r instanceof MailError) throw r;
    if (r.code !== 235) throw this.replyError('auth', 'authentication failed', r, 'EAUTH');
  }

  // --- the wire ---------------------------------------------------------------------------------

  private command(line: string, what: string): Promise<Answer> {
    return this.commands([line], [what])[0]!;
  }

  /** Write the lines in one write; one answer per line, in order. */
  private commands(lines: string[], what: string[]): Promise<Answer>[] {
    const answers = what.map((w) => this.expect(w));
    if (!this.dead) this.socket.write(lines.length === 1 ? `${lines[0]}\r\n` : `${lines.join('\r\n')}\r\n`, 'latin1');
    return answers;
  }

  /** The next answer from the server (to a command about to be written, or the greeting). */
  private expect(what: string): Promise<Answer> {
    if (this.dead) return Promise.resolve(this.dead);
    return new Promise((done) => this.waiters.push({ what, done }));
  }

  private readonly onData = (chunk: Buffer) => {
    let replies: Reply[];
    try {
      replies = this.reader.push(chunk.toString('latin1'));
    } catch (e) {
      this.fail(this.error(this.stage, `${this.at}: ${(e as Error).message}`, { code: 'EPROTOCOL' }));
      return;
    }
    for (const r of replies) {
      if (r.code === 421) this.closing = true;
      const w = this.waiters.shift();
      if (w) w.done(r);
      else if (r.code !== 421) {
        this.fail(this.error(this.stage, `${this.at} answered without a command: ${textOf(r)}`, { code: 'EPROTOCOL', response: textOf(r), responseCode: r.code }));
      }
    }
  };

  private readonly onError = (e: NodeJS.ErrnoException) => {
    const tlsFailure = this.tlsPending || /certificate|SSL|TLS/i.test(e.code ?? '') || /certificate|ssl|tls/i.test(e.message);
    const stage: MailStage = tlsFailure ? 'connect' : this.stage;
    this.fail(this.error(stage, `${this.at}: ${describeSocketError(e)}${this.waitingFor()}`, { cause: e, code: tlsFailure ? 'ETLS' : 'ECONNECTION' }));
  };

  private readonly onClose = () => {
    this.fail(this.error(this.stage, `${this.at} closed the connection${this.waitingFor()}`, { code: 'ECONNECTION' }));
  };

  private readonly onTimeout = () => {
    if (this.waiters.length === 0) return; // idle in the pool: the server decides when to hang up
    const what = this.waiters[0]!.what;
    const connecting = what === 'greeting' && this.socket.connecting;
    this.fail(
      this.error(this.stage, connecting ? `timeout connecting to ${this.at} after ${this.timeoutMs} ms` : `timeout: no ${what === 'greeting' || what === 'TLS handshake' ? what : `answer to ${what}`} from ${this.at} within ${this.timeoutMs} ms`, {
        code: 'ETIMEDOUT',
      }),
    );
  };

  private waitingFor(): string {
    const w = this.waiters[0];
    return w ? ` (waiting for ${w.what === 'greeting' || w.what === 'TLS handshake' ? `the ${w.what}` : `the answer to ${w.what}`})` : '';
  }

  private get handlers(): SocketHandlers {
    return { onData: this.onData, onError: this.onError, onClose: this.onClose, onTimeout: this.onTimeout };
  }

  private attach(sock: net.Socket): void {
    sock.setTimeout(this.timeoutMs);
    attachHandlers(sock, this.handlers);
  }

  private detach(sock: net.Socket): void {
    detachHandlers(sock, this.handlers);
  }

  /** The connection is gone: every waiting answer is this error. */
  private fail(e: MailError): void {
    if (this.dead) return;
    this.dead = e;
    this.socket.destroy();
    for (const w of this.waiters.splice(0)) w.done(e);
  }

  private error(stage: MailStage, message: string, o: { code: string; cause?: unknown; response?: string; responseCode?: number }): MailError {
    return new MailError(stage, message, { ...o, secrets: this.secrets });
  }

  private replyError(stage: MailStage, what: string, r: Reply, code: string): MailError {
    const text = textOf(r);
    return this.error(stage, `${what}: ${text.replace(/\n/g, ' ')}`, { code, response: text, responseCode: r.code });
  }
}

/** EHLO name: the host name when it is a domain, else the address literal of our end (as nodemailer). */
function defaultName(sock: net.Socket): string {
  const h = os.hostname();
  if (h.includes('.')) return h;
  const a = sock.localAddress ?? '127.0.0.1';
  return net.isIPv6(a) ? `[IPv6:${a}]` : `[${a}]`;
}
