/**
 * TLS options shared by the SMTP sender and the IMAP reader. Certificates are verified against Node's
 * bundled roots, the system store (/etc/ssl/certs/ca-certificates.crt when present), NODE_EXTRA_CA_CERTS
 * and any `ca` given; `insecure: true` is the only way to skip verification, and it is explicit.
 */
import fs from 'node:fs';
import tls from 'node:tls';

export type TlsMode = 'none' | 'starttls' | 'tls';

export interface TlsSettings {
  tls: TlsMode;
  /** Skip certificate verification (self-signed test servers). Never the default. */
  insecure?: boolean | undefined;
  /** Extra CA certificates (PEM text) trusted for this server. */
  ca?: string[] | undefined;
  /** Name to verify the certificate against when `host` is an IP address. */
  servername?: string | undefined;
}

const systemBundles = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];
let cachedRoots: string[] | undefined;

/** Node's roots + the system bundle + NODE_EXTRA_CA_CERTS, read once per process. */
export function trustedRoots(): string[] {
  if (cachedRoots) return cachedRoots;
  const out: string[] = [...tls.rootCertificates];
  for (const f of systemBundles) {
    try {
      out.push(fs.readFileSync(f, 'utf8'));
      break;
    } catch {
      /* not on this system */
    }
  }
  const extra = process.env['NODE_EXTRA_CA_CERTS'];
  if (extra) {
    try {
      out.push(fs.readFileSync(extra, 'utf8'));
    } catch {
      /* Node itself warns about an unreadable NODE_EXTRA_CA_CERTS */
    }
  }
  cachedRoots = out;
  return out;
}

/** Node `tls.connect` options for a server. */
export function tlsOptions(host: string, s: TlsSettings): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { rejectUnauthorized: !s.insecure, minVersion: 'TLSv1.2' };
  if (!s.insecure) o.ca = s.ca && s.ca.length ? [...trustedRoots(), ...s.ca] : trustedRoots();
  const name = s.servername ?? (isIp(host) ? undefined : host);
  if (name) o.servername = name;
  return o;
}

function isIp(h: string): boolean {
  return /^[\d.]+$/.test(h) || h.includes(':');
}
