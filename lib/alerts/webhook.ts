/**
 * Alert webhooks: a JSON POST signed with HMAC-SHA256 of the exact body bytes
 * (`X-Mtarep-Signature: sha256=<hex>`), with the send time (`X-Mtarep-Timestamp`, Unix seconds) and a
 * delivery id that stays the same on every retry (`X-Mtarep-Delivery`, for receivers that deduplicate).
 * 5xx answers, 408/429 and timeouts are retried with backoff; another 4xx is permanent. Any 2xx is the
 * receiver's acknowledgement: after it the body is never sent again.
 */
import crypto from 'node:crypto';
import type { AlertWebhookConfig } from '../config/normalize.js';
import { scrub } from '../log.js';
import { DeliveryError } from './errors.js';
import { counted } from '../plural.js';

export const signatureHeader = 'X-Mtarep-Signature';
export const timestampHeader = 'X-Mtarep-Timestamp';
export const deliveryHeader = 'X-Mtarep-Delivery';

/** `sha256=<hex HMAC-SHA256 of body with secret>`. */
export function signBody(body: string, secret: string): string {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

/** Check a signature header in constant time (what a receiver does; used by tests and docs). */
export function verifySignature(body: string, secret: string, header: string | null | undefined): boolean {
  if (typeof header !== 'string') return false;
  const want = Buffer.from(signBody(body, secret));
  const got = Buffer.from(header);
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

export interface WebhookOptions {
  deliveryId: string;
  now?: () => Date;
  /** Attempts in this call (default 3); the outbox adds its own, longer retries on top. */
  attempts?: number;
  /** Wait before attempt n+1 (ms): default 1 s, 4 s, 16 s... */
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
}

export interface WebhookResult {
  status: number;
  attempts: number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** POST `body` (already serialised: the signature covers these exact bytes). Throws DeliveryError. */
export async function postWebhook(cfg: AlertWebhookConfig, body: string, o: WebhookOptions): Promise<WebhookResult> {
  const attempts = Math.max(1, o.attempts ?? 3);
  const backoff = o.backoffMs ?? ((n: number) => 1000 * 4 ** (n - 1));
  const sleep = o.sleep ?? defaultSleep;
  const doFetch = o.fetch ?? fetch;
  const now = o.now ?? (() => new Date());
  const secrets = [cfg.secret, ...new URL(cfg.url).pathname.split('/').filter((p) => p.length >= 16)];
  let last: DeliveryError | undefined;
  for (let n = 1; n <= attempts; n++) {
    if (n > 1) await sleep(backoff(n - 1));
    try {
      const res = await doFetch(cfg.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'mtarep-alerts',
          [signatureHeader]: signBody(body, cfg.secret),
          [timestampHeader]: String(Math.floor(now().getTime() / 1000)),
          [deliveryHeader]: o.deliveryId,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(cfg.timeoutMs),
      });
      // The answer's body is not needed; read it so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { status: res.status, attempts: n };
      const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
      last = new DeliveryError(`webhook ${cfg.label}: HTTP ${res.status}`, !retryable);
      if (!retryable) throw last;
    } catch (e) {
      if (e instanceof DeliveryError) {
        if (e.permanent) throw e;
        continue;
      }
      const err = e as Error;
      const why = err.name === 'TimeoutError' || err.name === 'AbortError' ? `no answer within ${cfg.timeoutMs} ms` : (err.cause as Error | undefined)?.message ?? err.message;
      last = new DeliveryError(`webhook ${cfg.label}: ${scrub(why, secrets)}`, false, { cause: e });
    }
  }
  throw new DeliveryError(`${last!.message} (after ${counted(attempts, 'attempt')})`, false, { cause: last });
}
