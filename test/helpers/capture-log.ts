/** A Logger that keeps every line, unscrubbed, so tests can prove a secret never reached the log. */
import type { Logger } from '../../lib/log.js';

export interface CaptureLog extends Logger {
  lines: string[];
  /** Every line joined, for `toContain` / `not.toContain`. */
  text(): string;
}

export function captureLog(bound: Record<string, unknown> = {}, lines: string[] = []): CaptureLog {
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void lines.push(JSON.stringify({ level, msg, ...bound, ...fields }));
  return {
    lines,
    text: () => lines.join('\n'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (f) => captureLog({ ...bound, ...f }, lines),
  };
}
