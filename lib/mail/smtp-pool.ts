/**
 * A pool of at most `size` SMTP connections (smtp-conn.ts) kept open between messages. Messages wait
 * in one queue; each open connection takes the next as soon as it is free. A connection the server
 * closed or ended with 421 is replaced, and a message it had not accepted is tried once more on a
 * fresh connection. When no connection can be opened (server down, TLS or login refused) every
 * waiting message fails with that error instead of each waiting for its own timeout; when some are
 * open, the pool makes do with those (a server limiting connections per client).
 */
import { MailError } from './errors.js';
import { SmtpConnection, type Chained, type ConnectionSettings, type Envelope, type TxOutcome } from './smtp-conn.js';

interface Job {
  env: Envelope;
  body: string;
  /** Times it went back into the queue (at most once). */
  tried: number;
  done: (o: TxOutcome) => void;
}

export class SmtpPool {
  private readonly idle: SmtpConnection[] = [];
  private queue: Job[] = [];
  private head = 0;
  /** Connections open or being opened. */
  private open = 0;
  private opening = 0;
  private cap: number;
  private closed = false;

  constructor(
    private readonly s: ConnectionSettings,
    private readonly secrets: readonly string[],
    private readonly size: number,
  ) {
    this.cap = Math.max(1, size);
  }

  /** Send one message (envelope + DATA text from dataBody()). Never throws. */
  submit(env: Envelope, body: string): Promise<TxOutcome> {
    if (this.closed) return Promise.resolve({ ok: false, retry: false, error: new MailError('send', 'the SMTP sender was closed', { code: 'ECONNECTION' }) });
    return new Promise((done) => {
      this.queue.push({ env, body, tried: 0, done });
      this.pump();
    });
  }

  /** Open one connection and QUIT: the set-up errors as a MailError. */
  async verify(): Promise<void> {
    const c = await SmtpConnection.open(this.s, this.secrets);
    c.quit();
  }

  /** QUIT idle connections; busy ones after their message; waiting messages fail. */
  close(): void {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.quit();
    const waiting = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    for (const j of waiting) j.done({ ok: false, retry: false, error: new MailError('send', 'the SMTP sender was closed before this message was sent', { code: 'ECONNECTION' }) });
  }

  private get waiting(): number {
    return this.queue.length - this.head;
  }

  private take(): Job | undefined {
    if (this.head >= this.queue.length) return undefined;
    const j = this.queue[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return j;
  }

  private pump(): void {
    while (this.waiting > 0 && this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (!c.usable) {
        this.open--;
        c.destroy();
        continue;
      }
      void this.run(c, this.take()!);
    }
    // Open connections for what is still waiting (beyond those being opened), up to the cap.
    for (let want = Math.min(this.waiting - this.opening, this.cap - this.open); want > 0; want--) this.connect();
  }

  private connect(): void {
    this.open++;
    this.opening++;
    SmtpConnection.open(this.s, this.secrets).then(
      (c) => {
        this.opening--;
        if (this.closed) {
          this.open--;
          c.quit();
          return;
        }
        this.idle.push(c);
        this.pump();
      },
      (e: unknown) => {
        this.opening--;
        this.open--;
        const error = e instanceof MailError ? e : new MailError('connect', String(e), { cause: e, secrets: this.secrets });
        if (this.open > 0) {
          // Others are open: make do with them.
          this.cap = Math.max(1, this.open);
          return;
        }
        const waiting = this.queue.slice(this.head);
        this.queue = [];
        this.head = 0;
        for (const j of waiting) j.done({ ok: false, retry: false, error });
      },
    );
  }

  /** Messages on one connection until the queue is empty (each body's write starts the next message). */
  private async run(c: SmtpConnection, first: Job): Promise<void> {
    let cur: Chained<Job> | { job: Job; sent?: undefined } | undefined = { job: first };
    while (cur) {
      const { outcome, chained }: { outcome: TxOutcome; chained?: Chained<Job> } = await c.transaction(cur.job, this.takeNext, cur.sent);
      this.settle(cur.job, outcome);
      cur = chained ?? (c.usable && !this.closed ? this.wrap(this.take()) : undefined);
    }
    if (c.usable && !this.closed) this.idle.push(c);
    else {
      this.open--;
      if (c.usable) c.quit();
      else c.destroy();
    }
    if (this.waiting === 0) this.cap = Math.max(1, this.size);
    this.pump();
  }

  private readonly takeNext = (): Job | undefined => (this.closed ? undefined : this.take());

  private wrap(job: Job | undefined): { job: Job } | undefined {
    return job ? { job } : undefined;
  }

  /** A message's outcome, or once more in the queue when the server hung up before accepting it. */
  private settle(job: Job, o: TxOutcome): void {
    if (!o.ok && o.retry && job.tried === 0 && !this.closed) {
      job.tried++;
      this.queue.splice(this.head, 0, job);
      this.pump();
    } else job.done(o);
  }
}
