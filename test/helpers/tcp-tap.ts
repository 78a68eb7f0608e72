/**
 * A TCP relay on loopback between a client and a real server that records what the client sent, one
 * entry per read: commands a client wrote in one go arrive together, a client waiting for each answer
 * sends them apart. Also counts connections and can cut them (a server hanging up on an idle client),
 * or cut a connection when the client sends something (`cutOn`: the network failing in the middle of
 * a command; what matched is not forwarded).
 *
 *   const tap = await startTcpTap(serverPort);   // point the client at tap.port
 *   tap.chunks  // ['EHLO x\r\n', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n', ...]
 */
import net from 'node:net';

export interface TcpTap {
  port: number;
  chunks: string[];
  readonly connections: number;
  /** Close every relayed connection (both sides). */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startTcpTap(targetPort: number, host = '127.0.0.1', opts: { cutOn?: RegExp } = {}): Promise<TcpTap> {
  const chunks: string[] = [];
  const open = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(targetPort, host);
    open.add(client);
    open.add(upstream);
    client.on('data', (c: Buffer) => {
      chunks.push(c.toString('latin1'));
      if (opts.cutOn?.test(c.toString('latin1'))) {
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => client.write(c));
    const done = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('close', done);
    upstream.on('close', done);
    client.on('error', done);
    upstream.on('error', done);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    chunks,
    get connections() {
      return connections;
    },
    cutAll() {
      for (const s of open) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}
