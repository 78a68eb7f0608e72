/**
 * The `esp:` section normalised: sending providers in the order they are tried, the failover cache,
 * and the webhook keys. Validation the schema cannot express (a SendGrid public key that is not a
 * P-256 key, a Mailgun domain that is a URL, an SMTP user without its password) becomes a Problem
 * naming the key path. Pure: no I/O.
 */
import { nodeCrypto } from '../lazy-builtins.js';
import type { RawEsp } from './schema.js';

export type EspProviderName = 'sendgrid' | 'mailgun' | 'mandrill' | 'smtp';

export type EspProviderConfig =
  | { name: 'sendgrid'; apiKey: string; apiUrl: string }
  | { name: 'mailgun'; apiKey: string; apiUrl: string; domain: string }
  | { name: 'mandrill'; apiKey: string; apiUrl: string }
  | { name: 'smtp'; host: string; port: number; tls: 'starttls' | 'tls' | 'none'; user?: string; password?: string; caFile?: string; insecure?: boolean };

export interface EspWebhooksConfig {
  /** `<id>` of the `<id>:<YYYYMMDD>:<type>` graph counters the events feed. */
  countersId: string;
  /** Base64 DER SubjectPublicKeyInfo of SendGrid's P-256 verification key. */
  sendgrid?: { publicKey: string };
  mailgun?: { signingKey: string };
  /** The key and the URL exactly as registered at Mandrill (both are signed). */
  mandrill?: { webhookKey: string; url: string };
  /** Signed timestamps older (or further in the future) than this are refused as replays. */
  replayWindowS: number;
}

export interface EspConfig {
  from?: string;
  providers: EspProviderConfig[];
  firstWorkingCacheS: number;
  timeoutMs: number;
  webhooks: EspWebhooksConfig;
}

interface Problem {
  path: string;
  message: string;
}

const withSlash = (u: string) => (u.endsWith('/') ? u : u + '/');

/** True when `b64` is a base64 DER SPKI of an EC P-256 public key (what SendGrid shows). */
export function isP256PublicKey(b64: string): boolean {
  try {
    const key = nodeCrypto().createPublicKey({ key: Buffer.from(b64.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
}

/** `resolve` makes a relative file name (smtp `ca_file`) absolute against the config file's directory. */
export function normalizeEsp(raw: RawEsp, problems: Problem[], resolve: (file: string) => string = (f) => f): EspConfig {
  const seen = new Set<string>();
  const providers: EspProviderConfig[] = raw.providers.map((p, i) => {
    const at = `esp.providers[${i}]`;
    if (seen.has(p.name)) problems.push({ path: `${at}.name`, message: `${p.name} is listed twice (each provider once, in the order tried)` });
    seen.add(p.name);
    switch (p.name) {
      case 'sendgrid':
        return { name: 'sendgrid', apiKey: p.api_key, apiUrl: withSlash(p.api_url) };
      case 'mailgun':
        if (!/^[A-Za-z0-9.-]+$/.test(p.domain)) problems.push({ path: `${at}.domain`, message: 'must be a domain name such as mg.example.com' });
        return { name: 'mailgun', apiKey: p.api_key, apiUrl: withSlash(p.api_url), domain: p.domain };
      case 'mandrill':
        return { name: 'mandrill', apiKey: p.api_key, apiUrl: withSlash(p.api_url) };
      case 'smtp': {
        if ((p.user === undefined) !== (p.password === undefined)) {
          problems.push({ path: `${at}.${p.user === undefined ? 'user' : 'password'}`, message: 'user and password go together' });
        }
        return {
          name: 'smtp',
          host: p.host,
          port: p.port,
          tls: p.tls,
          ...(p.user !== undefined ? { user: p.user } : {}),
          ...(p.password !== undefined ? { password: p.password } : {}),
          ...(p.ca_file !== undefined ? { caFile: resolve(p.ca_file) } : {}),
          ...(p.insecure ? { insecure: true } : {}),
        };
      }
    }
  });
  if (providers.length > 0 && raw.from === undefined) problems.push({ path: 'esp.from', message: 'is required when esp.providers is set (the sender address)' });
  if (raw.from !== undefined && !/^[^\s@<>]+@[^\s@<>]+$/.test(raw.from)) problems.push({ path: 'esp.from', message: 'must be an e-mail address' });
  const w = raw.webhooks;
  if (w.sendgrid && !isP256PublicKey(w.sendgrid.public_key)) {
    problems.push({ path: 'esp.webhooks.sendgrid.public_key', message: 'must be the base64 DER P-256 public key SendGrid shows (MFkw...)' });
  }
  const webhooks: EspWebhooksConfig = { countersId: w.counters_id, replayWindowS: w.replay_window_s };
  if (w.sendgrid) webhooks.sendgrid = { publicKey: w.sendgrid.public_key.replace(/\s+/g, '') };
  if (w.mailgun) webhooks.mailgun = { signingKey: w.mailgun.signing_key };
  if (w.mandrill) webhooks.mandrill = { webhookKey: w.mandrill.webhook_key, url: w.mandrill.url };
  return {
    ...(raw.from !== undefined ? { from: raw.from } : {}),
    providers,
    firstWorkingCacheS: raw.first_working_cache_s,
    timeoutMs: raw.timeout_ms,
    webhooks,
  };
}

/** The secret values of an `esp:` section (API keys, SMTP password, webhook signing keys). */
export function espSecrets(esp: EspConfig | undefined): string[] {
  if (!esp) return [];
  const out: string[] = [];
  for (const p of esp.providers) {
    if (p.name === 'smtp') {
      if (p.password !== undefined) out.push(p.password);
    } else out.push(p.apiKey);
  }
  if (esp.webhooks.mailgun) out.push(esp.webhooks.mailgun.signingKey);
  if (esp.webhooks.mandrill) out.push(esp.webhooks.mandrill.webhookKey);
  return out;
}
