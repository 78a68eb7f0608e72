/**
 * Byte stream -> complete lines, with exact byte accounting: `consumed` is the number of bytes up to
 * and including the last newline handed on, i.e. how far the saved read position may advance. Bytes
 * are decoded as latin1 (one char per byte, any byte valid), so offsets stay exact whatever the
 * encoding. Text is handed on in batches (fewer, larger scans); a line longer than `maxLineBytes`
 * is cut (its start is kept) so one runaway line cannot exhaust memory.
 */

export interface LineSplitterOptions {
  /** The read starts mid-line (a tail): drop everything up to the first newline. */
  skipFirstPartial?: boolean;
  /** Hand on text once this many bytes of complete lines are buffered. Default 256 KiB. */
  batchBytes?: number;
  /** Longest line kept whole. Default 1 MiB; the first 64 KiB of a longer line is kept. */
  maxLineBytes?: number;
}

export class LineSplitter {
  /** Bytes up to and including the last newline passed to `onText` (or skipped). */
  consumed = 0;
  private skipping: boolean;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of the current unfinished line held in `pending` after the last newline. */
  private tailBytes = 0;
  /** The current line was cut: drop bytes until its newline. */
  private cut = false;
  private cutBytes = 0;
  private readonly batch: number;
  private readonly maxLine: number;

  constructor(
    private readonly onText: (text: string) => void,
    opts: LineSplitterOptions = {},
  ) {
    this.skipping = opts.skipFirstPartial ?? false;
    this.batch = opts.batchBytes ?? 256 * 1024;
    this.maxLine = opts.maxLineBytes ?? 1 << 20;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.skipping || this.cut) {
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (this.skipping) this.consumed += buf.length;
        else this.cutBytes += buf.length;
        return;
      }
      if (this.skipping) {
        this.consumed += nl + 1;
        this.skipping = false;
      } else {
        // End of a cut line: its kept start plus this newline go on; the dropped middle is counted.
        this.cutBytes += nl;
        this.pending.push(Buffer.from('\n'));
        this.pendingBytes += 1;
        this.tailBytes = 0;
        this.cut = false;
      }
      buf = buf.subarray(nl + 1);
      if (buf.length === 0) return this.maybeFlush();
    }
    const last = buf.lastIndexOf(10);
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    if (last < 0) {
      this.tailBytes += buf.length;
      if (this.tailBytes > this.maxLine) this.cutLine();
      return;
    }
    this.tailBytes = buf.length - last - 1;
    this.maybeFlush();
  }

  private cutLine(): void {
    // Hand on the complete lines first, so `cutBytes` only ever belongs to the runaway line. Then keep
    // its first 64 KiB and count the rest as dropped bytes of that line.
    this.maybeFlush(true);
    const all = Buffer.concat(this.pending, this.pendingBytes);
    const keep = Buffer.from(all.subarray(0, 65_536));
    this.cutBytes += this.pendingBytes - keep.length;
    this.pending = [keep];
    this.pendingBytes = keep.length;
    this.tailBytes = keep.length;
    this.cut = true;
  }

  private maybeFlush(force = false): void {
    const complete = this.pendingBytes - this.tailBytes;
    if (complete === 0 || (!force && complete < this.batch)) return;
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const text = all.toString('latin1', 0, complete);
    this.pending = this.tailBytes > 0 ? [Buffer.from(all.subarray(complete))] : [];
    this.pendingBytes = this.tailBytes;
    this.consumed += complete + this.cutBytes;
    this.cutBytes = 0;
    this.onText(text);
  }

  /**
   * The stream ended. `finalFile`: the file will not grow any more (a rotated file), so an
   * unterminated last line is a line and its bytes are consumed; otherwise it stays for next time.
   */
  end(finalFile: boolean): void {
    this.maybeFlush(true);
    if (finalFile && this.pendingBytes > 0 && !this.skipping) {
      const text = Buffer.concat(this.pending, this.pendingBytes).toString('latin1');
      this.consumed += this.pendingBytes + this.cutBytes;
      this.pending = [];
      this.pendingBytes = 0;
      this.tailBytes = 0;
      this.cutBytes = 0;
      this.onText(text);
    }
  }
}
