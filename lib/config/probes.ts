/**
 * The `probes:` section (round-trip delivery probes, the mxtrax system): its schema fragment and its
 * normalisation. Passwords come from the environment (MTAREP_PROBES_SMTP_PASSWORD /
 * MTAREP_PROBES_IMAP_PASSWORD, winning as for the other secrets), `password` or `password_file`.
 */
import * as z from 'zod';
import type { TlsMode } from '../mail/tls.js';
import { fileErrorText } from '../files.js';
import { durationMs, durationSec } from './fields.js';
import { isAddress } from '../net/names.js';

/** The `probes:` section's schema: built when a config has the section (lazySection in fields.ts). */
export function probesSchema() {
  const nonEmpty = z.string().trim().min(1, 'must not be empty');
  const port = z.number().int().min(1).max(65535);
  const address = nonEmpty.refine((s) => isAddress(s), { message: 'must be an e-mail address (user@domain)' });
  const tlsMode = z.enum(['none', 'starttls', 'tls']);
  const server = {
    host: nonEmpty,
    port: port.optional(),
    tls: tlsMode.optional(),
    password: nonEmpty.optional(),
    password_file: nonEmpty.optional(),
    /** Skip certificate verification (self-signed). */
    insecure: z.boolean().optional(),
    /** PEM file of an extra CA to trust for this server. */
    ca_file: nonEmpty.optional(),
    timeout_ms: durationMs(120_000).optional(),
  };
  return z.strictObject({
    from: address,
    interval: durationSec(86_400).default(300),
    subject_prefix: z.string().default('[mtarep probe]'),
    /** How probes leave: probes.smtp (default) or the ESP gateway of the `esp:` section. */
    via: z.enum(['smtp', 'esp']).default('smtp'),
    smtp: z.strictObject({ ...server, user: nonEmpty.optional(), pool: z.number().int().min(1).max(100).default(4) }).optional(),
    imap: z
      .strictObject({
        ...server,
        user: nonEmpty,
        folders: z.array(nonEmpty).min(1).default(['INBOX']),
        delete_matched: z.boolean().default(true),
      })
      .optional(),
    mbox: nonEmpty.optional(),
    max_return_s: durationSec(7 * 86_400).default(300),
    max_sec_until_fail: durationSec(30 * 86_400).default(86400),
    max_fail_number: z.number().int().min(0).default(0),
    max_fail_percentage: z.number().min(0).max(100).default(0),
    max_late_number: z.number().int().min(0).default(0),
    max_late_percentage: z.number().min(0).max(100).default(0),
    window: durationSec(30 * 86_400).default(86400),
    alert_to: z.array(address).default([]),
  });
}

export type RawProbes = z.infer<ReturnType<typeof probesSchema>>;

export interface ServerConfig {
  host: string;
  port: number;
  tls: TlsMode;
  user?: string;
  password?: string;
  /** Absolute path; read into `password` by loadConfig. */
  passwordFile?: string;
  insecure: boolean;
  caFile?: string;
  timeoutMs: number;
}

export interface ProbesConfig {
  from: string;
  interval: number;
  subjectPrefix: string;
  /** smtp: probes leave through `smtp`; esp: through the ESP gateway (`esp.providers`, with failover). */
  via: 'smtp' | 'esp';
  /** Required with via: smtp; with via: esp only the failing-domain report uses it (else the gateway sends it). */
  smtp?: ServerConfig & { pool: number };
  imap?: ServerConfig & { user: string; folders: string[]; deleteMatched: boolean };
  mbox?: string;
  maxReturnS: number;
  maxSecUntilFail: number;
  maxFailNumber: number;
  maxFailPercentage: number;
  maxLateNumber: number;
  maxLatePercentage: number;
  window: number;
  alertTo: string[];
}

type Problem = { path: string; message: string };

