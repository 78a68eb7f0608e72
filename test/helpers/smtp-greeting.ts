/**
 * A real TCP server on a loopback IP that greets like an MTA: a configurable banner (one line,
 * several `220-` lines, a refusal such as 554, or nothing at all), then records what the client sends
 * (QUIT) and answers 221. Test MTAs live on 127.1.0.x: all of 127/8 is local on Linux.
 *
 *   const mx = await startSmtpGreeting({ host: '127.1.0.10', banner: '220 mx1.example.test ESMTP' });
 *   config.smtp_banner_port = mx.port;  // other greeters join with { port: mx.port }
 */
import net from 'node:net';

export interface SmtpGreeting {
  host: string;
  port: number;
  /** Lines received from clients, in order (expect 'QUIT'). */
  readonly received: readonly string[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** Change the banner: a string or lines sent as-is with CRLF; null sends nothing (the client times out). */
  setBanner(banner: string | string[] | null): void;
  close(): Promise<void>;
}

export async function startSmtpGreeting(opts: { host: string; port?: number; banner: string | string[] | null }): Promise<SmtpGreeting> {
  let banner = opts.banner;
  const received: string[] = [];
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (banner !== null) {
      const lines = Array.isArray(banner) ? banner : [banner];
      socket.write(lines.map((l) => l + '\r\n').join(''));
    }
    let buf = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        received.push(line);
        if (line.toUpperCase() === 'QUIT') socket.end('221 2.0.0 Bye\r\n');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    host: opts.host,
    port: (server.address() as net.AddressInfo).port,
    get received() {
      return received;
    },
    get connections() {
      return connections;
    },
    setBanner: (b) => void (banner = b),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
