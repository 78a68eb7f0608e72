/**
 * One bounded HTTP GET for the collector's HTTP sources (SNDS, the HTTP reputation lookup). The timeout
 * covers the whole exchange, body included, so a peer that stalls mid-body cannot hold a run. Failures
 * are typed errors whose messages name the URL as the caller describes it (secrets already removed),
 * never the real URL.
 */

export type HttpFailureKind = 'timeout' | 'status' | 'network';

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
    const body = await res.text();
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
