/**
 * One HTTP request to a vendor API with a hard timeout, and the status rules every HTTP adapter
 * shares. A network error or timeout is an answer (`unavailable`), never a thrown error.
 */
import type { AttemptOutcome, ProviderAnswer } from './types.js';

export type FetchFn = typeof fetch;

export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
}

/** POST with a timeout covering the whole exchange (headers and body). */
export async function post(
  fetchFn: FetchFn,
  url: string,
  init: { headers: Record<string, string>; body: string },
  timeoutMs: number,
): Promise<HttpReply | ProviderAnswer> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const res = await fetchFn(url, { method: 'POST', headers: init.headers, body: init.body, signal: ctl.signal, redirect: 'manual' });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  } catch (e) {
    if (ctl.signal.aborted) return { outcome: 'unavailable', answer: `timeout after ${timeoutMs} ms` };
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.cause?.code ?? err.cause?.message ?? err.message;
    return { outcome: 'unavailable', answer: `network error: ${why}` };
  } finally {
    clearTimeout(timer);
  }
}

export function isReply(r: HttpReply | ProviderAnswer): r is HttpReply {
  return 'text' in r;
}

/** The outcome an HTTP status means (before any vendor-specific reading of the body). */
export function outcomeOfStatus(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'sent';
  if (status === 401 || status === 403) return 'auth';
  if (status === 408 || status === 429 || status >= 500) return 'unavailable';
  if (status === 400 || status === 413 || status === 422) return 'invalid';
  return 'config';
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A short one-line excerpt of a body for an answer text. */
export function excerpt(text: string, max = 200): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? one.slice(0, max - 1) + '…' : one;
}

export function basicAuthHeader(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}
