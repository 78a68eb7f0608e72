/**
 * The three ESP HTTP APIs played on loopback, following each vendor's documented request and
 * response shapes and auth (see ../shared/notes/esp.md):
 * - SendGrid v3 `POST /sendgrid/v3/mail/send`, Bearer key, JSON; 202 + X-Message-Id, 400 {errors:[{message, field}]}, 401, 429.
 * - Mailgun v3 `POST /mailgun/v3/<domain>/messages`, basic auth api:<key>, form; 200 {id, message}, 400 {message}, 401, 404 unknown domain.
 * - Mandrill 1.0 `POST /mandrill/api/1.0/messages/send.json`, key in the JSON body; 200 [{email, status, _id}], 500 {status:"error", name:"Invalid_Key"}.
 * Each can fail on demand (`mode`), and every accepted message is kept for the test to inspect.
 * A recipient whose local part is `invalid` is refused as an invalid address, as the vendors do.
 */
import http from 'node:http';
import type net from 'node:net';

export type Vendor = 'sendgrid' | 'mailgun' | 'mandrill';
export type Mode = 'ok' | '500' | '401' | '429' | 'timeout';

export interface Accepted {
  vendor: Vendor;
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  headers: Record<string, string>;
}

export interface EspApiServer {
  url: string;
  /** api_url of each vendor on this server. */
  apiUrl: Record<Vendor, string>;
  keys: Record<Vendor, string>;
  mailgunDomain: string;
  mode: Record<Vendor, Mode>;
  accepted: Accepted[];
  /** Requests per vendor (any answer). */
  hits: Record<Vendor, number>;
  close(): Promise<void>;
}

const isAddress = (s: unknown) => typeof s === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s) && !s.startsWith('invalid@');

