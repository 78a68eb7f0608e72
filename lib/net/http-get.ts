/**
 * One bounded HTTP GET for the collector's HTTP sources (SNDS, the HTTP reputation lookup). The timeout
 * covers the whole exchange, body included, so a peer that stalls mid-body cannot hold a run, and the
 * body has a size limit, so a peer that streams without end cannot exhaust memory. Failures
 * are typed errors whose messages name the URL as the caller describes it (secrets already removed),
 * never the real URL.
 */

export type HttpFailureKind = 'timeout' | 'status' | 'network' | 'size';

export class HttpGetError extends Error {
  constructor(
    readonly kind: HttpFailureKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HttpGetError';
  }
}

export interface GetOptions {
  timeoutMs: number;
  /** How to name the URL in messages (e.g. with the key replaced by ***). */
  describe: string;
  accept?: string;
  /** Largest body accepted; default 64 MiB (an SNDS export of 10,000 IPs is a few MB). */
  maxBytes?: number;
}

const defaultMaxBytes = 64 * 1024 * 1024;

/** The body as UTF-8 text, refusing more than `max` bytes (announced or received). */
async function readBody(res: Response, max: number, describe: string): Promise<string> {
  const tooBig = () => new HttpGetError('size', `${describe}: answer larger than ${max} bytes`);
  if (Number(res.headers.get('content-length')) > max) {
    await res.body?.cancel().catch(() => {});
    throw tooBig();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooBig();
    }
    chunks.push(value);
  }
  // As Response.text() decodes: UTF-8, a leading byte-order mark dropped.
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** GET a URL and return its body as text. Throws HttpGetError (never includes the real URL). */
export async function getText(fetchFn: typeof fetch, url: string, opts: GetOptions): Promise<{ status: number; body: string; contentType: string }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), opts.timeoutMs);
  try {
    const res = await fetchFn(url, {
      signal: ac.signal,
      redirect: 'follow',
      headers: { accept: opts.accept ?? '*/*', 'user-agent': 'mtarep' },
    });
    const body = await readBody(res, opts.maxBytes ?? defaultMaxBytes, opts.describe);
    if (!res.ok) {
      throw new HttpGetError('status', `${opts.describe} answered HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`, res.status);
    }
    return { status: res.status, body, contentType: res.headers.get('content-type') ?? '' };
  } catch (e) {
    if (e instanceof HttpGetError) throw e;
    if (ac.signal.aborted) throw new HttpGetError('timeout', `${opts.describe}: timeout after ${seconds(opts.timeoutMs)}`);
    // undici hides the useful part in `cause` (ECONNREFUSED, ENOTFOUND ...). Neither carries the URL.
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new HttpGetError('network', `${opts.describe}: ${why}`);
  } finally {
    clearTimeout(timer);
  }
}
