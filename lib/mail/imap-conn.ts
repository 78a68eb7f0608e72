/**
 * One IMAP client connection (RFC 3501), as small as the probe reader needs: connect (plain or
 * implicit TLS), greeting, STARTTLS, LOGIN, then one command at a time whose untagged answers go to
 * the caller's handler as they arrive (framed and tokenized by imap-wire.ts, nothing built per answer
 * beyond what the caller asks for: a thousand FETCH or EXPUNGE answers cost the client about as much
 * as the server). The socket is paused while a handler runs, so a slow handler holds the server back
 * instead of piling answers up in memory. Failures are MailErrors: `imap-connect` until the login,
 * `imap-auth` for a refused login, `imap-search` after; a refused command is an `ImapRefusal`.
 */
import net from 'node:net';
import tls from 'node:tls';
import { describeSocketError, MailError, type MailStage } from './errors.js';
import { AnswerReader, astring, responseCode, wireText, type Answer, type Arg } from './imap-wire.js';
import { tlsOptions, type TlsSettings } from './tls.js';
import { attachHandlers, detachHandlers, type SocketHandlers } from './socket-handlers.js';

export interface ImapConnSettings extends TlsSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Connect / greeting timeout in ms (default 15 s); a command waits max(this, 30 s) for its next answer. */
  timeoutMs?: number | undefined;
}

/** A command the server answered NO or BAD. */
export class ImapRefusal extends Error {
  override readonly name = 'ImapRefusal';
  constructor(
    readonly status: 'NO' | 'BAD',
    readonly text: string,
    readonly code: string | undefined,
  ) {
    super(`${status} ${text}`);
  }
}

export type AnswerHandler = (a: Answer) => void | Promise<void>;

interface Pending {
  tag: string;
  onAnswer: AnswerHandler | undefined;
  /** A handler failure, thrown when the command completes (the answers still have to be read). */
  failure?: { e: unknown };
  continuation?: () => void;
  resolve: (r: { text: string; code: string | undefined }) => void;
  reject: (e: unknown) => void;
}

export class ImapConnection {
  /** Capabilities as the server announced them last (upper case). */
  readonly caps = new Set<string>();
  private socket: net.Socket;
  private reader = new AnswerReader();
  private current: Pending | undefined;
  private greeting: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private tags = 0;
  private dead: MailError | undefined;
  /** What the server said with BYE, for the error when it then hangs up. */
  private byeText: string | undefined;
  private stage: MailStage = 'imap-connect';
  private readonly at: string;
  private readonly timeoutMs: number;
  private readonly commandTimeoutMs: number;

  private constructor(
    private readonly s: ImapConnSettings,
    private readonly secrets: readonly string[],
  ) {
    this.at = `${s.host}:${s.port}`;
    this.timeoutMs = s.timeoutMs ?? 15_000;
    this.commandTimeoutMs = Math.max(this.timeoutMs, 30_000);
    this.socket = s.tls === 'tls' ? tls.connect({ host: s.host, port: s.port, ...tlsOptions(s.host, s) }) : net.connect({ host: s.host, port: s.port });
    this.socket.setNoDelay(true);
    this.attach(this.socket);
  }

  /** Connect, (STARTTLS,) log in; a MailError (imap-connect / imap-auth) when that fails. */
  static async open(s: ImapConnSettings, secrets: readonly string[]): Promise<ImapConnection> {
    const c = new ImapConnection(s, secrets);
    try {
      await c.handshake();
      c.stage = 'imap-search';
      return c;
    } catch (e) {
      c.destroy();
      throw e;
    }
  }

  /** True until the connection failed or closed. */
  get usable(): boolean {
    return this.dead === undefined;
  }

  /**
   * Run one command (parts joined by spaces; literals sent as the server allows); untagged answers
   * go to `onAnswer` in order. Resolves with the tagged OK's text; rejects with an ImapRefusal (NO /
   * BAD), the handler's error, or a MailError when the connection fails.
   */
  run(parts: readonly Arg[], onAnswer?: AnswerHandler): Promise<{ text: string; code: string | undefined }> {
    const next = this.chain.then(
      () => this.send(parts, onAnswer),
      () => this.send(parts, onAnswer),
    );
    this.chain = next.catch(() => {});
    return next;
  }

