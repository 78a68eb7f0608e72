/**
 * A real HTTP server on loopback for collector tests: each path answers with a configurable response
 * (CSV, an HTML login page, an empty body, a 500, a slow or never-answering peer). Requests are
 * recorded so tests can check what the client sent. Not a mock: the client under test speaks real HTTP.
 */
import http from 'node:http';
import type net from 'node:net';

export interface RouteResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Body as text; a function gets the request URL (path + query) to build a per-request answer. */
  body?: string | ((url: URL) => string);
  /** Wait this long before answering. */
  delayMs?: number;
  /** Send headers, then never finish the body (a peer that stalls mid-answer). */
  stallBody?: boolean;
  /** Never answer at all: the connection stays open until the client gives up or the server closes. */
  hang?: boolean;
}

export interface TestHttpServer {
  /** Base URL ending in '/', e.g. http://127.0.0.1:40123/ */
  url: string;
  port: number;
  /** Every request received: path + query, in order. */
  requests: URL[];
  /** Set or replace the answer for a path (without query). Unknown paths answer 404. */
  route(path: string, res: RouteResponse): void;
  close(): Promise<void>;
}

export async function startHttpServer(routes: Record<string, RouteResponse> = {}, host = '127.0.0.1'): Promise<TestHttpServer> {
  const table = new Map<string, RouteResponse>(Object.entries(routes));
  const requests: URL[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    requests.push(url);
    const spec = table.get(url.pathname);
    if (!spec) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    if (spec.hang) return;
    const answer = () => {
      const body = typeof spec.body === 'function' ? spec.body(url) : (spec.body ?? '');
      res.writeHead(spec.status ?? 200, { 'content-type': 'text/plain; charset=utf-8', ...spec.headers });
      if (spec.stallBody) {
        res.write(body.slice(0, Math.floor(body.length / 2)));
        return;
      }
      res.end(body);
    };
    if (spec.delayMs) {
      const t = setTimeout(() => {
        timers.delete(t);
        answer();
      }, spec.delayMs);
      timers.add(t);
    } else answer();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://${host}:${port}/`,
    port,
    requests,
    route: (path, res) => {
      table.set(path, res);
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      // Hanging requests keep their sockets open: destroy them so close() finishes.
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
