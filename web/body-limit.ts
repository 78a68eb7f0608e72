/**
 * A limit on request bodies, for every route (a logged-in POST /ack once read 250 MB into 1.3 GB of
 * memory). Nothing is buffered here: a declared Content-Length over the limit is refused before the
 * route runs, and a body without one (chunked) is counted as the route reads it, failing with
 * BodyTooLargeError at the first byte over the limit. The app's error handler answers 413 for both.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { WebEnv } from './env.js';

/** Largest request body accepted anywhere (forms are a few hundred bytes; webhook batches more). */
export const maxBodyBytes = 1024 * 1024;

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

export function bodyLimit(limit = maxBodyBytes): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    // GET and HEAD carry no body (fetch's Request refuses one); asking for `raw.body` would make
    // @hono/node-server build a full Request per page view, the largest cost of a cached page.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const raw = c.req.raw;
    // The declared length first: asking for `raw.body` builds the web Request and its streams,
    // which a route reading the body straight from Node (readBody) does not need.
    const declared = raw.headers.get('content-length');
    if (declared !== null && !raw.headers.has('transfer-encoding')) {
      if (!/^\d+$/.test(declared) || Number(declared) > limit) throw new BodyTooLargeError(limit);
      return next();
    }
    if (raw.body === null) return next();
    let seen = 0;
    const counted = raw.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          seen += chunk.byteLength;
          if (seen > limit) ctl.error(new BodyTooLargeError(limit));
          else ctl.enqueue(chunk);
        },
      }),
    );
    c.req.raw = new Request(raw, { body: counted, duplex: 'half' } as RequestInit);
    return next();
  };
}

/**
 * The request body as one Buffer. On @hono/node-server with a declared Content-Length (bodyLimit has
 * checked it against the limit), it is read straight from Node's IncomingMessage: no web Request, no
 * streams, and no copy when it arrives in one chunk (a webhook batch usually does); those cost a
 * request more CPU than verifying and storing a webhook batch. Otherwise (a chunked body, which
 * bodyLimit counts as it is read; an app.request() in tests; a body something already started to
 * read) through the Request.
 */
export async function readBody(c: Context): Promise<Buffer> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const declared = incoming?.headers['content-length'];
  if (
    incoming &&
    declared !== undefined &&
    /^\d+$/.test(declared) &&
    incoming.headers['transfer-encoding'] === undefined &&
    !incoming.readableDidRead &&
    !incoming.readableEnded &&
    incoming.listenerCount('data') === 0
  ) {
    const size = Number(declared);
    if (size > maxBodyBytes) throw new BodyTooLargeError(maxBodyBytes);
    return readIncoming(incoming, size);
  }
  return Buffer.from(await c.req.arrayBuffer());
}

/**
 * The body length a request declares, when it is read straight from Node (readIncoming): a valid
 * Content-Length within the limit and no Transfer-Encoding; else null (bodyLimit and readBody decide).
 */
export function declaredLength(incoming: IncomingMessage, limit = maxBodyBytes): number | null {
  const declared = incoming.headers['content-length'];
  if (declared === undefined || incoming.headers['transfer-encoding'] !== undefined || !/^\d+$/.test(declared)) return null;
  const size = Number(declared);
  return size <= limit ? size : null;
}

/** Exactly `size` declared bytes of a request not read yet, as one Buffer (no copy when they come in one chunk). */
export function readIncoming(incoming: IncomingMessage, size: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const done = (err: Error | null) => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, got));
    };
    const onData = (chunk: Buffer) => {
      got += chunk.length;
      chunks.push(chunk);
    };
    // Node's parser delivers exactly Content-Length bytes, or fails the request.
    const onEnd = () => done(got === size ? null : new Error(`request body of ${got} bytes, ${size} declared`));
    const onError = (e: Error) => done(e);
    const onClose = () => done(new Error('the client closed the connection before the body was read'));
    incoming.on('data', onData);
    incoming.once('end', onEnd);
    incoming.once('error', onError);
    incoming.once('close', onClose);
  });
}
