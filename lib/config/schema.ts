/**
 * The one schema for mtarep.yml. It accepts a Ruby-mtarep config unchanged and the keys a modern
 * deployment adds. The `RawConfig` type is derived from it; `normalize.ts` turns it into `Config`.
 * Every key here is documented in mtarep.example.yml.
 */
import * as z from 'zod';
import { intToIpv4, ipv4Mask, ipv4ToInt, isIP } from '../net/ip.js';
import { regexHazard } from '../regex-safety.js';
import { checkRedisUrl } from '../redis-target.js';
import { isTimeZone } from '../time-zones.js';
import { checkPlugins } from '../checks/index.js';
import { durationDays, durationMs, durationSec, httpUrl, lazySection, nonEmpty, port, positiveInt } from './fields.js';
import { probesSchema } from './probes.js';

export { durationDays, durationMs, durationSec };

/** Glob characters Redis SCAN MATCH would read as patterns, and white space. */
const prefixChars = /^[^*?[\]\\\s]*$/;

/** A maillog path on the MTA: absolute (it is read over SSH, not relative to anything), one line. */
const maillogPath = nonEmpty
  .refine((s) => !/[\n\r\0]/.test(s), { message: 'must not contain a newline or NUL character' })
  .refine((s) => s.startsWith('/'), { message: 'must be an absolute path on the MTA (starting with /)' });

/** host, host:port, [v6]:port or a bare IP; port defaults to 53. */
const dnsServer = nonEmpty.refine((s) => isIP(parseHostPort(s, 53)?.host ?? '') !== 0, {
  message: 'must be an IP address, optionally with :port (IPv6 as [addr]:port)',
});

/** What is wrong with one configured IP address (trimmed as `nonEmpty` trims), or null. */
function ipProblem(raw: string): string | null {
  const s = raw.trim();
  if (s.length === 0) return 'must not be empty';
  if (s.includes('%')) return `"${s}" has an IPv6 scope (%...): give the address without it (DNSBLs and DNS know no scope)`;
  if (isIP(s) === 0) return 'must be an IPv4 or IPv6 address';
  const v4 = mappedIpv4(s);
  return v4 === null ? null : `"${s}" is an IPv4-mapped IPv6 address: write the IPv4 address ${v4}`;
}

/**
 * A host's IP addresses, each checked in one plain loop: at 10,000 addresses a zod schema per item
 * (trim, min, superRefine) cost every collect's start ~25 ms more than this loop. Each problem names its item, as an
 * item schema would (`ips[3]: ...`); values come out trimmed.
 */
const ipList = z
  .array(z.string())
  .min(1)
  .transform((ips, ctx) => {
    const out = new Array<string>(ips.length);
    for (let i = 0; i < ips.length; i++) {
      const why = ipProblem(ips[i]!);
      if (why !== null) ctx.addIssue({ code: 'custom', message: why, path: [i], input: ips[i] });
      out[i] = ips[i]!.trim();
    }
    return out;
  });

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) stands for, else null. */
export function mappedIpv4(ip: string): string | null {
  if (isIP(ip) !== 6) return null;
  const m = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(new URL(`http://[${ip}]/`).host);
  if (!m) return null;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** A pattern run on text remote servers wrote: it must compile and be safe from runaway backtracking. */
const regexString = z.string().superRefine((s, ctx) => {
  try {
    new RegExp(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `bad regular expression: ${(e as Error).message}` });
    return;
  }
  const hazard = regexHazard(s);
  if (hazard !== null) ctx.addIssue({ code: 'custom', message: `unsafe regular expression /${s}/: ${hazard}` });
  // '', '.*' or 'a|' match the empty text, so every rejection line a remote server writes: every
  // host would show a block.
  else if (new RegExp(s).test('')) ctx.addIssue({ code: 'custom', message: `/${s}/ matches any line (it matches empty text): name what the provider writes` });
});

/**
 * An IPv4 return code (127.0.0.2) or range (127.0.4.0/24) in a zone's code table. The prefix is
 * checked here, digits only and 0-32: the shift that builds the mask works modulo 32, so /99 would
 * silently act as /3 (and be sorted as the most specific rule). A range has no bits set past its prefix.
 */
