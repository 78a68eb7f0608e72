/**
 * Structured logging: one JSON object per line to `error_log` (when configured) and to stderr (JSON
 * when stderr is not a terminal, a compact human line when it is). Every configured secret is
 * scrubbed from messages and fields before anything is written.
 */
import fs from 'node:fs';
import type { Config } from './config/normalize.js';
import { espSecrets } from './config/esp.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** The secret values in a config: never to be written anywhere. */
export function secretsOf(config: Config): string[] {
  const out: string[] = [];
  out.push(...config.checkSecrets);
  for (const z of config.zones) {
    if (z.hasDqsKey) out.push(z.queryZone.split('.')[0]!);
  }
  if (config.metrics.bearerToken) out.push(config.metrics.bearerToken);
  if (config.alerts.email?.smtp.password) out.push(config.alerts.email.smtp.password);
  for (const w of config.alerts.webhooks) {
    out.push(w.secret);
    // A webhook URL may carry its own token (Slack-style paths, ?key=): only its label is ever shown.
    const u = new URL(w.url);
    for (const part of [...u.pathname.split('/'), ...u.searchParams.values()]) if (part.length >= 16) out.push(part);
  }
  out.push(...espSecrets(config.esp));
  if (config.probes?.smtp?.password) out.push(config.probes.smtp.password);
  if (config.probes?.imap?.password) out.push(config.probes.imap.password);
  if (config.redis.url) {
    try {
      const u = new URL(config.redis.url);
      if (u.password) out.push(decodeURIComponent(u.password));
    } catch {
      /* validated at load */
    }
  }
  return out.filter((s) => s.length >= 4);
}

/** Replace every secret in a string with ***. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

function scrubValue(v: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof v === 'string') return scrub(v, secrets);
  if (v instanceof Error) return scrub(v.message, secrets);
  if (depth > 4 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => scrubValue(x, secrets, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubValue(x, secrets, depth + 1)]));
}

export interface LoggerOptions {
  level?: Level;
  file?: string;
  secrets?: readonly string[];
  /** Where human/JSON lines go; default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Suppress stderr below this level (cron mode: only warnings and errors). */
  stderrLevel?: Level;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = opts.secrets ?? [];
  const stream = opts.stream ?? process.stderr;
  const min = order[opts.level ?? 'info'];
  const stderrMin = order[opts.stderrLevel ?? opts.level ?? 'info'];
  let fd: number | null = null;
  if (opts.file) {
    try {
      fd = fs.openSync(opts.file, 'a', 0o640);
    } catch (e) {
      stream.write(`mtarep: cannot open error_log ${opts.file}: ${(e as Error).message}\n`);
    }
  }
  const make = (bound: Record<string, unknown>): Logger => {
    const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
      if (order[level] < min) return;
      const rec = scrubValue({ time: new Date().toISOString(), level, msg, ...bound, ...fields }, secrets) as Record<
        string,
        unknown
      >;
      const json = JSON.stringify(rec) + '\n';
      if (fd !== null) {
        try {
          fs.writeSync(fd, json);
        } catch {
          /* a full disk must not stop monitoring */
        }
      }
      if (order[level] < stderrMin) return;
      if (stream.isTTY) {
        const { time, level: l, msg: m, ...rest } = rec;
        // A terminal gets a readable line: long structured fields are cut (the file keeps them whole).
        const extra = Object.entries(rest)
          .map(([k, v]) => {
            const text = typeof v === 'string' ? v : JSON.stringify(v);
            return `${k}=${text.length > 160 ? text.slice(0, 159) + '…' : text}`;
          })
          .join(' ');
        stream.write(`${String(time).slice(11, 19)} ${String(l).toUpperCase().padEnd(5)} ${String(m)}${extra ? ' ' + extra : ''}\n`);
      } else {
        stream.write(json);
      }
    };
    return {
      debug: (m, f) => write('debug', m, f),
      info: (m, f) => write('info', m, f),
      warn: (m, f) => write('warn', m, f),
      error: (m, f) => write('error', m, f),
      child: (f) => make({ ...bound, ...f }),
    };
  };
  return make({});
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
