/**
 * Turns the validated YAML (`RawConfig`) into the `Config` every part of mtarep uses: paths resolved
 * against the config file's folder, `mta_map` in any of its forms flattened to `HostConfig[]`, zones
 * merged with their defaults, provider-block regexes compiled once. Pure: no file system access.
 */
import path from 'node:path';
import { parseHostPort, sourceNames, type RawAlerts, type RawConfig, type RawHost, type CodeMeaning } from './schema.js';
import { normalizeProbes, type ProbesConfig } from './probes.js';
import { zoneDefaults, type ZoneKind } from './zone-defaults.js';
import { normalizeEsp, type EspConfig } from './esp.js';
import { ipv4Mask, ipv4ToInt, isIP } from '../net/ip.js';
import { isHostName, zoneNameProblem } from '../net/names.js';
import { homeDir, nodeCrypto } from '../lazy-builtins.js';
import { checkPlugins } from '../checks/index.js';
import { knownIssueKinds } from '../events.js';

export { ipv4ToInt };

export type { EspConfig, EspProviderConfig, EspProviderName, EspWebhooksConfig } from './esp.js';

export type CodeState = 'listed' | 'not_listed' | 'error' | 'unknown';

export interface CodeRule {
  /** The key as written: 127.0.0.2 or 127.0.4.0/24. */
  code: string;
  /** Network as an unsigned 32-bit integer, and prefix length. */
  net: number;
  bits: number;
  state: CodeState;
  label?: string;
}

export interface ZoneConfig {
  /** Name shown to users and used in issue ids and removal-link lookups (never contains the DQS key). */
  zone: string;
  /** Name queried: `<key>.zen.dq.spamhaus.net` for DQS, else the zone itself. Secret when DQS. */
  queryZone: string;
  kind: ZoneKind;
  ipv6: boolean;
  /** Per-zone resolvers as `ip:port` / `[v6]:port`; undefined = the global `dns.servers`. */
  servers?: string[];
  /** Sorted most specific first; the first matching rule decides. */
  codes: CodeRule[];
  rateLimit?: number;
  timeoutMs?: number;
  critical: boolean;
  selfTest: boolean;
  domainOnly: boolean;
  hasDqsKey: boolean;
  removalLink?: string;
  advice?: string;
}

export interface HostConfig {
  /** The mta_map key (SSH alias) or the list entry. Unique; used in Redis keys and URLs. */
  name: string;
  /** Public FQDN: what DNS, PTR and HELO must match. */
  fqdn: string;
  sshHost: string;
  sshPort: number;
  sshUser?: string;
  maillogPath: string;
  /** Explicit IPs from config: no resolution. */
  ips?: string[];
  timezone?: string;
  /** `<id>` in the graph counter keys `<id>:<YYYYMMDD>:<type>`. */
  countersId: string;
  /** Whether the maillog is read over SSH for this host. */
  ssh: boolean;
}

export interface ProviderBlockRule {
  provider: string;
  pattern: RegExp;
}

export interface AlertEmailConfig {
  to: string[];
  from: string;
  smtp: {
    host: string;
    port: number;
    /** none = plain SMTP; starttls = upgrade required; tls = implicit TLS (port 465). */
    tls: 'none' | 'starttls' | 'tls';
    user?: string;
    /** Secret: never logged (secretsOf). */
    password?: string;
    timeoutMs: number;
  };
}

export interface AlertWebhookConfig {
  /** `webhook:<first 8 hex of sha256(url)>`: stable across reordering, names the channel in the outbox. */
  id: string;
  url: string;
  /** What pages and logs show: scheme, host and port only (a URL path may hold a token). */
  label: string;
  /** Secret: signs every request (HMAC-SHA256), never logged. */
  secret: string;
  timeoutMs: number;
}

export interface AlertsConfig {
  email?: AlertEmailConfig;
  webhooks: AlertWebhookConfig[];
  confirmRuns: number;
  digestS: number;
  /** 0 = never remind. */
  remindS: number;
  minSeverity: 'warning' | 'problem';
  /** Issue kinds or zones that never alert (still shown on the dashboard). */
  quiet: string[];
}

