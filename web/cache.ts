/**
 * Rendered pages kept until the data changes: an entry is valid for one `keys.dataVersion` value
 * (the collector INCRs it on every write, an acknowledgement too) and at most `maxAgeMs`, so
 * relative times ("5 min ago") and staleness marks do not drift.
 */
export class PageCache {
  private readonly entries = new Map<string, { version: string; at: number; body: string }>();

  constructor(
    private readonly maxAgeMs = 30_000,
    private readonly maxEntries = 200,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, version: string): string | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.version !== version || this.now() - e.at > this.maxAgeMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.body;
  }

  set(key: string, version: string, body: string): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { version, at: this.now(), body });
  }

  clear(): void {
    this.entries.clear();
  }
}