export function normalizeProbes(raw: RawProbes, resolve: (p: string) => string, problems: Problem[]): ProbesConfig {
  const srv = (
    r: { host: string; port?: number | undefined; tls?: 'none' | 'starttls' | 'tls' | undefined; password?: string | undefined; password_file?: string | undefined; insecure?: boolean | undefined; ca_file?: string | undefined; timeout_ms?: number | undefined; user?: string | undefined },
    path: string,
    defaults: { port: (tls: TlsMode) => number; tls: TlsMode },
  ): ServerConfig => {
    const tls = r.tls ?? defaults.tls;
    const out: ServerConfig = { host: r.host, port: r.port ?? defaults.port(tls), tls, insecure: r.insecure ?? false, timeoutMs: r.timeout_ms ?? 15000 };
    if (r.user !== undefined) out.user = r.user;
    if (r.password !== undefined) out.password = r.password;
    if (r.password_file !== undefined) out.passwordFile = resolve(r.password_file);
    if (r.password !== undefined && r.password_file !== undefined) {
      problems.push({ path: `${path}.password_file`, message: 'set either password or password_file, not both' });
    }
    if (r.ca_file !== undefined) out.caFile = resolve(r.ca_file);
    return out;
  };
  const out: ProbesConfig = {
    from: raw.from.toLowerCase(),
    interval: raw.interval,
    subjectPrefix: raw.subject_prefix,
    via: raw.via,
    maxReturnS: raw.max_return_s,
    maxSecUntilFail: raw.max_sec_until_fail,
    maxFailNumber: raw.max_fail_number,
    maxFailPercentage: raw.max_fail_percentage,
    maxLateNumber: raw.max_late_number,
    maxLatePercentage: raw.max_late_percentage,
    window: raw.window,
    alertTo: raw.alert_to.map((a) => a.toLowerCase()),
  };
  if (raw.smtp) out.smtp = { ...srv(raw.smtp, 'probes.smtp', { tls: 'none', port: (t) => (t === 'tls' ? 465 : t === 'starttls' ? 587 : 25) }), pool: raw.smtp.pool };
  else if (raw.via === 'smtp') problems.push({ path: 'probes.smtp', message: 'is required: the SMTP server probes leave through (or probes.via: esp to send them through esp.providers)' });
  if (raw.imap) {
    out.imap = {
      ...srv(raw.imap, 'probes.imap', { tls: 'tls', port: (t) => (t === 'tls' ? 993 : 143) }),
      user: raw.imap.user,
      folders: raw.imap.folders,
      deleteMatched: raw.imap.delete_matched,
    };
  }
  if (raw.mbox !== undefined) out.mbox = resolve(raw.mbox);
  if (raw.imap && raw.mbox !== undefined) problems.push({ path: 'probes.mbox', message: 'set either probes.imap or probes.mbox, not both' });
  if (!raw.imap && raw.mbox === undefined) problems.push({ path: 'probes', message: 'needs probes.imap or probes.mbox: where returned probes are found' });
  if (raw.max_sec_until_fail <= raw.max_return_s) {
    problems.push({ path: 'probes.max_sec_until_fail', message: `must be greater than max_return_s (${raw.max_return_s})` });
  }
  return out;
}

/** Env var names for the passwords (when neither password nor password_file is set). */
export const probePasswordEnv = { smtp: 'MTAREP_PROBES_SMTP_PASSWORD', imap: 'MTAREP_PROBES_IMAP_PASSWORD' } as const;

/**
 * Fill `password` from password_file (read by `read`, which drops the trailing line break) or the environment. Returns problems (unreadable file).
 * Called by loadConfig (parseConfig stays free of file reads).
 */
export function resolveProbeSecrets(p: ProbesConfig, read: (file: string) => string, env: NodeJS.ProcessEnv): Problem[] {
  const problems: Problem[] = [];
  const fill = (s: ServerConfig, key: 'smtp' | 'imap') => {
    // As the other secrets: the environment wins over the config file's keys.
    const fromEnv = env[probePasswordEnv[key]];
    if (fromEnv) {
      s.password = fromEnv;
      return;
    }
    if (s.password !== undefined) return;
    if (s.passwordFile !== undefined) {
      try {
        s.password = read(s.passwordFile);
      } catch (e) {
        problems.push({ path: `probes.${key}.password_file`, message: `cannot read ${s.passwordFile}: ${fileErrorText(e)}` });
      }
      return;
    }
  };
  if (p.smtp) fill(p.smtp, 'smtp');
  if (p.imap) {
    fill(p.imap, 'imap');
    if (p.imap.password === undefined) {
      problems.push({ path: 'probes.imap.password', message: `is required (or password_file, or ${probePasswordEnv.imap} in the environment)` });
    }
  }
  if (p.smtp?.user !== undefined && p.smtp.password === undefined) {
    problems.push({ path: 'probes.smtp.password', message: `is required with probes.smtp.user (or password_file, or ${probePasswordEnv.smtp})` });
  }
  return problems;
}
