/**
 * Rendered pages kept as bytes until the data changes, and served without waiting on a slow read.
 *
 * An entry is one page (a cache key: user, sort) for one `keys.dataVersion` value (the collector INCRs
 * it on every write, an acknowledgement too), kept at most `maxAgeMs` so relative times ("5 min ago")
 * do not drift. It holds the page as a Buffer (writing a 1.6 MB string costs its UTF-8 encoding on
 * every request), a weak ETag, and a gzip copy (brotli too when asked) made once, off the event loop
 * (zlib's thread pool), sent to clients that accept it; the stale variant (below) is made with it.
 *
 * A request never waits long for Redis when a page exists: when the version read or a new render takes
 * longer than `staleWaitMs` while other page requests are in flight (the event loop busy sending pages,
 * a collector writing), or `loneWaitMs` for a request alone, the last good page is sent in its "stale" variant (the view's `staleMarker` replaced by a note that the data may be
 * a moment old) while the read and render finish for later requests. One render per key at a time, and
 * while other requests wait, renders take at most about a third of the time (`renderShare`) and come
 * at most once in 5 s per key, so serving goes on while a collector bumps the version many times a
 * second (a request alone is never held back); a request that finds the page being refreshed gets the
 * last one at once. A read that fails (Redis down) still fails: only a
 * slow one is covered. `peek` is the part of that decision that needs no read and no wait, for the raw
 * listener's hot path (web/hot-path.ts); a render may return the page as bytes (the render thread's).
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gzipAsync = promisify(zlib.gzip);
const brotliAsync = promisify(zlib.brotliCompress);

export type Encoding = 'br' | 'gzip' | 'identity';

/** One variant of a page (fresh or stale): its bytes in each encoding made so far. */
export interface PageBytes {
  etag: string;
  identity: Buffer;
  gzip?: Buffer;
  br?: Buffer;
}

interface Entry {
  version: string;
  /** When the render started (the page's "now"). */
  at: number;
  fresh: PageBytes;
  /** The same page saying its data may be a moment old. */
  stale: PageBytes;
  /** Bytes held (for the size bound). */
  size: number;
}

/** What to send: the bytes in the chosen encoding, and whether they may be behind the stored data. */
export interface Served {
  bytes: PageBytes;
  stale: boolean;
}

export interface PageCacheOptions {
  /** Re-render an entry older than this even when the version is the same. Default 30 s. */
  maxAgeMs?: number;
  /** Bound on the bytes of all entries (oldest used dropped first). Default 64 MiB. */
  maxBytes?: number;
  /** How long a request waits for a version read or a render before it gets the last good page, while other page requests are in flight. Default 60 ms. */
  staleWaitMs?: number;
  /** The same for a request alone (nothing else to serve meanwhile). Default 2000 ms. */
  loneWaitMs?: number;
  /** While busy, a new render of a key starts no sooner than (1 / share - 1) x the last one's duration after it. Default 1/3. */
  renderShare?: number;
  /** ... and no sooner than this after it. Default 5000 ms: a collector run writes in bursts, and while one lasts the last page (saying so) beats a busy loop. */
  busyIntervalMs?: number;
  /**
   * Also make a brotli copy. Default false: measured in bench:web on the 1,000-host page, brotli
   * (quality 5) is 27 KiB where gzip is 39 KiB, a difference no dashboard user notices, for more
   * compression work per data version, which competes with serving while a collector writes.
   */
  brotli?: boolean;
  /** Called for each page sent marked stale (benchmarks count them). */
  onStale?: () => void;
  /** Background failures (a render after the request got the last page). */
  onError?: (e: unknown, key: string) => void;
  now?: () => number;
}

const timedOut = Symbol('timed out');

