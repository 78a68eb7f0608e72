/**
 * The progress bar `mtarep collect` draws on a terminal: one line on stderr, redrawn in place. Log
 * lines written meanwhile go through `logStream()`, which clears the bar, writes the line and draws
 * the bar again below it, so the two never share a line.
 */
import type { Progress } from '../collector/run.js';

export class ProgressBar implements Progress {
  private line = '';
  private lastDraw = 0;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly width = 30,
  ) {}

  update(done: number, total: number, label: string): void {
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < total) return;
    this.lastDraw = now;
    const filled = total > 0 ? Math.round((done / total) * this.width) : 0;
    const cols = Math.max(40, (this.out.columns ?? 100) - 1);
    this.line = `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${done}/${total} ${label}`.slice(0, cols);
    this.out.write(`\r\x1b[K${this.line}`);
  }

  /** Remove the bar (before the summary is printed). */
  done(): void {
    if (this.line) this.out.write('\r\x1b[K');
    this.line = '';
  }

  /** A stream for the logger: each write lands on its own line above the bar. */
  logStream(): NodeJS.WritableStream & { isTTY: boolean } {
    const write = (chunk: string | Uint8Array): boolean => {
      if (this.line) this.out.write('\r\x1b[K');
      this.out.write(chunk);
      if (this.line) this.out.write(this.line);
      return true;
    };
    return Object.assign(Object.create(this.out) as NodeJS.WritableStream, { write, isTTY: true });
  }
}
