/**
 * A DNS lookup's failures as data and as a typed error, apart from the client (client.ts) and its
 * sockets: the check plugins name DnsLookupError, and `mtarep check-config` loads the plugins without
 * node's dns and dgram modules.
 */

/** Why a lookup gave no data. Only NXDOMAIN and NODATA mean "the name has no such record". */
export type DnsErrorKind = 'NXDOMAIN' | 'NODATA' | 'TIMEOUT' | 'SERVFAIL' | 'REFUSED' | 'NETWORK' | 'OTHER';

/**
 * A failed lookup. The message names the kind and the resolver's code but never the query name
 * (a Spamhaus DQS query name holds the secret key); `query` holds it for callers that may show it.
 */
export class DnsLookupError extends Error {
  /** The name that was queried (may hold a DQS key: never put it in a result or a log). */
  readonly query: string | undefined;

  constructor(
    readonly kind: DnsErrorKind,
    message: string,
    options?: { cause?: unknown; query?: string },
  ) {
    super(message, options);
    this.name = 'DnsLookupError';
    this.query = options?.query;
  }
}

export const codeKinds: Record<string, DnsErrorKind> = {
  ENOTFOUND: 'NXDOMAIN',
  ENODATA: 'NODATA',
  ETIMEOUT: 'TIMEOUT',
  ESERVFAIL: 'SERVFAIL',
  EREFUSED: 'REFUSED',
  ECONNREFUSED: 'NETWORK',
  ECONNRESET: 'NETWORK',
  EOF: 'NETWORK',
  ENETUNREACH: 'NETWORK',
  EHOSTUNREACH: 'NETWORK',
  ECONNREFUSED_: 'NETWORK',
};

export const kindText: Record<DnsErrorKind, string> = {
  NXDOMAIN: 'no such name (NXDOMAIN)',
  NODATA: 'no record of that type (NODATA)',
  TIMEOUT: 'timeout',
  SERVFAIL: 'server failure (SERVFAIL)',
  REFUSED: 'query refused (REFUSED)',
  NETWORK: 'network error',
  OTHER: 'lookup failed',
};

/** Map a node dns error to a DnsLookupError (pure; exported for tests). */
export function toLookupError(e: unknown, query: string, timeoutMs: number): DnsLookupError {
  const code = (e as { code?: string } | null)?.code ?? '';
  const kind = codeKinds[code] ?? 'OTHER';
  const detail = kind === 'TIMEOUT' ? `timeout after ${timeoutMs} ms per try` : kindText[kind];
  // No stack: it would only show the c-ares callback, and capturing it for every NXDOMAIN (the
  // common DNSBL answer) cost ~10% of a 200,000-query run (profiled). `cause` keeps node's error.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new DnsLookupError(kind, code && kind !== 'TIMEOUT' ? `${detail} [${code}]` : detail, { cause: e, query });
  } finally {
    Error.stackTraceLimit = limit;
  }
}
