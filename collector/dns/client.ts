/**
 * DNS client for every lookup the collector makes. (Placeholder: the collector DNS work fills it in.)
 */
import type { Config } from '../../lib/config/normalize.js';

/** Why a lookup gave no data. Only NXDOMAIN and NODATA mean "the name has no such record". */
export type DnsErrorKind = 'NXDOMAIN' | 'NODATA' | 'TIMEOUT' | 'SERVFAIL' | 'REFUSED' | 'NETWORK' | 'OTHER';

export class DnsLookupError extends Error {
  constructor(
    readonly kind: DnsErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DnsLookupError';
  }
}

export interface DnsClient {
  /** A records. Rejects with DnsLookupError. `servers` overrides the configured resolvers. */
  resolve4(name: string, opts?: { servers?: string[]; timeoutMs?: number }): Promise<string[]>;
  resolve6(name: string, opts?: { servers?: string[]; timeoutMs?: number }): Promise<string[]>;
  resolveTxt(name: string, opts?: { servers?: string[]; timeoutMs?: number }): Promise<string[]>;
  /** PTR names of an IP. */
  reverse(ip: string, opts?: { servers?: string[]; timeoutMs?: number }): Promise<string[]>;
  close(): void;
}

export function createDnsClient(_config: Config): DnsClient {
  throw new Error('not yet implemented');
}
