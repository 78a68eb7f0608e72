/**
 * `mtarep e2e`: the one-shot end-to-end mail check (a drop-in for email-end2end-test). No config file:
 * everything comes from options (the original's names and defaults), passwords also from files or
 * the environment. Prints one JSON object, one Influx line or one Nagios line; the exit code is the
 * Nagios state in every format (0 found in the inbox, 1 found in Junk or slow, 2 failed, 3 bad options).
 */
import fs from 'node:fs';
import type { CommandContext } from '../commands.js';
import { formatInflux, formatJson, formatNagios, nagiosUnknown } from '../../lib/e2e/format.js';
import { runE2e, type E2eOptions } from '../../lib/e2e/run.js';
import type { E2eTarget } from '../../lib/e2e/result.js';
import { scrub } from '../../lib/log.js';
import type { TlsMode } from '../../lib/mail/tls.js';
import { fileErrorText, readSecretFile } from '../../lib/files.js';
import { isAddress, isHostName } from '../../lib/net/names.js';
import { isIP } from '../../lib/net/ip.js';

export const e2eEnv = { smtpPassword: 'MTAREP_SMTP_PASSWORD', imapPassword: 'MTAREP_IMAP_PASSWORD' } as const;

const formats = ['json', 'influx', 'nagios'] as const;
type Format = (typeof formats)[number];
const tlsModes: readonly TlsMode[] = ['none', 'tls', 'starttls'];

/** A bad option: the message names it. */
export class E2eUsageError extends Error {}

type Values = CommandContext['values'];

function str(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}
function required(v: Values, name: string): string {
  const x = str(v, name);
  if (x === undefined || x.trim() === '') throw new E2eUsageError(`--${name} is required`);
  return x.trim();
}
/** A required address: user@domain (a one-label domain such as localhost too). */
function address(v: Values, name: string): string {
  const x = required(v, name);
  if (!isAddress(x, { singleLabel: true })) throw new E2eUsageError(`--${name}: not an e-mail address (user@domain): ${JSON.stringify(x)}`);
  return x;
}
/** A required server: a host name or an IP address (no port: that is --x-port). */
function host(v: Values, name: string): string {
  const x = required(v, name);
  if (!isHostName(x) && isIP(x) === 0) throw new E2eUsageError(`--${name}: not a host name or IP address: ${JSON.stringify(x)}`);
  return x;
}
function num(v: Values, name: string, def: number, opts: { int?: boolean; min: number; max?: number }): number {
  const x = str(v, name);
  if (x === undefined) return def;
  const n = Number(x);
  if (x.trim() === '' || !Number.isFinite(n) || n < opts.min || (opts.max !== undefined && n > opts.max) || (opts.int && !Number.isInteger(n))) {
    throw new E2eUsageError(`--${name} must be ${opts.int ? 'an integer' : 'a number'} ${opts.max !== undefined ? `from ${opts.min} to ${opts.max}` : `of at least ${opts.min}`}, not "${x}"`);
  }
  return n;
}
function tls(v: Values, name: string): TlsMode {
  const x = str(v, name) ?? 'starttls';
  if (!(tlsModes as readonly string[]).includes(x)) throw new E2eUsageError(`--${name} must be none, tls or starttls, not "${x}"`);
  return x as TlsMode;
}