function within<T>(p: Promise<T>, ms: number): Promise<T | typeof timedOut> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<typeof timedOut>((r) => (timer = setTimeout(() => r(timedOut), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A variant's bytes: as is, a weak ETag, and its gzip copy made in zlib's thread pool. */
async function bytesOf(identity: Buffer): Promise<PageBytes> {
  const gzip = await gzipAsync(identity, { level: 6 }).catch(() => undefined);
  return { etag: etagOf(identity), identity, ...(gzip ? { gzip } : {}) };
}

function etagOf(b: Buffer): string {
  return `W/"${crypto.createHash('sha1').update(b).digest('base64url').slice(0, 22)}"`;
}

/**
 * The encoding to send from an Accept-Encoding header (q=0 refuses one). Brotli first, then gzip;
 * identity when neither is accepted.
 */
export function pickEncoding(header: string | undefined, available: { br?: unknown; gzip?: unknown }): Encoding {
  if (!header) return 'identity';
  const ok = acceptedBy(header);
  if (available.br !== undefined && ok.br) return 'br';
  if (available.gzip !== undefined && ok.gzip) return 'gzip';
  return 'identity';
}

/** Parsed Accept-Encoding headers: clients send the same few with every request. */
const accepted = new Map<string, { br: boolean; gzip: boolean }>();

function acceptedBy(header: string): { br: boolean; gzip: boolean } {
  const known = accepted.get(header);
  if (known !== undefined) return known;
  const q = new Map<string, number>();
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (!name) continue;
    const qp = params.map((x) => x.trim()).find((x) => x.startsWith('q='));
    const v = qp === undefined ? 1 : Number(qp.slice(2));
    q.set(name.trim(), Number.isFinite(v) ? v : 0);
  }
  const ok = (e: string) => (q.get(e) ?? q.get('*') ?? 0) > 0;
  const r = { br: ok('br'), gzip: ok('gzip') };
  if (accepted.size >= 256) accepted.clear();
  accepted.set(header, r);
  return r;
}

/** True when an If-None-Match header names this ETag (weak comparison, as RFC 9110 asks for GET). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

export class PageCache {
  private readonly entries = new Map<string, Entry>();
  private readonly rendering = new Map<string, Promise<Entry>>();
  /** Per key: when the last render ended and how long it took (the render budget). */
  private readonly lastRender = new Map<string, { end: number; took: number }>();
  private bytes = 0;
  /** The key at the end of the LRU order (`entries`' insertion order). */
  private newest: string | undefined;
  private readonly maxAgeMs: number;
  private readonly maxBytes: number;
  private readonly staleWaitMs: number;
  private readonly loneWaitMs: number;
  private inflight = 0;
  /** The connections `peek` answered in the current 100 ms window, and how many in the one before. */
  private window: { start: number; clients: Set<object>; previous: number } = { start: -Infinity, clients: new Set(), previous: 0 };
  private readonly renderShare: number;
  private readonly busyIntervalMs: number;
  private readonly brotli: boolean;
  private readonly onError: (e: unknown, key: string) => void;
  private readonly onStale: () => void;
  private readonly now: () => number;

  constructor(
    /** Where the stale note goes: the view's marker, replaced in the stale variant. */
    private readonly stale: { marker: string; note: string } = { marker: '', note: '' },
    opts: PageCacheOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 30_000;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.staleWaitMs = opts.staleWaitMs ?? 60;
    this.loneWaitMs = opts.loneWaitMs ?? 2000;
    this.renderShare = opts.renderShare ?? 1 / 3;
    this.busyIntervalMs = opts.busyIntervalMs ?? 5000;
    this.brotli = opts.brotli ?? false;
    this.onError = opts.onError ?? (() => {});
    this.onStale = opts.onStale ?? (() => {});
    this.now = opts.now ?? Date.now;
  }

  /**
   * The page for `key`: the cached one when its version is current, else a new render; the last good
   * page (marked stale) when the version read or the render is slow and there is one.
   */
  async page(key: string, readVersion: () => Promise<string>, render: (version: string) => Promise<string | Buffer>): Promise<Served> {
    this.inflight++;
    try {
      return await this.serve(key, readVersion, render);
    } finally {
      this.inflight--;
    }
  }

  /**
   * What `page` would answer at once for `key` when the current version is `version`, without a read,
   * a render or a wait: the cached page when it is that version's and young enough, or, while the
   * page is being rebuilt, the last one (the fresh variant when the data is the same, else the stale
   * one; always the stale one when `version` is undefined: changed, not yet read). Undefined when
   * `page` would have to read or render (the raw listener's hot path,
   * web/hot-path.ts, then hands the request to the route).
   */
  peek(key: string, version: string | undefined, client: object): Served | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    const sameData = e.version === version;
    let served: Served | undefined;
    if (sameData && this.now() - e.at <= this.maxAgeMs) served = { bytes: e.fresh, stale: false };
    else if (this.rendering.has(key)) served = sameData ? { bytes: e.fresh, stale: false } : { bytes: this.staleOf(e), stale: true };
    if (served === undefined) return undefined;
    this.touch(key, e);
    this.seen(client);
    return served;
  }

  /** Used: to the end of the LRU order (already there when it was the last one used or stored). */
  private touch(key: string, e: Entry): void {
    if (key === this.newest) return;
    this.entries.delete(key);
    this.entries.set(key, e);
    this.newest = key;
  }

  /** Count a client (its connection) answered by `peek`, per 100 ms window. */
  private seen(client: object): void {
    const t = this.now();
    if (t - this.window.start >= 100) {
      this.window = { start: t, clients: new Set(), previous: t - this.window.start < 200 ? this.window.clients.size : 0 };
    }
    this.window.clients.add(client);
  }

  /**
   * Other requests are being served: pages in flight here, or `peek` answered two or more connections
   * in the last 100-200 ms (one client asking again and again on its connection is still alone).
   */
  private busy(): boolean {
    if (this.inflight > 1) return true;
    const age = this.now() - this.window.start;
    if (age >= 200) return false;
    return Math.max(this.window.clients.size, age < 100 ? this.window.previous : 0) >= 2;
  }

  private waitMs(): number {
    return this.busy() ? this.staleWaitMs : this.loneWaitMs;
  }

  private async serve(key: string, readVersion: () => Promise<string>, render: (version: string) => Promise<string | Buffer>): Promise<Served> {
    const e = this.entries.get(key);
    if (e === undefined) {
      const v = await readVersion();
      return { bytes: (await this.renderOnce(key, v, render, true)).fresh, stale: false };
    }
    this.touch(key, e);
    const vp = readVersion();
    const v = await within(vp, this.waitMs());
    if (v === timedOut) {
      // Redis is slow to answer (or this loop is busy): the last page now, the fresh one later.
      vp.then((ver) => this.refresh(key, ver, render)).catch((err: unknown) => this.onError(err, key));
      return { bytes: this.staleOf(e), stale: true };
    }
    const sameData = v === e.version;
    if (sameData && this.now() - e.at <= this.maxAgeMs) return { bytes: e.fresh, stale: false };
    // Another request is already refreshing this page (or waits its turn to): no need to wait for it too.
    if (this.rendering.has(key)) return sameData ? { bytes: e.fresh, stale: false } : { bytes: this.staleOf(e), stale: true };
    const p = this.renderOnce(key, v, render, false);
    const r = await within(p, this.waitMs());
    if (r !== timedOut) return { bytes: r.fresh, stale: false };
    p.catch((err: unknown) => this.onError(err, key));
    return sameData ? { bytes: e.fresh, stale: false } : { bytes: this.staleOf(e), stale: true };
  }

  private refresh(key: string, version: string, render: (version: string) => Promise<string | Buffer>): void {
    const e = this.entries.get(key);
    if (e !== undefined && e.version === version && this.now() - e.at <= this.maxAgeMs) return;
    this.renderOnce(key, version, render, false).catch((err: unknown) => this.onError(err, key));
  }

  /** One render per key at a time; a re-render waits its turn so renders take at most `renderShare` of the time. */
  private renderOnce(key: string, version: string, render: (version: string) => Promise<string | Buffer>, first: boolean): Promise<Entry> {
    const running = this.rendering.get(key);
    if (running) return running;
    const last = this.lastRender.get(key);
    // Throttled only while other requests wait to be served: a request alone gets its render at once.
    const wait = first || last === undefined || !this.busy() ? 0 : Math.max(0, last.end + Math.max(this.busyIntervalMs, last.took * (1 / this.renderShare - 1)) - this.now());
    const p = (async () => {
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const at = this.now();
      const html = await render(version);
      const identity = typeof html === 'string' ? Buffer.from(html) : html;
      const took = this.now() - at;
      // Both variants and their gzip copies exist before the entry is used: a client that accepts gzip
      // is never sent the whole page as is while a copy is being made (under load that was most bytes).
      const [fresh, stale] = await Promise.all([bytesOf(identity), bytesOf(this.withNote(identity))]);
      const size = [fresh, stale].reduce((n, b) => n + b.identity.length + (b.gzip?.length ?? 0), 0);
      const entry: Entry = { version, at, fresh, stale, size };
      this.lastRender.set(key, { end: this.now(), took });
      this.store(key, entry);
      if (this.brotli) this.addBrotli(entry, entry.fresh);
      return entry;
    })().finally(() => this.rendering.delete(key));
    this.rendering.set(key, p);
    return p;
  }

  private store(key: string, entry: Entry): void {
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.size;
      this.entries.delete(key);
    }
    this.entries.set(key, entry);
    this.newest = key;
    this.bytes += entry.size;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes || k === key) break;
      this.entries.delete(k);
      this.lastRender.delete(k);
      this.bytes -= e.size;
    }
  }

  /** The stale variant of an entry (counted: benchmarks report how many were sent). */
  private staleOf(e: Entry): PageBytes {
    this.onStale();
    return e.stale;
  }

  /** The page with the view's marker replaced by the note that the data may be a moment old. */
  private withNote(identity: Buffer): Buffer {
    const i = this.stale.marker === '' ? -1 : identity.indexOf(this.stale.marker);
    return i < 0 ? identity : Buffer.concat([identity.subarray(0, i), Buffer.from(this.stale.note), identity.subarray(i + Buffer.byteLength(this.stale.marker))]);
  }

  /** A brotli copy, made in zlib's thread pool after the entry is in use (gzip is sent until then). */
  private addBrotli(e: Entry, b: PageBytes): void {
    const params = { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.identity.length };
    brotliAsync(b.identity, { params }).then(
      (z) => {
        b.br = z;
        e.size += z.length;
        // Counted only while the entry is still held.
        if ([...this.entries.values()].includes(e)) this.bytes += z.length;
      },
      () => {},
    );
  }

  clear(): void {
    this.entries.clear();
    this.newest = undefined;
    this.lastRender.clear();
    this.bytes = 0;
  }
}
