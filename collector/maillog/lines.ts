/**
 * Byte stream -> complete lines, with exact byte accounting: `consumed` is the number of bytes up to
 * and including the last newline handed on, i.e. how far the saved read position may advance. Lines
 * are handed on as Buffers, zero-copy where a chunk holds them whole (the scanner searches bytes
 * natively and decodes only the lines it needs). A line longer than `maxLineBytes` is cut (its start
 * is kept) so one runaway line cannot exhaust memory.
 */

export interface LineSplitterOptions {
  /** The read starts mid-line (a tail): drop everything up to the first newline. */
  skipFirstPartial?: boolean;
  /** Longest line kept whole. Default 1 MiB; the first 64 KiB of a longer line is kept. */
  maxLineBytes?: number;
}

export class LineSplitter {
  /** Bytes up to and including the last newline passed on (or skipped). */
  consumed = 0;
  private skipping: boolean;
  /** The unfinished line: kept bytes, and how many bytes of it were dropped (cut). */
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private droppedBytes = 0;
  private readonly maxLine: number;

  /** `onLines` gets one or more complete lines (each ending in `\n`); it must not keep the Buffer. */
  constructor(
    private readonly onLines: (lines: Buffer) => void,
    opts: LineSplitterOptions = {},
  ) {
    this.skipping = opts.skipFirstPartial ?? false;
    this.maxLine = opts.maxLineBytes ?? 1 << 20;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.skipping) {
      const nl = buf.indexOf(10);
      if (nl < 0) {
        this.consumed += buf.length;
        return;
      }
      this.consumed += nl + 1;
      this.skipping = false;
      buf = buf.subarray(nl + 1);
    }
    if (buf.length === 0) return;
    if (this.tailBytes > 0 || this.droppedBytes > 0) {
      const nl = buf.indexOf(10);
      if (nl < 0) return this.keep(buf);
      this.keep(buf.subarray(0, nl + 1));
      this.emitTail();
      buf = buf.subarray(nl + 1);
      if (buf.length === 0) return;
    }
    const last = buf.lastIndexOf(10);
    if (last < 0) return this.keep(buf);
    if (last + 1 < buf.length) this.keep(buf.subarray(last + 1));
    this.consumed += last + 1;
    this.onLines(buf.subarray(0, last + 1));
  }

  /** Hold bytes of the unfinished line (copied: the caller's buffer may be reused), cutting a runaway. */
  private keep(b: Buffer): void {
    const room = this.maxLine - this.tailBytes;
    if (this.droppedBytes > 0 || b.length > room) {
      const cutAt = 65_536;
      if (this.tailBytes < cutAt) {
        const take = Math.min(b.length, cutAt - this.tailBytes);
        this.tail.push(Buffer.from(b.subarray(0, take)));
        this.tailBytes += take;
        b = b.subarray(take);
      }
      // Bytes past the kept start; the newline itself still goes on so the line ends.
      const nlKept = b.length > 0 && b[b.length - 1] === 10;
      this.droppedBytes += b.length - (nlKept ? 1 : 0);
      if (nlKept) {
        this.tail.push(Buffer.from('\n'));
        this.tailBytes += 1;
      }
      return;
    }
    this.tail.push(Buffer.from(b));
    this.tailBytes += b.length;
  }

  /**
   * The stream ended. `finalFile`: the file will not grow any more (a rotated file), so an
   * unterminated last line is a line and its bytes are consumed; otherwise it stays for next time.
   */
  end(finalFile: boolean): void {
    if (finalFile && this.tailBytes > 0 && !this.skipping) this.emitTail();
  }

  /** Hand on the held line and count all its bytes (the cut ones too). */
  private emitTail(): void {
    const line = Buffer.concat(this.tail, this.tailBytes);
    this.consumed += this.tailBytes + this.droppedBytes;
    this.tail = [];
    this.tailBytes = 0;
    this.droppedBytes = 0;
    this.onLines(line);
  }
}