const returnCode = z.string().superRefine((s, ctx) => {
  const slash = s.indexOf('/');
  if (isIP(slash === -1 ? s : s.slice(0, slash)) !== 4) {
    ctx.addIssue({ code: 'custom', message: 'must be an IPv4 return code such as 127.0.0.2 or a range such as 127.0.4.0/24' });
    return;
  }
  const prefix = slash === -1 ? '32' : s.slice(slash + 1);
  if (!/^(0|[1-9]\d?)$/.test(prefix) || Number(prefix) > 32) {
    ctx.addIssue({ code: 'custom', message: `prefix must be 0-32 (the number after the /), not ${prefix === '' ? 'empty' : `"${prefix}"`}` });
    return;
  }
  // 127.0.0.5/24 used to be masked to 127.0.0.0/24 without a word: a typo for 127.0.0.5 (one code)
  // silently became a whole range.
  const addr = ipv4ToInt(s.slice(0, slash === -1 ? s.length : slash));
  const net = (addr & ipv4Mask(Number(prefix))) >>> 0;
  if (net !== addr) ctx.addIssue({ code: 'custom', message: `${s} has bits set past the /${prefix}: write ${intToIpv4(net)}/${prefix}` });
});

export const codeStates = ['listed', 'not_listed', 'error', 'unknown'] as const;
/** What a return code means: a bare state word, any other string = a listing with that label, or an object. */
const codeMeaning = z.union([
  nonEmpty,
  z.strictObject({ state: z.enum(codeStates), label: z.string().optional() }),
]);

export const zoneKinds = ['block', 'allow', 'reputation', 'score'] as const;

// The collector's sources (lib/source-names.ts): every command's config load, check-config
// included, rejects a misspelt `sources.<name>` the way collect does.
export { sourceNames, type SourceName } from '../source-names.js';

const zoneObject = z.strictObject({
  zone: nonEmpty,
  servers: z.array(dnsServer).min(1).optional(),
  ipv6: z.boolean().optional(),
  kind: z.enum(zoneKinds).optional(),
  codes: z.record(returnCode, codeMeaning).optional(),
  rate_limit: z.number().min(0.01, 'must be at least 0.01 (queries per second)').max(1_000_000).optional(),
  dqs_key: nonEmpty.optional(),
  critical: z.boolean().optional(),
  self_test: z.boolean().optional(),
  removal_link: httpUrl.optional(),
  timeout_ms: durationMs(60_000).optional(),
});

/** A counters id: it becomes `<id>:<YYYYMMDD>:<type>`. */
const countersId = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/, 'must be letters, digits, dot, dash or underscore (it becomes <id>:<YYYYMMDD>:<type>)');

const hostObject = z.strictObject({
  fqdn: nonEmpty.optional(),
  ssh_host: nonEmpty.optional(),
  ssh_port: port.optional(),
  ssh_user: nonEmpty.optional(),
  maillog_path: maillogPath.optional(),
  ips: ipList.optional(),
  timezone: nonEmpty
    .refine(isTimeZone, { message: 'must be an IANA time zone such as America/New_York' })
    .optional(),
  counters_id: countersId.optional(),
  ssh: z.boolean().optional(),
});

const mtaMap = z.union([
  z.array(nonEmpty),
  z.record(nonEmpty, z.union([nonEmpty, hostObject])),
]);

/** `alerts:` (issue 12): where alerts go and how changes are debounced, grouped and repeated. Built when a
 * config has the section (lazySection in fields.ts). */
function alertsSchema() {
  /** An e-mail address as alert mail needs it: something@domain, no display name, no spaces. */
  const emailAddress = nonEmpty.refine((s) => /^[^\s@<>]+@[^\s@<>]+$/.test(s), { message: 'must be an e-mail address such as ops@example.com' });

  return z.strictObject({
    email: z
      .strictObject({
        to: z.array(emailAddress).min(1, 'needs at least one recipient'),
        from: emailAddress,
        smtp: z
          .strictObject({
            host: nonEmpty.default('127.0.0.1'),
            port: port.optional(),
            tls: z.enum(smtpTlsModes).optional(),
            user: nonEmpty.optional(),
            password: nonEmpty.optional(),
            timeout_ms: durationMs(120_000).default(15000),
          })
          .prefault({}),
      })
      .optional(),
    webhooks: z
      .array(
        z.strictObject({
          url: httpUrl,
          secret: nonEmpty.refine((s) => s.length >= 16, { message: 'must be at least 16 characters (it signs every request)' }),
          timeout_ms: durationMs(120_000).default(10000),
        }),
      )
      .default([]),
    confirm_runs: z.number().int().min(1).max(100).default(2),
    digest_s: z.number().int().min(0).max(86400, 'must be at most 86400 s (1 day)').default(600),
    remind_s: z.number().int().min(0).max(30 * 86400, 'must be at most 2592000 s (30 days)').default(86400),
    min_severity: z.enum(alertSeverities).default('warning'),
    quiet: z.array(nonEmpty).default([]),
  });
}