export interface Config {
  /** Absolute path of the file loaded, and its folder (relative paths are resolved against it). */
  file: string;
  dir: string;
  errorLog?: string;
  redis: { url?: string; prefix: string };
  dataDir: string;
  listen: { host: string; port: number };
  collectInterval: number;
  /**
   * Per-source settings (`sources.<name>`): `interval` in seconds (default collectInterval), and for
   * the reputation source `shardSize`, the IPs per shard job when workers share a run. The names are
   * checked against the source list by the collector (collector/sources/index.ts).
   */
  sources: Record<string, { interval?: number; shardSize?: number }>;
  dns: { servers: string[]; timeoutMs: number; tries: number; concurrency: number };
  zones: ZoneConfig[];
  /** Each check plugin's settings from its own keys, by check name (lib/checks: `settingsOf`). */
  checks: Readonly<Record<string, unknown>>;
  /** Secret values of the checks' settings (lib/log.ts scrubs them). */
  checkSecrets: string[];
  ssh: {
    keyFile?: string;
    user?: string;
    port: number;
    knownHosts: string;
    timeoutMs: number;
    concurrency: number;
  };
  maillog: { initialTailBytes: number };
  hosts: HostConfig[];
  graphDomains: string[];
  providerBlocks: ProviderBlockRule[];
  providerBlockWindowSec: number;
  removalLinks: Record<string, string>;
  assistanceLinks: Record<string, string>;
  severity: { sndsTrapsWarning: number; senderscoreWarning: number; criticalZones: string[] };
  retention: { countersDays: number; historyDays: number; runs: number; events: number; probeStatsDays: number };
  /** The dashboard's address as users reach it (links in alerts), ending in '/'. Default from `listen`. */
  publicUrl: string;
  /** Alerting (issue 12); defaults when `alerts:` is absent (no channels: nothing is sent). */
  alerts: AlertsConfig;
  /** Round-trip delivery probes (absent: off). */
  probes?: ProbesConfig;
  httpAuthFile: string;
  /**
   * GET /metrics: a bearer token scrapers may use instead of a dashboard login (secret). From
   * `metrics.bearer_token`, or read from `bearerTokenFile` / $MTAREP_METRICS_BEARER_TOKEN at load.
   */
  metrics: { bearerToken?: string; bearerTokenFile?: string };
  /** Sending through ESPs with failover, and their webhooks (absent without an `esp:` section). */
  esp?: EspConfig;
  /** Things that load but deserve a word at start-up (weak settings, placeholders). */
  warnings: string[];
}

export interface Problem {
  path: string;
  message: string;
}

/** Resolve a path from config: `~` is the home folder, relative paths are relative to the config file. */
export function resolvePath(dir: string, p: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(homeDir(), p.slice(1));
  return path.resolve(dir, p);
}

function codeRule(code: string, meaning: CodeMeaning): CodeRule {
  const [addr, bitsText] = code.split('/');
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  const net = (ipv4ToInt(addr!) & ipv4Mask(bits)) >>> 0;
  if (typeof meaning === 'string') {
    const word = meaning.trim();
    if (word === 'listed' || word === 'not_listed' || word === 'error' || word === 'unknown') {
      return { code, net, bits, state: word };
    }
    return { code, net, bits, state: 'listed', label: word };
  }
  return { code, net, bits, state: meaning.state, ...(meaning.label !== undefined ? { label: meaning.label } : {}) };
}