  /** LOGOUT, then hang up (also when the server does not answer within a few seconds). */
  async close(): Promise<void> {
    if (this.dead) return;
    const t = setTimeout(() => this.destroy(), Math.min(this.timeoutMs, 5000));
    try {
      await this.run(['LOGOUT']);
    } catch {
      /* closing anyway */
    } finally {
      clearTimeout(t);
      this.destroy();
    }
  }

  destroy(): void {
    this.fail(this.error(`${this.at}: connection closed by the client`, 'ECONNECTION'));
  }

  // --- handshake ----------------------------------------------------------------------------------

  private async handshake(): Promise<void> {
    const timer = setTimeout(() => this.fail(this.error(`${this.at}: no greeting within ${this.timeoutMs} ms`, 'ETIMEDOUT')), this.timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => (this.greeting = { resolve, reject }));
    } finally {
      clearTimeout(timer);
    }
    if (this.s.tls === 'starttls') {
      if (!this.caps.size) await this.run(['CAPABILITY']);
      if (!this.caps.has('STARTTLS')) throw this.error(`${this.at} does not offer STARTTLS (tls: starttls)`, 'ETLS');
      await this.run(['STARTTLS']).catch((e: unknown) => {
        throw e instanceof ImapRefusal ? this.error(`STARTTLS refused: ${e.text}`, 'ETLS') : e;
      });
      await this.upgrade();
      this.caps.clear();
    }
    if (!this.caps.size) await this.run(['CAPABILITY']);
    if (this.caps.has('LOGINDISABLED')) throw this.error(`${this.at} refuses LOGIN on this connection (LOGINDISABLED): use tls: starttls or tls`, 'EAUTH', 'imap-auth');
    this.caps.clear();
    try {
      await this.run(['LOGIN', astring(this.s.user), astring(this.s.password)]);
    } catch (e) {
      if (e instanceof ImapRefusal) {
        throw new MailError('imap-auth', `login refused: ${e.text}`, { response: e.text, code: e.code ?? 'EAUTH', secrets: this.secrets });
      }
      throw e;
    }
    // Capabilities change after login; most servers send them with the OK.
    if (!this.caps.size) await this.run(['CAPABILITY']);
  }

  private async upgrade(): Promise<void> {
    const raw = this.socket;
    this.detach(raw);
    raw.on('error', () => {}); // the TLS socket reports what goes wrong underneath
    const secure = tls.connect({ socket: raw, host: this.s.host, ...tlsOptions(this.s.host, this.s) });
    this.socket = secure;
    this.reader = new AnswerReader();
    this.attach(secure);
    const timer = setTimeout(() => this.fail(this.error(`${this.at}: TLS handshake timed out`, 'ETIMEDOUT')), this.timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', () => resolve());
        this.greeting = { resolve: () => {}, reject };
      });
    } finally {
      clearTimeout(timer);
      this.greeting = undefined;
    }
  }

  // --- commands -----------------------------------------------------------------------------------

  private send(parts: readonly Arg[], onAnswer: AnswerHandler | undefined): Promise<{ text: string; code: string | undefined }> {
    if (this.dead) return Promise.reject(this.dead);
    const tag = `M${++this.tags}`;
    return new Promise((resolve, reject) => {
      const p: Pending = { tag, onAnswer, resolve, reject };
      this.current = p;
      this.socket.setTimeout(this.commandTimeoutMs);
      void this.write(tag, parts, p).catch((e: unknown) => this.fail(e instanceof MailError ? e : this.error(String((e as Error)?.message ?? e), 'ECONNECTION')));
    });
  }

  /** Write the command; before each synchronizing literal wait for the server's "+" (LITERAL+ needs none). */
  private async write(tag: string, parts: readonly Arg[], p: Pending): Promise<void> {
    const plus = this.caps.has('LITERAL+');
    let line = tag;
    for (const part of parts) {
      if (typeof part === 'string') {
        line += ' ' + part;
        continue;
      }
      line += ` {${part.literal.length}${plus ? '+' : ''}}\r\n`;
      if (!plus) {
        const go = new Promise<void>((resolve) => (p.continuation = resolve));
        this.socket.write(line, 'latin1');
        await go;
        p.continuation = undefined;
        if (this.current !== p) return; // refused meanwhile
        this.socket.write(part.literal);
        line = '';
      } else {
        this.socket.write(line, 'latin1');
        this.socket.write(part.literal);
        line = '';
      }
    }
    this.socket.write(line + '\r\n', 'latin1');
  }

  // --- answers ------------------------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    let answers: Answer[];
    try {
      answers = this.reader.push(chunk);
    } catch (e) {
      this.fail(this.error(`${this.at}: ${(e as Error).message}`, 'EPROTOCOL'));
      return;
    }
    if (!answers.length) return;
    const sock = this.socket;
    sock.pause();
    void this.process(answers).then(() => {
      if (!this.dead && this.socket === sock) sock.resume();
    });
  };

  private async process(answers: Answer[]): Promise<void> {
    for (const a of answers) {
      if (this.dead) return;
      await this.dispatch(a);
    }
  }

  private async dispatch(a: Answer): Promise<void> {
    const t = a.text;
    if (t.startsWith('+')) {
      this.current?.continuation?.();
      return;
    }
    if (t.startsWith('* ')) {
      const m = /^\* (OK|NO|BAD|BYE|PREAUTH|CAPABILITY)\b ?(.*)$/i.exec(t);
      const kind = m?.[1]?.toUpperCase();
      if (kind === 'CAPABILITY') this.setCaps(m![2]!);
      else if (kind) {
        const code = responseCode(m![2]!);
        if (code?.code === 'CAPABILITY') this.setCaps(code.args);
        if (this.greeting && kind !== 'BYE') {
          const g = this.greeting;
          this.greeting = undefined;
          g.resolve();
          return;
        }
        if (kind === 'BYE') {
          // The server is closing: the current command fails with its words when the socket closes.
          this.byeText = wireText(m![2]!);
          return;
        }
      }
      const p = this.current;
      if (p?.onAnswer && !p.failure) {
        try {
          await p.onAnswer(a);
        } catch (e) {
          p.failure = { e };
        }
      }
      return;
    }
    const m = /^(\S+) (OK|NO|BAD) ?(.*)$/i.exec(t);
    const p = this.current;
    if (!m || !p || m[1] !== p.tag) return; // not ours: tolerated
    this.current = undefined;
    this.socket.setTimeout(0);
    p.continuation?.();
    const text = wireText(m[3]!);
    const code = responseCode(text);
    if (code?.code === 'CAPABILITY') this.setCaps(code.args);
    const status = m[2]!.toUpperCase();
    if (status !== 'OK') p.reject(new ImapRefusal(status as 'NO' | 'BAD', text, code?.code));
    else if (p.failure) p.reject(p.failure.e);
    else p.resolve({ text, code: code?.code });
  }

  private setCaps(list: string): void {
    this.caps.clear();
    for (const c of list.trim().split(/\s+/)) if (c) this.caps.add(c.toUpperCase());
  }

  // --- failure ------------------------------------------------------------------------------------

  private error(message: string, code: string, stage: MailStage = this.stage): MailError {
    return new MailError(stage, message, { code, secrets: this.secrets });
  }

  private fail(e: MailError): void {
    if (this.dead) return;
    this.dead = e;
    this.socket.destroy();
    const g = this.greeting;
    this.greeting = undefined;
    g?.reject(e);
    const p = this.current;
    this.current = undefined;
    p?.reject(e);
  }

  private readonly onError = (e: NodeJS.ErrnoException): void => {
    this.fail(new MailError(this.stage, `${this.at}: ${describeSocketError(e)}`, { cause: e, code: e.code ?? 'ECONNECTION', secrets: this.secrets }));
  };

  private readonly onClose = (): void => {
    const why = this.byeText ? `the server closed the connection: ${this.byeText}` : 'connection closed by the server';
    this.fail(this.error(`${this.at}: ${why}`, 'ECONNECTION'));
  };

  private readonly onTimeout = (): void => {
    this.fail(this.error(`${this.at}: no answer within ${this.commandTimeoutMs} ms`, 'ETIMEDOUT'));
  };

  private get handlers(): SocketHandlers {
    return { onData: this.onData, onError: this.onError, onClose: this.onClose, onTimeout: this.onTimeout };
  }

  private attach(sock: net.Socket): void {
    attachHandlers(sock, this.handlers);
  }

  private detach(sock: net.Socket): void {
    detachHandlers(sock, this.handlers);
  }
}