export const smtpTlsModes = ['none', 'starttls', 'tls'] as const;
export const alertSeverities = ['warning', 'problem'] as const;

/** The sending providers of `esp.providers`, told apart by `name` (tried in the order listed). */
export const espProviderNames = ['sendgrid', 'mailgun', 'mandrill', 'smtp'] as const;

/** `esp:`: the sending providers, the failover cache and the webhook keys. Built when a config has the
 * section (lazySection in fields.ts). */
function espSchema() {
  const espProvider = z.discriminatedUnion('name', [
    z.strictObject({ name: z.literal('sendgrid'), api_key: nonEmpty, api_url: httpUrl.default('https://api.sendgrid.com/v3/') }),
    z.strictObject({
      name: z.literal('mailgun'),
      api_key: nonEmpty,
      domain: nonEmpty,
      api_url: httpUrl.default('https://api.mailgun.net/v3/'),
    }),
    z.strictObject({ name: z.literal('mandrill'), api_key: nonEmpty, api_url: httpUrl.default('https://mandrillapp.com/api/1.0/') }),
    z.strictObject({
      name: z.literal('smtp'),
      host: nonEmpty,
      port: port.default(587),
      tls: z.enum(['starttls', 'tls', 'none']).default('starttls'),
      user: nonEmpty.optional(),
      password: nonEmpty.optional(),
      /** PEM file of an extra CA to trust for this server (a private relay's own CA). */
      ca_file: nonEmpty.optional(),
      /** Skip certificate verification: explicit, never the default. */
      insecure: z.boolean().default(false),
    }),
  ]);

  const espWebhooks = z.strictObject({
    counters_id: countersId.default('esp'),
    sendgrid: z.strictObject({ public_key: nonEmpty }).optional(),
    mailgun: z.strictObject({ signing_key: nonEmpty }).optional(),
    mandrill: z.strictObject({ webhook_key: nonEmpty, url: httpUrl }).optional(),
    replay_window_s: durationSec(86_400).default(300),
  });

  return z.strictObject({
    from: nonEmpty.optional(),
    providers: z.array(espProvider).default([]),
    first_working_cache_s: z.number().int().min(0).max(7 * 86_400, 'must be at most 604800 s (7 days)').default(3600),
    timeout_ms: durationMs(120_000).default(10000),
    webhooks: espWebhooks.prefault({}),
  });
}