function formatServer(s: string): string {
  const hp = parseHostPort(s, 53)!;
  return isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

function matchesCritical(zone: string, critical: string[]): boolean {
  const z = zone.toLowerCase();
  return critical.some((c) => z.includes(c.toLowerCase()));
}

function shortName(name: string): string {
  return isIP(name) ? name : name.split('.')[0]!;
}

/** An IP address in one spelling: IPv6 lower-case and compressed (2001:DB8:0::1 = 2001:db8::1). */
export function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** The config path of a host in mta_map, as the schema errors write it. */
function hostPath(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? `mta_map.${name}` : `mta_map["${name}"]`;
}

/**
 * Flatten the three `mta_map` forms: a list of FQDNs; a map alias -> FQDN; a map name -> object.
 * Problems (duplicate names) are pushed to `problems`.
 */
function normalizeHosts(raw: RawConfig, problems: Problem[]): HostConfig[] {
  const hosts: HostConfig[] = [];
  const base = (name: string) => ({
    name,
    sshPort: raw.ssh_port,
    maillogPath: raw.maillog_path,
    countersId: shortName(name).replace(/[^A-Za-z0-9._-]/g, '_'),
    ssh: raw.ssh_key !== undefined,
    ...(raw.ssh_user !== undefined ? { sshUser: raw.ssh_user } : {}),
  });
  if (Array.isArray(raw.mta_map)) {
    for (const fqdn of raw.mta_map) hosts.push({ ...base(fqdn), fqdn, sshHost: fqdn });
  } else {
    for (const [name, v] of Object.entries(raw.mta_map)) {
      if (typeof v === 'string') {
        hosts.push({ ...base(name), fqdn: v, sshHost: name });
        continue;
      }
      const h: RawHost = v;
      const host: HostConfig = { ...base(name), fqdn: h.fqdn ?? name, sshHost: h.ssh_host ?? name };
      if (h.ssh_port !== undefined) host.sshPort = h.ssh_port;
      if (h.ssh_user !== undefined) host.sshUser = h.ssh_user;
      if (h.maillog_path !== undefined) host.maillogPath = h.maillog_path;
      if (h.ips !== undefined) host.ips = h.ips.map(canonicalIp);
      if (h.timezone !== undefined) host.timezone = h.timezone;
      if (h.counters_id !== undefined) host.countersId = h.counters_id;
      if (h.ssh !== undefined) host.ssh = h.ssh && raw.ssh_key !== undefined;
      if (h.ssh === true && raw.ssh_key === undefined) {
        problems.push({ path: `mta_map.${name}.ssh`, message: 'needs ssh_key to be set' });
      }
      hosts.push(host);
    }
  }
  const seen = new Map<string, number>();
  const ipOwner = new Map<string, string>();
  hosts.forEach((h, i) => {
    const key = h.name.toLowerCase();
    if (seen.has(key)) problems.push({ path: `mta_map[${i}]`, message: `duplicate host ${h.name}` });
    seen.set(key, i);
    const listed = Array.isArray(raw.mta_map);
    const badFqdn = !isHostName(h.fqdn) && isIP(h.fqdn) === 0;
    // In the list form the name is the FQDN: one problem for the one value, said once.
    if (!/^[A-Za-z0-9._:-]+$/.test(h.name) && !(listed && badFqdn)) {
      problems.push({ path: listed ? `mta_map[${i}]` : hostPath(h.name), message: 'host name may only hold letters, digits, dot, dash, underscore and colon' });
    }
    if (badFqdn) {
      const where = Array.isArray(raw.mta_map) ? `mta_map[${i}]` : typeof raw.mta_map[h.name] === 'string' ? hostPath(h.name) : `${hostPath(h.name)}.fqdn`;
      problems.push({ path: where, message: `"${h.fqdn}" is not a host name (letters, digits and dashes in dot-separated labels)` });
    }
    // One IP record per address: two hosts (or one host twice) naming it would overwrite each other.
    (h.ips ?? []).forEach((ip, j) => {
      const owner = ipOwner.get(ip);
      if (owner !== undefined) {
        problems.push({ path: `${hostPath(h.name)}.ips[${j}]`, message: owner === h.name ? `${ip} is listed twice` : `${ip} is already an IP of host ${owner}` });
      } else {
        ipOwner.set(ip, h.name);
      }
    });
  });
  return hosts;
}

function normalizeZones(raw: RawConfig, problems: Problem[]): ZoneConfig[] {
  const zones: ZoneConfig[] = [];
  const seen = new Set<string>();
  raw.rbls.forEach((entry, i) => {
    const obj = typeof entry === 'string' ? { zone: entry } : entry;
    const zone = obj.zone.toLowerCase().replace(/\.$/, '');
    const why = zoneNameProblem(zone);
    if (why !== null) {
      problems.push({ path: typeof entry === 'string' ? `rbls[${i}]` : `rbls[${i}].zone`, message: `"${obj.zone}" is not a DNS zone name: ${why}` });
      return;
    }
    if (seen.has(zone)) {
      problems.push({ path: `rbls[${i}]`, message: `zone ${zone} is listed twice` });
      return;
    }
    seen.add(zone);
    const d = zoneDefaults(zone);
    const table: Record<string, CodeMeaning> = { ...d.codes, ...(typeof entry === 'string' ? {} : (entry.codes ?? {})) };
    const codes = Object.entries(table)
      .map(([code, meaning]) => codeRule(code, meaning))
      .sort((a, b) => b.bits - a.bits);
    const dqsKey = typeof entry === 'string' ? undefined : entry.dqs_key;
    let queryZone = zone;
    if (dqsKey !== undefined) {
      if (!/^[a-z0-9]+$/i.test(dqsKey)) {
        problems.push({ path: `rbls[${i}].dqs_key`, message: 'must be letters and digits only' });
        return;
      }
      // DQS is served from <key>.<list>.dq.spamhaus.net (.net, never .org).
      const list = zone.replace(/\.spamhaus\.(org|net)$/, '').replace(/\.dq$/, '');
      queryZone = `${dqsKey}.${list}.dq.spamhaus.net`;
    }
    const kind = (typeof entry === 'string' ? undefined : entry.kind) ?? d.kind;
    const z: ZoneConfig = {
      zone,
      queryZone,
      kind,
      ipv6: (typeof entry === 'string' ? undefined : entry.ipv6) ?? d.ipv6,
      codes,
      critical:
        (typeof entry === 'string' ? undefined : entry.critical) ?? matchesCritical(zone, raw.severity.critical_zones),
      selfTest: (typeof entry === 'string' ? undefined : entry.self_test) ?? true,
      domainOnly: d.domainOnly ?? false,
      hasDqsKey: dqsKey !== undefined,
    };
    if (typeof entry !== 'string') {
      if (entry.servers) z.servers = entry.servers.map(formatServer);
      if (entry.rate_limit !== undefined) z.rateLimit = entry.rate_limit;
      if (entry.timeout_ms !== undefined) z.timeoutMs = entry.timeout_ms;
      if (entry.removal_link !== undefined) z.removalLink = entry.removal_link;
    }
    const link = z.removalLink ?? raw.removal_links[zone];
    if (link !== undefined) z.removalLink = link;
    if (d.advice !== undefined) z.advice = d.advice;
    zones.push(z);
  });
  return zones;
}

/** Build the runtime config. `file` is the absolute path of the YAML it came from. */
export function normalizeConfig(raw: RawConfig, file: string): { config: Config; problems: Problem[] } {
  const dir = path.dirname(file);
  const problems: Problem[] = [];
  const warnings: string[] = [];

  let redisUrl = raw.redis_url;
  if (redisUrl === undefined && raw.redis_server !== undefined) {
    const hp = parseHostPort(raw.redis_server, 6379);
    if (hp === null) problems.push({ path: 'redis_server', message: 'must be a host name or host:port' });
    else redisUrl = `redis://${isIP(hp.host) === 6 ? `[${hp.host}]` : hp.host}:${hp.port}/0`;
  }
  if (raw.redis_url !== undefined && raw.redis_server !== undefined) {
    warnings.push('both redis_url and redis_server are set: redis_url wins');
  }

  const providerBlocks: ProviderBlockRule[] = Object.entries(raw.provider_block_strings).map(([provider, src]) => ({
    provider,
    pattern: new RegExp(src),
  }));

  for (const name of Object.keys(raw.sources)) {
    if (!(sourceNames as readonly string[]).includes(name)) {
      problems.push({ path: `sources.${name}`, message: `no such source (the sources are ${sourceNames.join(', ')})` });
    }
  }

  const listen = parseHostPort(raw.listen, 8080)!;
  const dataDir = resolvePath(dir, raw.data_dir);


  // Each check plugin's own keys make its settings (lib/checks, `config`).
  const checkSettings = checkPlugins.flatMap((p) => {
    if (!p.config) return [];
    const settings: unknown = p.config.normalize(raw as Record<string, unknown>, { problems, warnings });
    return [{ name: p.name, settings, secrets: p.config.secrets?.(settings) ?? [] }];
  });

  const config: Config = {
    file,
    dir,
    redis: { prefix: raw.redis_prefix, ...(redisUrl !== undefined ? { url: redisUrl } : {}) },
    dataDir,
    listen,
    collectInterval: raw.collect_interval,
    sources: Object.fromEntries(
      Object.entries(raw.sources).map(([name, v]) => [
        name,
        { ...(v.interval !== undefined ? { interval: v.interval } : {}), ...(v.shard_size !== undefined ? { shardSize: v.shard_size } : {}) },
      ]),
    ),
    dns: {
      servers: raw.dns.servers.map(formatServer),
      timeoutMs: raw.dns.timeout_ms,
      tries: raw.dns.tries,
      concurrency: raw.dns.concurrency,
    },
    zones: normalizeZones(raw, problems),
    checks: Object.fromEntries(checkSettings.map((c) => [c.name, c.settings])),
    checkSecrets: checkSettings.flatMap((c) => c.secrets),
    ssh: {
      port: raw.ssh_port,
      knownHosts: resolvePath(dir, raw.ssh_known_hosts ?? '~/.ssh/known_hosts'),
      timeoutMs: raw.ssh_timeout_ms,
      concurrency: raw.ssh_concurrency,
      ...(raw.ssh_key !== undefined ? { keyFile: resolvePath(dir, raw.ssh_key) } : {}),
      ...(raw.ssh_user !== undefined ? { user: raw.ssh_user } : {}),
    },
    maillog: { initialTailBytes: raw.maillog_initial_tail_bytes },
    hosts: normalizeHosts(raw, problems),
    graphDomains: raw.graph_domains.map((d) => d.toLowerCase()),
    providerBlocks,
    providerBlockWindowSec: raw.provider_block_window,
    removalLinks: raw.removal_links,
    assistanceLinks: raw.assistance_links,
    severity: {
      sndsTrapsWarning: raw.severity.snds_traps_warning,
      senderscoreWarning: raw.severity.senderscore_warning,
      criticalZones: raw.severity.critical_zones,
    },
    retention: {
      countersDays: raw.retention.counters_days,
      historyDays: raw.retention.history_days,
      runs: raw.retention.runs,
      events: raw.retention.events,
      probeStatsDays: raw.retention.probe_stats_days,
    },
    publicUrl: publicUrlOf(raw.public_url, listen),
    alerts: normalizeAlerts(raw.alerts, problems, warnings),
    httpAuthFile: resolvePath(dir, raw.http_auth_file ?? path.join(raw.data_dir, 'htpasswd')),
    metrics: {
      ...(raw.metrics.bearer_token !== undefined ? { bearerToken: raw.metrics.bearer_token } : {}),
      ...(raw.metrics.bearer_token_file !== undefined ? { bearerTokenFile: resolvePath(dir, raw.metrics.bearer_token_file) } : {}),
    },
    warnings,
  };
  if (raw.metrics.bearer_token !== undefined && raw.metrics.bearer_token_file !== undefined) {
    problems.push({ path: 'metrics.bearer_token_file', message: 'give bearer_token or bearer_token_file, not both' });
  }
  if (raw.metrics.bearer_token !== undefined) problems.push(...bearerTokenProblems(raw.metrics.bearer_token, 'metrics.bearer_token'));
  if (raw.esp !== undefined) config.esp = normalizeEsp(raw.esp, problems, (p) => resolvePath(dir, p));
  if (raw.probes !== undefined) config.probes = normalizeProbes(raw.probes, (p) => resolvePath(dir, p), problems);
  if (config.probes?.via === 'esp' && (config.esp?.providers.length ?? 0) === 0) {
    problems.push({ path: 'probes.via', message: 'is esp, but no esp.providers are configured: add esp.from and esp.providers, or send probes through probes.smtp (via: smtp)' });
  }
  if (raw.error_log !== undefined) config.errorLog = resolvePath(dir, raw.error_log);

  // An empty file is a valid config (mtarep init writes one) but watches nothing: say so.
  if (config.hosts.length === 0 && config.probes === undefined && config.esp === undefined) {
    warnings.push('nothing to monitor: mta_map is empty and there are no probes or esp sections (add your MTAs to mta_map)');
  }

  // Recipient domains of the graph counters: a name that is no domain would never be counted.
  raw.graph_domains.forEach((d, i) => {
    if (!isHostName(d)) problems.push({ path: `graph_domains[${i}]`, message: `"${d}" is not a domain name` });
  });

  // A typo here would quiet nothing, silently.
  const zoneNames = new Set(config.zones.map((z) => z.zone.toLowerCase()));
  config.alerts.quiet.forEach((q, i) => {
    if (!(knownIssueKinds as readonly string[]).includes(q) && !zoneNames.has(q)) {
      problems.push({ path: `alerts.quiet[${i}]`, message: `"${q}" is neither an issue kind (${knownIssueKinds.join(', ')}) nor a zone in rbls` });
    }
  });

  for (const z of config.zones) {
    if (z.domainOnly) {
      warnings.push(`rbls: ${z.zone} lists domains, not IPs: it is not queried for MTA addresses`);
    }
  }
  return { config, problems };
}

/** A bearer token guards every stored figure: long enough not to be guessed, no whitespace inside. */
export function bearerTokenProblems(token: string, at: string): Problem[] {
  if (token.length < 16) return [{ path: at, message: 'must be at least 16 characters (e.g. openssl rand -hex 24)' }];
  if (/\s/.test(token)) return [{ path: at, message: 'must not contain spaces or line breaks' }];
  return [];
}

function publicUrlOf(url: string | undefined, listen: { host: string; port: number }): string {
  if (url !== undefined) return url.endsWith('/') ? url : url + '/';
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${listen.port}/`;
}

/** `alerts:` with its defaults; channel ids derived; weak settings become warnings. */
function normalizeAlerts(raw: RawAlerts | undefined, problems: Problem[], warnings: string[]): AlertsConfig {
  const out: AlertsConfig = {
    webhooks: [],
    confirmRuns: raw?.confirm_runs ?? 2,
    digestS: raw?.digest_s ?? 600,
    remindS: raw?.remind_s ?? 86400,
    minSeverity: raw?.min_severity ?? 'warning',
    quiet: (raw?.quiet ?? []).map((q) => q.toLowerCase()),
  };
  if (raw === undefined) return out;
  if (raw.email !== undefined) {
    const s = raw.email.smtp;
    const tls = s.tls ?? (s.port === 465 ? 'tls' : 'starttls');
    out.email = {
      to: raw.email.to,
      from: raw.email.from,
      smtp: {
        host: s.host,
        port: s.port ?? (tls === 'tls' ? 465 : 25),
        tls,
        timeoutMs: s.timeout_ms,
        ...(s.user !== undefined ? { user: s.user } : {}),
        ...(s.password !== undefined ? { password: s.password } : {}),
      },
    };
    if ((s.user === undefined) !== (s.password === undefined)) {
      problems.push({ path: 'alerts.email.smtp', message: 'user and password go together (set both or neither)' });
    }
    if (s.password !== undefined && tls === 'none') {
      warnings.push('alerts.email.smtp: a password is sent without TLS (tls: none)');
    }
  }
  const seen = new Set<string>();
  raw.webhooks.forEach((w, i) => {
    const id = `webhook:${nodeCrypto().createHash('sha256').update(w.url).digest('hex').slice(0, 8)}`;
    if (seen.has(id)) {
      problems.push({ path: `alerts.webhooks[${i}].url`, message: 'this URL is listed twice' });
      return;
    }
    seen.add(id);
    const u = new URL(w.url);
    out.webhooks.push({ id, url: w.url, label: `${u.protocol}//${u.host}/…`, secret: w.secret, timeoutMs: w.timeout_ms });
  });
  if (out.email === undefined && out.webhooks.length === 0) {
    warnings.push('alerts: neither email nor webhooks is set: changes are recorded but nobody is told');
  }
  return out;
}
