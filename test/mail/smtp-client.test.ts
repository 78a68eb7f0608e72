/**
 * The SMTP client's session rules against a real smtp-server on loopback, with a recording relay
 * (test/helpers/tcp-tap.ts) in between to see what went in one write: PIPELINING when advertised
 * (envelope in one write, the next message in the write of the previous body), one command at a time
 * when not, a recipient refused mid-pipeline, a refused MAIL FROM followed by RSET, a 421 mid-session
 * and an idle connection the server dropped (a fresh connection takes the message), a server that
 * stops answering, an unreachable server failing every waiting message, and close().
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { createSmtpSender, type OutgoingMessage, type SmtpSender } from '../../lib/mail/smtp.js';
import { freePort } from '../helpers/net.js';
import { startTcpTap, type TcpTap } from '../helpers/tcp-tap.js';

interface Got {
  from: string;
  to: string[];
  raw: string;
}

type Hooks = Pick<SMTPServerOptions, 'onMailFrom' | 'onRcptTo'>;

async function startServer(opts: { pipelining: boolean } & Hooks) {
  const received: Got[] = [];
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    hidePIPELINING: !opts.pipelining,
    logger: false,
    ...(opts.onMailFrom ? { onMailFrom: opts.onMailFrom } : {}),
    onRcptTo:
      opts.onRcptTo ??
      ((addr, _s, cb) => {
        if (!addr.address.startsWith('refuse')) return cb();
        const e = new Error(`5.1.1 <${addr.address}>: Recipient address rejected`) as Error & { responseCode: number };
        e.responseCode = 550;
        cb(e);
      }),
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString() });
        cb(null, `Ok: queued as Q${received.length}`);
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const tap = await startTcpTap(port);
  const close = async () => {
    await tap.close();
    await new Promise<void>((r) => server.close(() => r()));
  };
  cleanups.push(close);
  return { port: tap.port, tap, received };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function sender(port: number, extra: { pool?: number; timeoutMs?: number } = {}): SmtpSender {
  const s = createSmtpSender({ host: '127.0.0.1', port, tls: 'none', name: 'client.mon.test', ...extra });
  cleanups.push(() => s.close());
  return s;
}

const msg = (to: string | string[], n: number, from = 'probes@mon.test'): OutgoingMessage => ({ from, to, subject: `probe ${n}`, text: `probe number ${n}\n.\n` });

/** What the client wrote in one write, as command names ("MAIL RCPT RCPT DATA"); body text as "body". */
const writes = (tap: TcpTap) =>
  tap.chunks.map((c) =>
    c
      .split('\r\n')
      .filter((l) => l !== '')
      .map((l) => (/^(MAIL|RCPT|DATA|RSET|QUIT|EHLO)\b/.exec(l)?.[1] ?? (l === '.' ? 'END' : 'body')))
      .filter((w, i, a) => w !== 'body' || a[i - 1] !== 'body')
      .join(' '),
  );

