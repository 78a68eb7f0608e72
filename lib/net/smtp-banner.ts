/**
 * Reads an MTA's SMTP greeting: connect, read the 220 reply (multi-line `220-` greetings included),
 * send QUIT, hang up. Everything is bounded by one timeout; every failure is an SmtpBannerError with a
 * kind and a reason a user can act on. The parser is pure and tested on its own.
 */
import net from 'node:net';

export type SmtpBannerErrorKind = 'timeout' | 'connect' | 'closed' | 'protocol';

export class SmtpBannerError extends Error {
  constructor(
    readonly kind: SmtpBannerErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SmtpBannerError';
  }
}

export interface Greeting {
  code: number;
  /** Every line of the reply, without the code and separator. */
  lines: string[];
  /** The host name the server announces: the first word after the code on the first line. */
  hostname: string | null;
}

/** Longest greeting we wait for; a server sending more without ending its reply is broken. */
const maxGreetingBytes = 16 * 1024;

/**
 * Parse the reply lines received so far. Null while the reply is incomplete (no final `NNN ` line).
 * Throws SmtpBannerError('protocol') on a line that is not an SMTP reply line.
 */
export function parseGreeting(text: string): Greeting | null {
  const raw = text.split('\n');
  raw.pop(); // the part after the last newline is not a complete line yet
  const lines: string[] = [];
  let code: number | null = null;
  for (const l of raw) {
    const line = l.replace(/\r$/, '');
    const m = /^(\d{3})([ -]|$)(.*)$/.exec(line);
    if (!m) throw new SmtpBannerError('protocol', `not an SMTP greeting: ${JSON.stringify(line.slice(0, 120))}`);
    const c = Number(m[1]);
    if (code !== null && c !== code) throw new SmtpBannerError('protocol', `inconsistent reply codes ${code} and ${c} in the greeting`);
    code = c;
    lines.push(m[3]!);
    if (m[2] !== '-') {
      const hostname = lines[0]!.trim().split(/\s+/)[0] || null;
      return { code, lines, hostname };
    }
  }
  return null;
}

export interface BannerOptions {
  port: number;
  timeoutMs: number;
}

/**
 * Connect to `ip:port`, read the greeting, send QUIT. Rejects with SmtpBannerError: timeout (no
 * complete greeting in time), connect (refused, unreachable), closed (hung up first), protocol (not
 * SMTP, or a greeting other than 220, e.g. 554 "no service").
 */
export function readSmtpBanner(ip: string, opts: BannerOptions): Promise<Greeting> {
  return new Promise<Greeting>((resolve, reject) => {
    const socket = net.connect({ host: ip, port: opts.port });
    let buf = '';
    let done = false;
    const finish = (err: SmtpBannerError | null, g?: Greeting) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        socket.destroy();
        reject(err);
        return;
      }
      // Polite close: QUIT, then hang up without waiting for the 221 (bounded by a short timer).
      socket.end('QUIT\r\n');
      setTimeout(() => socket.destroy(), 1000).unref();
      resolve(g!);
    };
    const timer = setTimeout(
      () => finish(new SmtpBannerError('timeout', `no SMTP greeting from ${ip}:${opts.port} within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      try {
        const g = parseGreeting(buf);
        if (g === null) {
          if (buf.length > maxGreetingBytes) finish(new SmtpBannerError('protocol', `greeting longer than ${maxGreetingBytes} bytes`));
          return;
        }
        if (g.code !== 220) {
          finish(new SmtpBannerError('protocol', `greeting is ${g.code}, not 220: ${g.lines.join(' ').slice(0, 200)}`));
          return;
        }
        finish(null, g);
      } catch (e) {
        finish(e as SmtpBannerError);
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) =>
      finish(new SmtpBannerError('connect', `cannot connect to ${ip}:${opts.port}: ${e.code ?? e.message}`, { cause: e })),
    );
    socket.on('close', () => finish(new SmtpBannerError('closed', `${ip}:${opts.port} closed the connection before a complete greeting`)));
  });
}