/** --x-password, else --x-password-file (trailing line break dropped), else $MTAREP_X_PASSWORD. */
export function password(v: Values, which: 'smtp' | 'imap', env: NodeJS.ProcessEnv): string | undefined {
  const inline = str(v, `${which}-password`);
  const file = str(v, `${which}-password-file`);
  if (inline !== undefined && file !== undefined) throw new E2eUsageError(`give --${which}-password or --${which}-password-file, not both`);
  if (inline !== undefined) return inline;
  if (file !== undefined) {
    try {
      return readSecretFile(file);
    } catch (e) {
      throw new E2eUsageError(`--${which}-password-file: cannot read ${file}: ${fileErrorText(e)}`);
    }
  }
  const fromEnv = env[which === 'smtp' ? e2eEnv.smtpPassword : e2eEnv.imapPassword];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

export interface ParsedE2e {
  options: E2eOptions;
  target: E2eTarget;
  format: Format;
  warningS: number | undefined;
  criticalS: number | undefined;
  insecure: boolean;
}

/** The command line as run options. Throws E2eUsageError naming the bad option. */
export function parseE2eOptions(v: Values, env: NodeJS.ProcessEnv): ParsedE2e {
  const format = (str(v, 'output-format') ?? 'json') as Format;
  if (!formats.includes(format)) throw new E2eUsageError(`--output-format must be json, influx or nagios, not "${format}"`);
  const emailFrom = address(v, 'email-from');
  const emailTo = address(v, 'email-to');
  const smtpHost = host(v, 'smtp-host');
  const imapHost = host(v, 'imap-host');
  const imapUser = required(v, 'imap-username');
  const imapPassword = password(v, 'imap', env);
  if (imapPassword === undefined) throw new E2eUsageError(`the IMAP password is required: --imap-password, --imap-password-file or $${e2eEnv.imapPassword}`);
  const smtpUser = str(v, 'smtp-username');
  const smtpPassword = password(v, 'smtp', env);
  if (smtpUser && smtpPassword === undefined) {
    throw new E2eUsageError(`--smtp-username needs a password: --smtp-password, --smtp-password-file or $${e2eEnv.smtpPassword}`);
  }
  const checkFrequencyS = num(v, 'check-frequency', 2, { min: 0.1, max: 3600 });
  const maxChecks = num(v, 'max-checks', 30, { int: true, min: 1, max: 100_000 });
  // By default the run may take every search plus a minute for SMTP and the IMAP login. Node's
  // timers take at most 2^31-1 ms (24.8 days): a longer one fires at once, so the bound is 24 days.
  const maxTimeoutS = 24 * 86_400;
  const timeoutS = num(v, 'timeout', Math.min(checkFrequencyS * maxChecks + 60, maxTimeoutS), { min: 1, max: maxTimeoutS });
  const warningS = str(v, 'warning') === undefined ? undefined : num(v, 'warning', 0, { min: 0 });
  const criticalS = str(v, 'critical') === undefined ? undefined : num(v, 'critical', 0, { min: 0 });
  // Past the critical threshold a run is CRITICAL first: a larger --warning could never be reached.
  if (warningS !== undefined && criticalS !== undefined && warningS > criticalS) {
    throw new E2eUsageError(`--warning ${str(v, 'warning')!.trim()} is more than --critical ${str(v, 'critical')!.trim()}: the warning threshold must not exceed the critical one`);
  }
  const insecure = v['insecure'] === true;
  const smtpPort = num(v, 'smtp-port', 587, { int: true, min: 1, max: 65535 });
  const imapPort = num(v, 'imap-port', 143, { int: true, min: 1, max: 65535 });
  return {
    format,
    warningS,
    criticalS,
    insecure,
    target: { emailFrom, emailTo, smtpHost, smtpPort, imapHost, imapPort },
    options: {
      emailFrom,
      emailTo,
      prefix: str(v, 'prefix') ?? '[e2e email monitoring] ',
      checkFrequencyMs: checkFrequencyS * 1000,
      maxChecks,
      timeoutMs: timeoutS * 1000,
      delete: v['delete'] === true,
      smtp: {
        host: smtpHost,
        port: smtpPort,
        tls: tls(v, 'smtp-tls'),
        insecure,
        pool: 1,
        ...(smtpUser ? { user: smtpUser, password: smtpPassword } : {}),
      },
      imap: { host: imapHost, port: imapPort, tls: tls(v, 'imap-tls'), insecure, user: imapUser, password: imapPassword },
    },
  };
}

export async function run({ values }: CommandContext): Promise<number> {
  let parsed: ParsedE2e;
  try {
    parsed = parseE2eOptions(values, process.env);
  } catch (e) {
    if (!(e instanceof E2eUsageError)) throw e;
    if (values['output-format'] === 'nagios') process.stdout.write(nagiosUnknown(e.message).line + '\n');
    process.stderr.write(`mtarep e2e: ${e.message} (try mtarep e2e --help)\n`);
    return 3;
  }
  if (parsed.insecure) process.stderr.write('mtarep e2e: --insecure: TLS certificates are NOT verified\n');
  const result = await runE2e(parsed.options);
  const secrets = [parsed.options.smtp.password, parsed.options.imap.password].filter((p): p is string => typeof p === 'string' && p.length >= 3);
  const nagios = formatNagios(result, { warningS: parsed.warningS, criticalS: parsed.criticalS });
  const line = parsed.format === 'json' ? formatJson(result) : parsed.format === 'influx' ? formatInflux(result, parsed.target) : nagios.line;
  process.stdout.write(scrub(line, secrets) + '\n');
  return nagios.code;
}
