/**
 * A real HTTP server on loopback that receives alert webhooks: it verifies each request's
 * X-Mtarep-Signature against the secret and keeps the verified bodies. Its answer can be changed
 * (a 500 receiver, a 400, a receiver that does not answer in time) to test retries and the outbox.
 */
import http from 'node:http';
import type net from 'node:net';
import { verifySignature } from '../../lib/alerts/webhook.js';

export interface ReceivedHook {
  body: string;
  json: unknown;
  signature: string | undefined;
  timestamp: string | undefined;
  delivery: string | undefined;
  verified: boolean;
}

export interface WebhookReceiver {
  url: string;
  /** Every request, verified or not, in order. */
  readonly requests: ReceivedHook[];
  /** Requests answered 2xx (the receiver acknowledged them). */
  readonly accepted: ReceivedHook[];
  /** Answer with this status (default 200); 'hang' never answers. */
  answer(status: number | 'hang'): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string, path = '/hooks/mtarep'): Promise<WebhookReceiver> {
  const requests: ReceivedHook[] = [];
  const accepted: ReceivedHook[] = [];
  let status: number | 'hang' = 200;
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const h = (n: string) => {
        const v = req.headers[n.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      };
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        /* kept as null: the test sees it */
      }
      const hook: ReceivedHook = {
        body,
        json,
        signature: h('X-Mtarep-Signature'),
        timestamp: h('X-Mtarep-Timestamp'),
        delivery: h('X-Mtarep-Delivery'),
        verified: req.url === path && verifySignature(body, secret, h('X-Mtarep-Signature')),
      };
      requests.push(hook);
      if (status === 'hang') return;
      const code = hook.verified ? status : 401;
      if (code >= 200 && code < 300) accepted.push(hook);
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(code < 300 ? 'ok' : 'no');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    accepted,
    answer: (s) => {
      status = s;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
