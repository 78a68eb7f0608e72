import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../cli/progress.js';
import { createLogger } from '../lib/log.js';

describe('collect progress bar', () => {
  it('keeps log lines off the bar line and redraws the bar below them', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const bar = new ProgressBar(Object.assign(out, { columns: 80 }) as unknown as NodeJS.WriteStream);
    const log = createLogger({ stream: bar.logStream() });
    bar.update(1, 4, 'resolving hosts');
    log.warn('zone unhealthy', { zone: 'bl.example', checks: { a: 'x'.repeat(400) } });
    bar.update(4, 4, 'written');
    bar.done();
    // The log line starts on a cleared line and the bar is drawn again after it.
    expect(text).toContain('\r\x1b[K[########');
    expect(text).toMatch(/\r\x1b\[K\d\d:\d\d:\d\d WARN  zone unhealthy zone=bl\.example checks=\{"a":"x+…\n\[#+\.+\] 1\/4 resolving hosts/);
    expect(text.endsWith('\r\x1b[K')).toBe(true);
  });
});