export async function startEspApi(opts: { keys?: Partial<Record<Vendor, string>> } = {}): Promise<EspApiServer> {
  const keys: Record<Vendor, string> = { sendgrid: 'SG.test-key-123', mailgun: 'key-mailgun-456', mandrill: 'md-key-789', ...opts.keys };
  const mode: Record<Vendor, Mode> = { sendgrid: 'ok', mailgun: 'ok', mandrill: 'ok' };
  const hits: Record<Vendor, number> = { sendgrid: 0, mailgun: 0, mandrill: 0 };
  const accepted: Accepted[] = [];
  const mailgunDomain = 'mg.example.com';
  const sockets = new Set<net.Socket>();
  let seq = 0;

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const failOnDemand = (v: Vendor, res: http.ServerResponse): boolean => {
    const m = mode[v];
    if (m === 'ok') return false;
    if (m === 'timeout') return true; // never answers
    if (m === '500') {
      if (v === 'mandrill') json(res, 500, { status: 'error', code: -1, name: 'GeneralError', message: 'An unexpected error occurred' });
      else json(res, 500, v === 'sendgrid' ? { errors: [{ message: 'Internal server error', field: null }] } : { message: 'Internal Server Error' });
      return true;
    }
    if (m === '429') {
      json(res, 429, v === 'sendgrid' ? { errors: [{ message: 'too many requests', field: null }] } : { message: 'Too many requests' }, { 'retry-after': '1' });
      return true;
    }
    // 401: the key the vendor sees is wrong.
    if (v === 'mandrill') json(res, 500, { status: 'error', code: -1, name: 'Invalid_Key', message: 'Invalid API key' });
    else if (v === 'sendgrid') json(res, 401, { errors: [{ field: null, message: 'The provided authorization grant is invalid, expired, or revoked' }] });
    else {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('Forbidden');
    }
    return true;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method !== 'POST') return json(res, 405, { message: 'method not allowed' });
      if (path === '/sendgrid/v3/mail/send') {
        hits.sendgrid++;
        if (failOnDemand('sendgrid', res)) return;
        if (req.headers.authorization !== `Bearer ${keys.sendgrid}`) {
          return json(res, 401, { errors: [{ field: null, message: 'The provided authorization grant is invalid, expired, or revoked' }] });
        }
        if (!String(req.headers['content-type']).startsWith('application/json')) return json(res, 415, { errors: [{ message: 'Content-Type should be application/json.', field: null }] });
        const m = JSON.parse(body) as {
          personalizations?: { to?: { email?: string }[] }[];
          from?: { email?: string };
          subject?: string;
          content?: { type: string; value: string }[];
          headers?: Record<string, string>;
        };
        const to = m.personalizations?.[0]?.to?.[0]?.email;
        if (!isAddress(to)) return json(res, 400, { errors: [{ message: 'Does not contain a valid address.', field: 'personalizations.0.to.0.email' }] });
        if (!m.from?.email) return json(res, 400, { errors: [{ message: 'The from object must be provided for every email send.', field: 'from' }] });
        if (!m.content?.length) return json(res, 400, { errors: [{ message: 'Unless a valid template_id is provided, the content parameter is required.', field: 'content' }] });
        const id = `sgid${++seq}AbCdEfGhIjKl`;
        accepted.push({ vendor: 'sendgrid', id, from: m.from.email, to: to!, subject: m.subject ?? '', text: m.content[0]!.value, headers: m.headers ?? {} });
        res.writeHead(202, { 'x-message-id': id });
        return res.end();
      }
      const mg = /^\/mailgun\/v3\/([^/]+)\/messages$/.exec(path);
      if (mg) {
        hits.mailgun++;
        if (failOnDemand('mailgun', res)) return;
        if (req.headers.authorization !== 'Basic ' + Buffer.from(`api:${keys.mailgun}`).toString('base64')) {
          res.writeHead(401, { 'content-type': 'text/plain' });
          return res.end('Forbidden');
        }
        if (decodeURIComponent(mg[1]!) !== mailgunDomain) return json(res, 404, { message: `Domain not found: ${decodeURIComponent(mg[1]!)}` });
        const f = new URLSearchParams(body);
        if (!isAddress(f.get('to'))) return json(res, 400, { message: "'to' parameter is not a valid address. please check documentation" });
        if (!f.get('from')) return json(res, 400, { message: "'from' parameter is missing" });
        const headers: Record<string, string> = {};
        for (const [k, v] of f) if (k.startsWith('h:')) headers[k.slice(2)] = v;
        const id = `20260101.${++seq}.abc@${mailgunDomain}`;
        accepted.push({ vendor: 'mailgun', id, from: f.get('from')!, to: f.get('to')!, subject: f.get('subject') ?? '', text: f.get('text') ?? '', headers });
        return json(res, 200, { id: `<${id}>`, message: 'Queued. Thank you.' });
      }
      if (path === '/mandrill/api/1.0/messages/send.json') {
        hits.mandrill++;
        if (failOnDemand('mandrill', res)) return;
        let m: { key?: string; message?: { from_email?: string; to?: { email: string }[]; subject?: string; text?: string; headers?: Record<string, string> } };
        try {
          m = JSON.parse(body) as typeof m;
        } catch {
          return json(res, 500, { status: 'error', code: -2, name: 'ValidationError', message: 'You must specify a key value' });
        }
        if (m.key !== keys.mandrill) return json(res, 500, { status: 'error', code: -1, name: 'Invalid_Key', message: 'Invalid API key' });
        const to = m.message?.to?.[0]?.email ?? '';
        const id = `md${++seq}0123456789abcdef`;
        if (!isAddress(to)) return json(res, 200, [{ email: to, status: 'invalid', _id: id, reject_reason: null }]);
        accepted.push({ vendor: 'mandrill', id, from: m.message?.from_email ?? '', to, subject: m.message?.subject ?? '', text: m.message?.text ?? '', headers: m.message?.headers ?? {} });
        return json(res, 200, [{ email: to, status: 'sent', _id: id, reject_reason: null }]);
      }
      json(res, 404, { message: 'not found' });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    apiUrl: { sendgrid: `${url}sendgrid/v3/`, mailgun: `${url}mailgun/v3/`, mandrill: `${url}mandrill/api/1.0/` },
    keys,
    mailgunDomain,
    mode,
    accepted,
    hits,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