describe('SMTP client sessions', () => {
  it('with PIPELINING: the envelope in one write, and each next message in the write of the previous body', async () => {
    const srv = await startServer({ pipelining: true });
    const smtp = sender(srv.port);
    const rs = await smtp.sendMany([msg(['a@dom.test', 'b@dom.test'], 1), msg('c@dom.test', 2), msg('d@dom.test', 3)]);
    expect(rs.map((r) => r.ok && r.response)).toEqual(['250 Ok: queued as Q1', '250 Ok: queued as Q2', '250 Ok: queued as Q3']);
    expect(srv.received.map((g) => [g.from, g.to])).toEqual([
      ['probes@mon.test', ['a@dom.test', 'b@dom.test']],
      ['probes@mon.test', ['c@dom.test']],
      ['probes@mon.test', ['d@dom.test']],
    ]);
    // The body arrives unchanged (the lone "." line was dot-stuffed on the wire).
    expect(srv.received[2]!.raw).toMatch(/\r\n\r\nprobe number 3\r\n\.\r\n$/);
    expect(writes(srv.tap)).toEqual(['EHLO', 'MAIL RCPT RCPT DATA', 'body END MAIL RCPT DATA', 'body END MAIL RCPT DATA', 'body END']);
    expect(srv.tap.connections).toBe(1);
  });

  it('without PIPELINING: one command at a time', async () => {
    const srv = await startServer({ pipelining: false });
    const smtp = sender(srv.port);
    const rs = await smtp.sendMany([msg(['a@dom.test', 'b@dom.test'], 1), msg('c@dom.test', 2)]);
    expect(rs.every((r) => r.ok)).toBe(true);
    expect(writes(srv.tap)).toEqual(['EHLO', 'MAIL', 'RCPT', 'RCPT', 'DATA', 'body END', 'MAIL', 'RCPT', 'DATA', 'body END']);
    expect(srv.received).toHaveLength(2);
  });

  for (const pipelining of [true, false]) {
    const how = pipelining ? 'pipelined' : 'one at a time';
    it(`a recipient refused mid-envelope (${how}): the others get the message, the refused one is listed`, async () => {
      const srv = await startServer({ pipelining });
      const smtp = sender(srv.port);
      const [r, next] = await smtp.sendMany([msg(['a@dom.test', 'refuse-b@dom.test', 'c@dom.test'], 1), msg('d@dom.test', 2)]);
      expect(r).toMatchObject({ ok: true, accepted: ['a@dom.test', 'c@dom.test'], rejected: ['refuse-b@dom.test'] });
      expect(next!.ok).toBe(true);
      expect(srv.received.map((g) => g.to)).toEqual([['a@dom.test', 'c@dom.test'], ['d@dom.test']]);
      expect(srv.tap.connections).toBe(1);
    });

    it(`every recipient refused (${how}): a send error with the first refusal; RSET, and the next message goes`, async () => {
      const srv = await startServer({ pipelining });
      const smtp = sender(srv.port);
      const [bad, good] = await smtp.sendMany([msg(['refuse-a@dom.test', 'refuse-b@dom.test'], 1), msg('d@dom.test', 2)]);
      expect(bad!.ok).toBe(false);
      if (bad!.ok) return;
      expect(bad!.error).toMatchObject({ stage: 'send', responseCode: 550, code: 'EENVELOPE' });
      expect(bad!.error.message).toMatch(/every recipient was refused: 550 5\.1\.1 <refuse-a@dom\.test>/);
      expect(good!.ok).toBe(true);
      expect(srv.received.map((g) => g.to)).toEqual([['d@dom.test']]);
      expect(writes(srv.tap)).toContain('RSET');
    });

    it(`a refused MAIL FROM (${how}): a send error with the answer; RSET, and the next message goes on the same connection`, async () => {
      const srv = await startServer({
        pipelining,
        onMailFrom(addr, _s, cb) {
          if (!addr.address.startsWith('blocked')) return cb();
          const e = new Error('5.7.1 <' + addr.address + '>: Sender address rejected: not allowed') as Error & { responseCode: number };
          e.responseCode = 553;
          cb(e);
        },
      });
      const smtp = sender(srv.port);
      const [bad, good] = await smtp.sendMany([msg('a@dom.test', 1, 'blocked@mon.test'), msg('b@dom.test', 2)]);
      expect(bad!.ok).toBe(false);
      if (bad!.ok) return;
      expect(bad!.error).toMatchObject({ stage: 'send', responseCode: 553 });
      expect(bad!.error.response).toBe('553 5.7.1 <blocked@mon.test>: Sender address rejected: not allowed');
      expect(good!.ok).toBe(true);
      expect(srv.received).toEqual([expect.objectContaining({ from: 'probes@mon.test', to: ['b@dom.test'] })]);
      expect(srv.tap.connections).toBe(1);
    });
  }

  it('a 421 mid-session: the server hangs up, the message goes again on a fresh connection', async () => {
    const perSession = new Map<string, number>();
    const srv = await startServer({
      pipelining: true,
      onMailFrom(_a, session: SMTPServerSession, cb) {
        const n = (perSession.get(session.id) ?? 0) + 1;
        perSession.set(session.id, n);
        if (n < 3) return cb();
        const e = new Error('4.7.0 too many messages in this session, come back later') as Error & { responseCode: number };
        e.responseCode = 421;
        cb(e);
      },
    });
    const smtp = sender(srv.port);
    const rs = await smtp.sendMany([1, 2, 3, 4, 5].map((n) => msg(`u${n}@dom.test`, n)));
    expect(rs.map((r) => r.ok)).toEqual([true, true, true, true, true]);
    expect(srv.received.map((g) => g.to[0])).toEqual(['u1@dom.test', 'u2@dom.test', 'u3@dom.test', 'u4@dom.test', 'u5@dom.test']);
    expect(srv.tap.connections).toBe(3);
  });

  it('a server answering 421 every time: the message fails (after one more try) with the answer', async () => {
    const srv = await startServer({
      pipelining: true,
      onMailFrom(_a, _s, cb) {
        const e = new Error('4.3.2 service shutting down') as Error & { responseCode: number };
        e.responseCode = 421;
        cb(e);
      },
    });
    const smtp = sender(srv.port);
    const r = await smtp.send(msg('a@dom.test', 1));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ stage: 'send', responseCode: 421 });
    expect(r.error.response).toBe('421 4.3.2 service shutting down');
    expect(srv.tap.connections).toBe(2);
  });

  it('an idle connection the server dropped is replaced', async () => {
    const srv = await startServer({ pipelining: true });
    const smtp = sender(srv.port);
    expect((await smtp.send(msg('a@dom.test', 1))).ok).toBe(true);
    srv.tap.cutAll();
    // Whether the client noticed the hang-up yet or not, the message goes.
    expect((await smtp.send(msg('b@dom.test', 2))).ok).toBe(true);
    expect(srv.received.map((g) => g.to[0])).toEqual(['a@dom.test', 'b@dom.test']);
    expect(srv.tap.connections).toBe(2);
  });

  it('a server that stops answering: a send-stage timeout naming the command', async () => {
    const srv = await startServer({ pipelining: true, onMailFrom: () => {} });
    const smtp = sender(srv.port, { timeoutMs: 300 });
    const r = await smtp.send(msg('a@dom.test', 1));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ stage: 'send', code: 'ETIMEDOUT' });
    expect(r.error.message).toMatch(/timeout: no answer to MAIL FROM from 127\.0\.0\.1:\d+ within 300 ms/);
  });

  it('an unreachable server fails every waiting message with the connect error', async () => {
    const port = await freePort();
    const smtp = sender(port, { pool: 2 });
    const rs = await smtp.sendMany([1, 2, 3, 4, 5].map((n) => msg(`u${n}@dom.test`, n)));
    expect(rs.map((r) => !r.ok && r.error.stage)).toEqual(['connect', 'connect', 'connect', 'connect', 'connect']);
    expect(rs.map((r) => !r.ok && r.error.message)).toEqual(rs.map(() => `connect: 127.0.0.1:${port}: connection refused (waiting for the greeting)`));
  });

  it('HTML mail is composed (multipart/alternative) and sent the same way', async () => {
    const { simpleParser } = await import('mailparser');
    const srv = await startServer({ pipelining: true });
    const smtp = sender(srv.port);
    const r = await smtp.send({ from: 'alerts@mon.test', to: ['ops@dom.test', 'oncall@dom.test'], subject: 'Zustellung gestört', text: 'two domains failing\n', html: '<p>two domains <b>failing</b></p>', messageId: 'alert-1@mon.test' });
    expect(r).toMatchObject({ ok: true, accepted: ['ops@dom.test', 'oncall@dom.test'], messageId: '<alert-1@mon.test>' });
    const m = await simpleParser(srv.received[0]!.raw);
    expect(m.subject).toBe('Zustellung gestört');
    expect(m.html).toContain('<b>failing</b>');
    expect(m.text).toBe('two domains failing\n');
    expect(srv.received[0]!.raw).toMatch(/Content-Type: multipart\/alternative/);
  });

  it('close() fails the messages still waiting and sends no more', async () => {
    const srv = await startServer({ pipelining: true });
    const smtp = sender(srv.port);
    const all = smtp.sendMany([1, 2, 3].map((n) => msg(`u${n}@dom.test`, n)));
    smtp.close();
    const rs = await all;
    expect(rs.every((r) => !r.ok && /was closed/.test(r.error.message))).toBe(true);
    expect(srv.received).toHaveLength(0);
    const late = await smtp.send(msg('x@dom.test', 4));
    expect(late.ok).toBe(false);
  });
});
