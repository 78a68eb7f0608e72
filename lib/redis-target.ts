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
