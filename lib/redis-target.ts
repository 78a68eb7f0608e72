/**
 * Where Redis is, and how to name it in messages (password redacted). Apart from lib/redis.ts so that
 * what only names a target (`mtarep check-config`) does not load ioredis.
 */

/** Where to connect: a URL, or a unix socket path of the embedded server. */
export type RedisTarget = { url: string } | { path: string };

/** A URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid redis url)';
  }
}

export function describeTarget(t: RedisTarget): string {
  return 'url' in t ? redactUrl(t.url) : `unix:${t.path}`;
}

/** The largest database number Redis can have (its `databases` setting is a C int). */
const maxDb = 2 ** 31 - 1;

/**
 * Check a `redis_url` the way the config loader needs it: everything the URL alone can show to be
 * wrong, said without quoting any part of the URL (the user name and password may be in any part of
 * a garbled one). Returns the database it names (0 when none) or the problem. What it accepts is
 * what ioredis 5 connects to as written: `redis[s]://[[user]:password@][host][:port][/db][?options]`.
 */
export function checkRedisUrl(url: string): { db: number } | { problem: string } {
  const scheme = /^rediss?:\/\//.exec(url); // lower case: ioredis turns TLS on for "rediss://" only
  if (!scheme) return { problem: 'must start with redis:// or rediss://' };
  const rest = url.slice(scheme[0].length);
  const authority = rest.split(/[/?#]/, 1)[0]!;
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  let port: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close === -1) return { problem: 'the host: an IPv6 address needs its closing ] (redis://[::1]:6379/0)' };
    const after = hostPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return { problem: 'the host: only :port may follow an IPv6 address in brackets' };
    if (after !== '') port = after.slice(1);
  } else {
    const colon = hostPort.lastIndexOf(':');
    if (colon !== -1) port = hostPort.slice(colon + 1);
  }
  if (port !== undefined && port !== '' && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return { problem: 'the port must be a number from 1 to 65535' };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { problem: 'the host is not a valid host name or address (an IPv6 address goes in brackets: redis://[::1]:6379/0)' };
  }
  for (const [part, value] of [
    ['user name', u.username],
    ['password', u.password],
  ] as const) {
    try {
      decodeURIComponent(value);
    } catch {
      return { problem: `the ${part} has a bad percent-encoding (write a % in it as %25)` };
    }
  }
  // ioredis takes the path as the database, else a ?db= option: parseInt would read "1x" as 1 and
  // "abc" as NaN, so only digits pass.
  const fromPath = u.pathname === '' || u.pathname === '/' ? null : u.pathname.slice(1);
  const dbText = fromPath?.replace(/\/$/, '') ?? u.searchParams.get('db');
  if (dbText === null) return { db: 0 };
  if (!/^\d+$/.test(dbText)) {
    return { problem: `the database (${fromPath !== null ? 'the path after host:port, e.g. /0' : 'the db option'}) must be a non-negative integer` };
  }
  const db = Number(dbText);
  if (db > maxDb) return { problem: `the database must be at most ${maxDb}` };
  return { db };
}