export const configSchema = z.strictObject({
  // --- keys of the Ruby mtarep -------------------------------------------------------------
  error_log: nonEmpty.optional(),
  redis_server: nonEmpty.optional(),
  maillog_path: maillogPath.default('/var/log/maillog'),
  ssh_key: nonEmpty.optional(),
  ssh_user: nonEmpty.optional(),
  http_auth_file: nonEmpty.optional(),
  graph_domains: z.array(nonEmpty).default([]),
  rbls: z.array(z.union([nonEmpty, zoneObject])).default([]),
  mta_map: mtaMap.default([]),
  provider_block_strings: z.record(nonEmpty, regexString).default({}),
  removal_links: z.record(nonEmpty, httpUrl).default({}),
  assistance_links: z.record(nonEmpty, httpUrl).default({}),

  // --- added by mtarep ---------------------------------------------------------------------
  redis_url: nonEmpty
    .superRefine((s, ctx) => {
      // Checked here, not at connect: ioredis throws a bare "Invalid URL" or URIError for a garbled
      // URL, and reads a database that is not a number as 0 (or sends SELECT NaN).
      const checked = checkRedisUrl(s);
      if ('problem' in checked) ctx.addIssue({ code: 'custom', message: checked.problem });
    })
    .optional(),
  redis_prefix: z
    .string()
    .min(1, 'must not be empty (every key would share the namespace of other Redis users)')
    .regex(prefixChars, 'must not contain white space or the glob characters * ? [ ] \\ (key lists match on it)')
    .default('mtarep:'),
  data_dir: nonEmpty.default('./data'),
  listen: nonEmpty
    .refine((s) => parseHostPort(s, 8080) !== null, { message: 'must be host:port, e.g. 127.0.0.1:8080' })
    .default('127.0.0.1:8080'),
  collect_interval: durationSec(86_400).default(900),
  sources: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a source name is lower case letters, digits, - or _'),
      z.strictObject({
        interval: durationSec(86_400).optional(),
        shard_size: positiveInt.optional(),
      }),
    )
    .default({}),
  dns: z
    .strictObject({
      servers: z.array(dnsServer).default([]),
      timeout_ms: durationMs(60_000).default(3000),
      tries: z.number().int().min(1).max(10).default(2),
      concurrency: positiveInt.default(128),
    })
    .prefault({}),
  ssh_port: port.default(22),
  ssh_known_hosts: nonEmpty.optional(),
  ssh_timeout_ms: durationMs(600_000).default(15000),
  ssh_concurrency: positiveInt.default(16),
  maillog_initial_tail_bytes: z.number().int().min(0).default(64 * 1024 * 1024),
  provider_block_window: durationSec(7 * 86_400).default(7200),
  severity: z
    .strictObject({
      snds_traps_warning: z.number().int().min(0).default(10),
      senderscore_warning: z.number().int().min(0).max(100).default(70),
      critical_zones: z.array(nonEmpty).default(['spamhaus', 'spamcop']),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /** Scrapers may send `Authorization: Bearer <token>` instead of a dashboard login. Secret. */
      bearer_token: nonEmpty.optional(),
      bearer_token_file: nonEmpty.optional(),
    })
    .prefault({}),
  public_url: httpUrl.optional(),
  alerts: lazySection(alertsSchema),
  retention: z
    .strictObject({
      counters_days: durationDays(3650).default(400),
      history_days: durationDays(3650).default(90),
      runs: positiveInt.default(200),
      events: positiveInt.default(100_000),
      probe_stats_days: durationDays(3650).default(400),
    })
    .prefault({}),
  esp: lazySection(espSchema),
  probes: lazySection(probesSchema),

  // --- the keys each per-IP check owns (its plugin's `config.keys`, lib/checks/) ---------------
  ...checkConfigKeys(),
});

/** Every check plugin's own config keys (top-level, flat like the Ruby mtarep's `snds_key`). */
function checkConfigKeys(): z.ZodRawShape {
  const out: Record<string, z.ZodRawShape[string]> = {};
  for (const p of checkPlugins) {
    for (const [key, schema] of Object.entries(p.config?.keys ?? {})) {
      if (key in out) throw new Error(`config key ${key} is claimed by two check plugins`);
      out[key] = schema;
    }
  }
  return out;
}

export type RawConfig = z.infer<typeof configSchema>;
export type RawZone = z.infer<typeof zoneObject>;
export type RawHost = z.infer<typeof hostObject>;
export type RawAlerts = z.infer<ReturnType<typeof alertsSchema>>;
export type RawEsp = z.infer<ReturnType<typeof espSchema>>;
export type CodeMeaning = z.infer<typeof codeMeaning>;

/** Parse `host`, `host:port`, `[v6]:port` or a bare IPv6 address. Null when malformed. */
export function parseHostPort(s: string, defaultPort: number): { host: string; port: number } | null {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    const p = v6[2] === undefined ? defaultPort : Number(v6[2]);
    return isIP(v6[1]!) === 6 && p >= 1 && p <= 65535 ? { host: v6[1]!, port: p } : null;
  }
  if (isIP(s) === 6) return { host: s, port: defaultPort };
  const m = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(s);
  if (!m) return null;
  const p = m[2] === undefined ? defaultPort : Number(m[2]);
  return p >= 1 && p <= 65535 ? { host: m[1]!, port: p } : null;
}

