import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../lib/config/load.js';
import { senderscoreSettings } from '../lib/checks/senderscore.js';
import { classifyAnswer } from '../lib/checks/dnsbl-classify.js';
import { sourceNames } from '../lib/config/schema.js';
import { knownZones, zoneDefaults } from '../lib/config/zone-defaults.js';
import { sources as collectorSources } from '../collector/sources/index.js';

const rubyFixture = fs.readFileSync(path.join(__dirname, '../../shared/fixtures/ruby-mtarep.yml.example'), 'utf8');
const example = fs.readFileSync(path.join(__dirname, '../mtarep.example.yml'), 'utf8');

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, '/etc/mtarep/mtarep.yml');
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('a Ruby-mtarep config', () => {
  it('loads unchanged', () => {
    const c = parseConfig(rubyFixture, '/etc/mtarep/mtarep.yml');
    expect(c.hosts).toHaveLength(5);
    expect(c.hosts[0]).toMatchObject({ name: 'mta1-internal', fqdn: 'mta1.mydomain.com', sshHost: 'mta1-internal', sshUser: 'mtarep', maillogPath: '/var/log/maillog', ssh: true });
    expect(c.redis.url).toBe('redis://localhost:6379/0');
    expect(c.zones.map((z) => z.zone)).toContain('zen.spamhaus.org');
    expect(c.providerBlocks.map((p) => p.provider)).toEqual(expect.arrayContaining(['aol', 'hotmail', 'cloudmark']));
    expect(c.providerBlocks.find((p) => p.provider === 'hotmail')!.pattern.test('see http://mail.live.com/mail/troubleshooting.aspx#errors')).toBe(true);
    expect(c.removalLinks['bl.spamcop.net']).toBe('http://www.spamcop.net/w3m?action=checkblock&ip=');
    expect(c.assistanceLinks['spamhaus']).toMatch(/^http:/);
    expect(c.graphDomains).toEqual(['yahoo.com', 'hotmail.com', 'gmail.com', 'aol.com', 'comcast.net']);
    expect(c.httpAuthFile).toBe('/etc/mtarep/htpasswd');
    expect(c.ssh.keyFile).toBe('/root/.ssh/mtarep.private');
  });

  it('keeps per-zone semantics: Spamhaus error codes are errors, domain lists are not queried', () => {
    const c = parseConfig(rubyFixture, '/etc/mtarep/mtarep.yml');
    const zen = c.zones.find((z) => z.zone === 'zen.spamhaus.org')!;
    expect(zen.critical).toBe(true);
    expect(zen.codes.find((r) => r.code === '127.255.255.254')!.state).toBe('error');
    expect(zen.removalLink).toBe('http://www.spamhaus.org/query/ip/');
    expect(c.zones.find((z) => z.zone === 'multi.surbl.org')!.domainOnly).toBe(true);
    expect(c.zones.find((z) => z.zone === 'bl.spamcop.net')!.critical).toBe(true);
    expect(c.zones.find((z) => z.zone === 'b.barracudacentral.org')!.critical).toBe(false);
    expect(c.warnings.join('\n')).toMatch(/snds_key is still the example placeholder/);
  });

  it('with files checked, names each missing file by key', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-cfg-'));
    const file = path.join(dir, 'mtarep.yml');
    fs.writeFileSync(file, rubyFixture);
    const err = (() => {
      try {
        loadConfig(file);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected failure');
    })();
    expect(err.problems.map((p) => p.path)).toEqual(expect.arrayContaining(['ssh_key', 'http_auth_file']));
  });

  it('with files checked, rejects a file where a folder must be and a folder where a file must be', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-cfg-'));
    const file = path.join(dir, 'mtarep.yml');
    const aFile = path.join(dir, 'plain');
    fs.writeFileSync(aFile, 'x');
    const problems = (yaml: string) => {
      fs.writeFileSync(file, yaml);
      try {
        loadConfig(file);
        return [];
      } catch (e) {
        if (e instanceof ConfigError) return e.message.split('\n');
        throw e;
      }
    };
    expect(problems(`data_dir: ${aFile}`)).toEqual([`mtarep.yml: data_dir: ${aFile} is a file, not a folder`]);
    expect(problems(`data_dir: ${aFile}/data`)).toEqual([`mtarep.yml: data_dir: cannot create ${aFile}/data: ${aFile} is a file, not a folder`]);
    expect(problems(`error_log: ${dir}`)).toEqual([`mtarep.yml: error_log: ${dir} is a folder: give the path of the log file`]);
    expect(problems(`http_auth_file: ${dir}`)).toEqual([`mtarep.yml: http_auth_file: ${dir} is a folder, not an htpasswd file`]);
    // What start creates is fine missing: data_dir, the log file, the htpasswd file (user admin at first start).
    expect(problems(`data_dir: ./data\nerror_log: ./data/mtarep.log\nhttp_auth_file: ${dir}/htpasswd`)).toEqual([]);
    expect(problems(`error_log: ${aFile}\nhttp_auth_file: ${aFile}`)).toEqual([]);
  });

  it('accepts the three mta_map forms', () => {
    expect(parseConfig('mta_map: [a.example.com, b.example.com]', '/x/m.yml').hosts.map((h) => [h.name, h.fqdn, h.sshHost])).toEqual([
      ['a.example.com', 'a.example.com', 'a.example.com'],
      ['b.example.com', 'b.example.com', 'b.example.com'],
    ]);
    expect(parseConfig('mta_map: {mta1: mta1.example.com}', '/x/m.yml').hosts[0]).toMatchObject({ name: 'mta1', fqdn: 'mta1.example.com', sshHost: 'mta1' });
    const h = parseConfig(
      'ssh_key: /k\nmta_map:\n  mta1.example.com: {ssh_host: 10.0.0.5, maillog_path: /var/log/mail.log}\n  m2: {fqdn: m2.example.com, ips: [192.0.2.10, "2001:DB8::10"], timezone: Europe/Paris, counters_id: m2x, ssh_port: 2222}',
      '/x/m.yml',
    ).hosts;
    expect(h[0]).toMatchObject({ name: 'mta1.example.com', fqdn: 'mta1.example.com', sshHost: '10.0.0.5', maillogPath: '/var/log/mail.log', countersId: 'mta1' });
    expect(h[1]).toMatchObject({ fqdn: 'm2.example.com', ips: ['192.0.2.10', '2001:db8::10'], timezone: 'Europe/Paris', countersId: 'm2x', sshPort: 2222 });
  });

  it('takes IPs as written, around white space', () => {
    expect(parseConfig("mta_map: {m1: {ips: [' 192.0.2.1 ', '2001:db8::a']}}", '/x/m.yml').hosts[0]!.ips).toEqual(['192.0.2.1', '2001:db8::a']);
  });
});

describe('sources', () => {
  it('the names the config takes are the collector\'s sources, in order', () => {
    expect(collectorSources.map((s) => s.name)).toEqual([...sourceNames]);
  });
});

describe('the example config', () => {
  it('is valid and documents every schema key', async () => {
    const c = parseConfig(example, path.join(__dirname, '../mtarep.example.yml'));
    expect(c.hosts.length).toBeGreaterThan(0);
    const { configSchema } = await import('../lib/config/schema.js');
    for (const key of Object.keys(configSchema.shape)) {
      expect(example, `mtarep.example.yml documents ${key}`).toMatch(new RegExp(`^#? ?${key}:`, 'm'));
    }
  });

  it('resolves relative paths against the config folder', () => {
    const c = parseConfig(example, '/srv/mtarep/mtarep.yml');
    expect(c.dataDir).toBe('/srv/mtarep/data');
    expect(c.httpAuthFile).toBe('/srv/mtarep/data/htpasswd');
    expect(c.ssh.keyFile).toBe(path.join(os.homedir(), '.ssh/mtarep_ed25519'));
  });
});

describe('zone names and code tables', () => {
  it('every zone with defaults loads with its default table written out; _ and the longest labels and names are zone names', () => {
    const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    const names = [...knownZones, 'bl.example.net', 'bl_x._dnsbl.example.net', longest, 'dnsbl-1.example.net.'];
    const rbls = names.map((zone) => ({ zone, codes: zoneDefaults(zone).codes }));
    const c = parseConfig(JSON.stringify({ rbls }), '/x/m.yml');
    expect(longest).toHaveLength(253);
    expect(c.zones.map((z) => z.zone)).toEqual(names.map((n) => n.replace(/\.$/, '')));
    // The example config's zones and tables load too (its own test loads the whole file).
    const fromExample = parseConfig(example, '/x/m.yml');
    expect(fromExample.zones.find((z) => z.zone === 'dnsbl.example.net')!.codes.map((r) => r.code)).toContain('127.0.0.0/24');
  });
});

describe('new settings', () => {
  it('parses resolvers, DQS and per-zone code tables', () => {
    const c = parseConfig(
      `dns: {servers: ["127.0.0.1:5353", "::1", "[::1]:53"], timeout_ms: 1000, tries: 1, concurrency: 64}
rbls:
  - zone: zen.spamhaus.org
    dqs_key: abc123def
  - zone: bl.example.net
    codes: {127.0.0.2: listed, 127.0.0.0/24: "other list", 127.255.255.255: {state: error, label: quota}}
redis_url: redis://:s3cret@127.0.0.1:6390/2
redis_server: ignored.example.com`,
      '/x/m.yml',
    );
    expect(c.dns.servers).toEqual(['127.0.0.1:5353', '[::1]:53', '[::1]:53']);
    const dqs = c.zones[0]!;
    expect(dqs.zone).toBe('zen.spamhaus.org');
    expect(dqs.queryZone).toBe('abc123def.zen.dq.spamhaus.net');
    expect(dqs.hasDqsKey).toBe(true);
    const bl = c.zones[1]!;
    expect(bl.codes[0]!.bits).toBe(32);
    expect(bl.codes.find((r) => r.code === '127.0.0.0/24')).toMatchObject({ state: 'listed', label: 'other list', bits: 24 });
    expect(bl.codes.find((r) => r.code === '127.255.255.255')).toMatchObject({ state: 'error', label: 'quota' });
    expect(c.redis.url).toBe('redis://:s3cret@127.0.0.1:6390/2');
    expect(c.warnings.join(' ')).toMatch(/redis_url wins/);
  });

  it('takes CIDR prefixes 0 to 32 in a code table; a Spamhaus error code stays an error beside a broad rule', () => {
    const c = parseConfig('rbls: [{zone: zen.spamhaus.org, codes: {"96.0.0.0/3": listed, "0.0.0.0/0": unknown, "127.0.0.9/32": DROP}}]', '/x/m.yml');
    const zen = c.zones[0]!;
    expect(zen.codes.find((r) => r.code === '96.0.0.0/3')).toMatchObject({ bits: 3, net: 0x60000000 });
    expect(zen.codes.find((r) => r.code === '0.0.0.0/0')).toMatchObject({ bits: 0, net: 0 });
    expect(zen.codes.find((r) => r.code === '127.0.0.9/32')).toMatchObject({ bits: 32, label: 'DROP' });
    expect(classifyAnswer(['127.255.255.254'], zen.codes).state).toBe('error');
    expect(classifyAnswer(['127.0.0.2'], zen.codes).labels).toEqual(['SBL']);
  });

  it('keeps every redis_url form ioredis connects to as written', () => {
    for (const url of [
      'redis://127.0.0.1:6379/0',
      'redis://localhost',
      'redis://:s3cret@127.0.0.1:6390',
      'redis://:s3cret@127.0.0.1:6390/15',
      'redis://mtarep:s3cret@redis.example.com:6390/2',
      'redis://:s3c%25ret@[::1]:6390/3',
      'redis://127.0.0.1:6390/4/',
      'redis://127.0.0.1:6390/?db=5&family=4',
      'rediss://:s3cret@redis.example.com:6380/1',
    ]) {
      expect(parseConfig(`redis_url: "${url}"`, '/x/m.yml').redis.url, url).toBe(url);
    }
  });

  it('fills defaults for an empty file', () => {
    const c = parseConfig('', '/x/m.yml');
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.hosts).toEqual([]);
    expect(c.redis.url).toBeUndefined();
    expect(senderscoreSettings(c).zone).toBe('score.senderscore.com');
    expect(c.providerBlockWindowSec).toBe(7200);
  });
});

describe('a bad config gives one line per problem naming the key', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown top-level key', 'rbl: [zen.spamhaus.org]', /^mtarep\.yml: rbl: unknown key$/],
    ['unknown nested key', 'dns: {server: [127.0.0.1]}', /^mtarep\.yml: dns\.server: unknown key$/],
    ['wrong type', 'rbls: zen.spamhaus.org', /^mtarep\.yml: rbls: must be a list, not the string "zen\.spamhaus\.org"$/],
    ['bad regex', "provider_block_strings: {hotmail: 'mail\\.live\\.com(('}", /^mtarep\.yml: provider_block_strings\.hotmail: bad regular expression/],
    // A rule matching the empty text matches every rejection line a remote server writes.
    ['block rule matching any line', "provider_block_strings: {gmail: '.*'}", /^mtarep\.yml: provider_block_strings\.gmail: \/\.\*\/ matches any line \(it matches empty text\): name what the provider writes$/],
    ['empty block rule', "provider_block_strings: {gmail: ''}", /^mtarep\.yml: provider_block_strings\.gmail: /],
    ['block rule with an empty branch', "provider_block_strings: {gmail: 'gsmtp|'}", /^mtarep\.yml: provider_block_strings\.gmail: \/gsmtp\|\/ matches any line/],
    ['graph domain not a domain', 'graph_domains: [gmail.com, "not a domain"]', /^mtarep\.yml: graph_domains\[1\]: "not a domain" is not a domain name$/],
    // A typo would quiet nothing, silently.
    ['alerts.quiet typo', 'rbls: [zen.spamhaus.org]\nalerts: {quiet: [listng, ZEN.spamhaus.org]}', /^mtarep\.yml: alerts\.quiet\[0\]: "listng" is neither an issue kind \(listing, block, .*\) nor a zone in rbls$/],
    ['bad IP in ips', 'mta_map: {m1: {ips: [192.0.2.300]}}', /^mtarep\.yml: mta_map\.m1\.ips\[0\]: must be an IPv4 or IPv6 address$/],
    ['empty IP in ips', "mta_map: {m1: {ips: [192.0.2.1, '  ']}}", /^mtarep\.yml: mta_map\.m1\.ips\[1\]: must not be empty$/],
    ['empty ips list', 'mta_map: {m1: {ips: []}}', /^mtarep\.yml: mta_map\.m1\.ips: /],
    ['an IP that is not a string', 'mta_map: {m1: {ips: [192.0.2.1, 7]}}', /^mtarep\.yml: mta_map\.m1\.ips\[1\]: /],
    ['resolver not an IP', 'dns: {servers: [resolver.example.com]}', /^mtarep\.yml: dns\.servers\[0\]: must be an IP address/],
    ['negative timeout', 'dns: {timeout_ms: -5}', /^mtarep\.yml: dns\.timeout_ms: must be greater than 0$/],
    ['bad port', 'ssh_port: 70000', /^mtarep\.yml: ssh_port: must be at most 65535$/],
    ['javascript: link', 'removal_links: {aol: "javascript:alert(1)"}', /^mtarep\.yml: removal_links\.aol: must be an http:\/\/ or https:\/\/ URL$/],
    ['bad zone kind', 'rbls: [{zone: bl.example.net, kind: blocklist}]', /^mtarep\.yml: rbls\[0\]\.kind: /],
    ['bad return code', 'rbls: [{zone: bl.example.net, codes: {"127.0.0": listed}}]', /^mtarep\.yml: rbls\[0\]\.codes\["127\.0\.0"\]: key must be an IPv4 return code/],
    // A prefix above 32 used to pass and act modulo 32 (/99 as /3), sorted as the most specific rule.
    ['CIDR prefix 99', 'rbls: [{zone: zen.spamhaus.org, codes: {"127.0.0.0/99": listed}}]', /^mtarep\.yml: rbls\[0\]\.codes\["127\.0\.0\.0\/99"\]: .*prefix must be 0-32 .*not "99"$/],
    ['CIDR prefix 33', 'rbls: [{zone: bl.example.net, codes: {"127.0.0.0/33": listed}}]', /^mtarep\.yml: rbls\[0\]\.codes\["127\.0\.0\.0\/33"\]: .*prefix must be 0-32/],
    ['CIDR prefix negative', 'rbls: [{zone: bl.example.net, codes: {"127.0.0.0/-1": listed}}]', /^mtarep\.yml: rbls\[0\]\.codes\["127\.0\.0\.0\/-1"\]: .*prefix must be 0-32/],
    ['CIDR prefix empty', 'rbls: [{zone: bl.example.net, codes: {"127.0.0.0/": listed}}]', /^mtarep\.yml: rbls\[0\]\.codes\["127\.0\.0\.0\/"\]: .*prefix must be 0-32 .*not empty$/],
    ['CIDR prefix with a leading zero', 'rbls: [{zone: bl.example.net, codes: {"127.0.0.0/08": listed}}]', /^mtarep\.yml: rbls\[0\]\.codes\["127\.0\.0\.0\/08"\]: .*prefix must be 0-32/],
    // Host bits past the prefix were masked away without a word (127.0.0.5/24 acted as 127.0.0.0/24).
    ['CIDR with host bits set', 'rbls: [{zone: bl.example.net, codes: {"127.0.0.5/24": listed}}]', /^mtarep\.yml: rbls\[0\]\.codes\["127\.0\.0\.5\/24"\]: key 127\.0\.0\.5\/24 has bits set past the \/24: write 127\.0\.0\.0\/24$/],
    ['CIDR /0 with bits set', 'rbls: [{zone: bl.example.net, codes: {"127.0.0.0/0": unknown}}]', /: key 127\.0\.0\.0\/0 has bits set past the \/0: write 0\.0\.0\.0\/0$/],
    ['CIDR /31 with the last bit set', 'rbls: [{zone: bl.example.net, codes: {"127.0.4.255/31": listed}}]', /: key 127\.0\.4\.255\/31 has bits set past the \/31: write 127\.0\.4\.254\/31$/],
    ['CIDR address out of range', 'rbls: [{zone: bl.example.net, codes: {"127.0.0.256/8": listed}}]', /^mtarep\.yml: rbls\[0\]\.codes\["127\.0\.0\.256\/8"\]: key must be an IPv4 return code/],
    // collect refused these (exit 2) while check-config and serve took them.
    ['unknown source name', 'sources: {mailog: {interval: 5}, reputaton: {}}', /^mtarep\.yml: sources\.mailog: no such source \(the sources are reputation, maillog, probes, esp\)$/],
    ['bad time zone', 'mta_map: {m1: {timezone: Mars/Olympus}}', /^mtarep\.yml: mta_map\.m1\.timezone: must be an IANA time zone/],
    ['mta_map scalar', 'mta_map: 5', /^mtarep\.yml: mta_map: must be a list or a mapping, not the number 5$/],
    ['duplicate host', 'mta_map: [a.example.com, A.example.com]', /^mtarep\.yml: mta_map\[1\]: duplicate host A\.example\.com$/],
    ['duplicate zone', 'rbls: [bl.spamcop.net, BL.SPAMCOP.NET]', /^mtarep\.yml: rbls\[1\]: zone bl\.spamcop\.net is listed twice$/],
    ['zone not a name', 'rbls: ["not a zone"]', /^mtarep\.yml: rbls\[0\]: "not a zone" is not a DNS zone name: label "not a zone" may only hold letters, digits, - and _$/],
    // These passed the old pattern (labels of [a-z0-9_-], any length) and were queried as written.
    ['zone label starting with a dash', 'rbls: ["-bad-.com"]', /^mtarep\.yml: rbls\[0\]: "-bad-\.com" is not a DNS zone name: label "-bad-" starts with -$/],
    ['zone label ending with a dash', 'rbls: [{zone: bl-.example.net}]', /^mtarep\.yml: rbls\[0\]\.zone: "bl-\.example\.net" is not a DNS zone name: label "bl-" ends with -$/],
    ['zone with an empty label', 'rbls: [zen.spamhaus.org, "a..b"]', /^mtarep\.yml: rbls\[1\]: "a\.\.b" is not a DNS zone name: it has an empty label \(a dot at the start or two dots in a row\)$/],
    ['zone starting with a dot', 'rbls: [".bl.example.net"]', /^mtarep\.yml: rbls\[0\]: "\.bl\.example\.net" is not a DNS zone name: it has an empty label/],
    ['zone label of 64 characters', `rbls: [${'a'.repeat(64)}.example.net]`, /^mtarep\.yml: rbls\[0\]: "a{64}\.example\.net" is not a DNS zone name: label "a{64}" is 64 characters long: a label is at most 63$/],
    ['zone name of 254 characters', `rbls: [${['a', 'b', 'c'].map((c) => c.repeat(63)).join('.')}.${'d'.repeat(62)}]`, /^mtarep\.yml: rbls\[0\]: "a{63}\.b{63}\.c{63}\.d{62}" is not a DNS zone name: it is 254 characters long: a zone name is at most 253$/],
    ['zone of one label', 'rbls: [{zone: localhost}]', /^mtarep\.yml: rbls\[0\]\.zone: "localhost" is not a DNS zone name: it needs at least two labels \(such as bl\.example\.net\)$/],
    ['bad redis url', 'redis_url: http://localhost', /^mtarep\.yml: redis_url: must start with redis:\/\/ or rediss:\/\/$/],
    // What used to pass check-config and crash or write to database 0 at collect (ioredis: "Invalid URL",
    // URIError, SELECT NaN, parseInt("1x") = 1). Never with the password in the message.
    ['redis_url port not a number', 'redis_url: "redis://:S3cretPW@127.0.0.1:notaport/0"', /^mtarep\.yml: redis_url: the port must be a number from 1 to 65535$/],
    ['redis_url port 0', 'redis_url: "redis://:S3cretPW@127.0.0.1:0/0"', /^mtarep\.yml: redis_url: the port must be a number from 1 to 65535$/],
    ['redis_url port too large', 'redis_url: "redis://:S3cretPW@127.0.0.1:70000/0"', /^mtarep\.yml: redis_url: the port must be a number from 1 to 65535$/],
    ['redis_url IPv6 without ]', 'redis_url: "redis://:S3cretPW@[::1/0"', /^mtarep\.yml: redis_url: the host: an IPv6 address needs its closing \]/],
    ['redis_url bad host', 'redis_url: "redis://:S3cretPW@red is/0"', /^mtarep\.yml: redis_url: the host is not a valid host name or address/],
    ['redis_url bad percent-encoding', 'redis_url: "redis://:S3c%ZZret@127.0.0.1:6379/0"', /^mtarep\.yml: redis_url: the password has a bad percent-encoding \(write a % in it as %25\)$/],
    ['redis_url bad percent-encoding in the user', 'redis_url: "redis://us%e9r:S3cretPW@127.0.0.1:6379/0"', /^mtarep\.yml: redis_url: the user name has a bad percent-encoding/],
    ['redis_url database a word', 'redis_url: "redis://:S3cretPW@127.0.0.1:6379/abc"', /^mtarep\.yml: redis_url: the database \(the path after host:port, e\.g\. \/0\) must be a non-negative integer$/],
    ['redis_url database negative', 'redis_url: "redis://:S3cretPW@127.0.0.1:6379/-1"', /^mtarep\.yml: redis_url: the database \(the path after host:port, e\.g\. \/0\) must be a non-negative integer$/],
    ['redis_url database with a tail', 'redis_url: "redis://:S3cretPW@127.0.0.1:6379/1x"', /^mtarep\.yml: redis_url: the database .* must be a non-negative integer$/],
    ['redis_url database too large', 'redis_url: "redis://:S3cretPW@127.0.0.1:6379/2147483648"', /^mtarep\.yml: redis_url: the database must be at most 2147483647$/],
    ['redis_url db option not a number', 'redis_url: "redis://:S3cretPW@127.0.0.1:6379/?db=x"', /^mtarep\.yml: redis_url: the database \(the db option\) must be a non-negative integer$/],
    ['redis_url unix socket', 'redis_url: "unix:///run/redis.sock"', /^mtarep\.yml: redis_url: must start with redis:\/\/ or rediss:\/\/$/],
    ['redis_url upper-case scheme (no TLS from ioredis)', 'redis_url: "REDISS://:S3cretPW@127.0.0.1:6379/0"', /^mtarep\.yml: redis_url: must start with redis:\/\/ or rediss:\/\/$/],
    ['bad listen', 'listen: "127.0.0.1:http"', /^mtarep\.yml: listen: must be host:port/],
    // The position once, as the path, and no dangling colon where yaml's code frame was cut off.
    ['YAML syntax', 'rbls: [zen.spamhaus.org\nmta_map: {}', /^mtarep\.yml: line \d+, column \d+: YAML: [^:]+[^:]$/],
    ['duplicate YAML key', 'listen: 127.0.0.1:1\nlisten: 127.0.0.1:2', /^mtarep\.yml: line 2, column 1: YAML: the key listen appears twice in the same mapping$/],
    ['bad indentation', 'dns:\n  timeout_ms: 100\n tries: 2', /^mtarep\.yml: line 3, column 1: YAML: All mapping items must start at the same column$/],
    ['alias loop', 'mta_map: &m {a: *m}', /^mtarep\.yml: mta_map\.a: YAML: an alias refers to a value that holds it \(a loop\)$/],
    ['number too large', 'collect_interval: 1e400', /^mtarep\.yml: collect_interval: must be a finite number, not Infinity$/],
    ['zone or false', 'senderscore_zone: true', /^mtarep\.yml: senderscore_zone: must be a string or false, not true$/],
    ['bad FQDN in the list form: one problem', 'mta_map: ["not a host"]', /^mtarep\.yml: mta_map\[0\]: "not a host" is not a host name/],
    ['top level a list', '- a\n- b', /^mtarep\.yml: the top level must be a mapping/],
    ['http_reputation without {ip}', 'http_reputation: {url: "https://rep.example.com/x", json_path: v, verdicts: {}}', /^mtarep\.yml: http_reputation\.url: must contain \{ip\}$/],
    ['bad DQS key', 'rbls: [{zone: zen.spamhaus.org, dqs_key: "a.b"}]', /^mtarep\.yml: rbls\[0\]\.dqs_key: must be letters and digits only$/],
    ['ssh forced without key', 'mta_map: {m1: {ssh: true}}', /^mtarep\.yml: mta_map\.m1\.ssh: needs ssh_key to be set$/],
    // Durations: Node turns a timer above 2^31-1 ms into 1 ms (3000000 s ran the collector 61 times in 8 s).
    ['collect_interval too long', 'collect_interval: 3000000', /^mtarep\.yml: collect_interval: must be at most 86400 s \(1 day\)$/],
    ['dns.timeout_ms too long', 'dns: {timeout_ms: 3000000000}', /^mtarep\.yml: dns\.timeout_ms: must be at most 60000 ms \(1 minute\)$/],
    ['zone timeout too long', 'rbls: [{zone: bl.example.net, timeout_ms: 90000}]', /^mtarep\.yml: rbls\[0\]\.timeout_ms: must be at most 60000 ms/],
    ['snds timeout too long', 'snds_timeout_ms: 2147483648', /^mtarep\.yml: snds_timeout_ms: must be at most 300000 ms \(5 minutes\)$/],
    ['banner timeout too long', 'smtp_banner_timeout_ms: 600000', /^mtarep\.yml: smtp_banner_timeout_ms: must be at most 120000 ms/],
    ['ssh timeout too long', 'ssh_timeout_ms: 3600000', /^mtarep\.yml: ssh_timeout_ms: must be at most 600000 ms \(10 minutes\)$/],
    ['http_reputation timeout too long', 'http_reputation: {url: "https://rep.example.com/{ip}", json_path: v, verdicts: {}, timeout_ms: 9999999}', /^mtarep\.yml: http_reputation\.timeout_ms: must be at most 120000 ms/],
    ['block window too long', 'provider_block_window: 99999999', /^mtarep\.yml: provider_block_window: must be at most 604800 s \(7 days\)$/],
    ['retention too long', 'retention: {counters_days: 100000}', /^mtarep\.yml: retention\.counters_days: must be at most 3650 days$/],
    ['probe interval too long', 'probes: {from: p@mon.example.com, interval: 3000000}', /^mtarep\.yml: probes\.interval: must be at most 86400 s \(1 day\)$/],
    ['probe window too long', 'probes: {from: p@mon.example.com, window: 2592001}', /^mtarep\.yml: probes\.window: must be at most 2592000 s/],
    ['probe server timeout too long', 'probes: {from: p@mon.example.com, smtp: {host: 127.0.0.1, timeout_ms: 2147483648}}', /^mtarep\.yml: probes\.smtp\.timeout_ms: must be at most 120000 ms/],
    ['ESP timeout too long', 'esp: {timeout_ms: 3000000000}', /^mtarep\.yml: esp\.timeout_ms: must be at most 120000 ms/],
    ['ESP provider cache too long', 'esp: {first_working_cache_s: 99999999}', /^mtarep\.yml: esp\.first_working_cache_s: must be at most 604800 s/],
    ['webhook replay window too long', 'esp: {webhooks: {replay_window_s: 3000000}}', /^mtarep\.yml: esp\.webhooks\.replay_window_s: must be at most 86400 s/],
    ['rate limit that would overflow the spacing timer', 'rbls: [{zone: bl.example.net, rate_limit: 0.0000001}]', /^mtarep\.yml: rbls\[0\]\.rate_limit: must be at least 0\.01/],
    // What used to pass check-config and only fail at collect.
    ['relative maillog path', 'maillog_path: log/maillog', /^mtarep\.yml: maillog_path: must be an absolute path on the MTA/],
    ['maillog path with a newline', 'mta_map: {m1: {maillog_path: "/var/log/mail\\nlog"}}', /^mtarep\.yml: mta_map\.m1\.maillog_path: must not contain a newline/],
    ['FQDN not a host name', 'mta_map: {m1: "mta 1.example.com"}', /^mtarep\.yml: mta_map\.m1: "mta 1\.example\.com" is not a host name/],
    ['FQDN key not a host name', 'mta_map: {m1: {fqdn: "-bad.example.com"}}', /^mtarep\.yml: mta_map\.m1\.fqdn: "-bad\.example\.com" is not a host name/],
    ['FQDN in a list not a host name', 'mta_map: [a.example.com, "b_c.example.com"]', /^mtarep\.yml: mta_map\[1\]: "b_c\.example\.com" is not a host name/],
    ['IPv4-mapped address', 'mta_map: {m1: {ips: ["::ffff:192.0.2.1"]}, m2: {ips: [192.0.2.1]}}', /^mtarep\.yml: mta_map\.m1\.ips\[0\]: "::ffff:192\.0\.2\.1" is an IPv4-mapped IPv6 address: write the IPv4 address 192\.0\.2\.1$/],
    ['IPv4-mapped address in hex', 'mta_map: {m1: {ips: ["::FFFF:c000:0201"]}}', /^mtarep\.yml: mta_map\.m1\.ips\[0\]: .*write the IPv4 address 192\.0\.2\.1$/],
    ['same IP under two hosts', 'mta_map: {m1: {ips: ["2001:DB8::1"]}, m2: {ips: ["2001:db8:0:0::1"]}}', /^mtarep\.yml: mta_map\.m2\.ips\[0\]: 2001:db8::1 is already an IP of host m1$/],
    ['same IP twice in a host', 'mta_map: {m1: {ips: [192.0.2.1, 192.0.2.1]}}', /^mtarep\.yml: mta_map\.m1\.ips\[1\]: 192\.0\.2\.1 is listed twice$/],
    ['IPv6 scope', 'mta_map: {m1: {ips: ["fe80::1%eth0"]}}', /^mtarep\.yml: mta_map\.m1\.ips\[0\]: "fe80::1%eth0" has an IPv6 scope/],
    ['host named __proto__', 'mta_map: {__proto__: a.example.com, m2: b.example.com}', /^mtarep\.yml: mta_map\.__proto__: the name __proto__ cannot be used/],
    ['empty redis_prefix', 'redis_prefix: ""', /^mtarep\.yml: redis_prefix: must not be empty/],
    ['glob in redis_prefix', 'redis_prefix: "mtarep*:"', /^mtarep\.yml: redis_prefix: must not contain white space or the glob characters/],
    // Provider-block patterns run on text remote servers write.
    ['nested quantifiers', "provider_block_strings: {evil: '^(a+)+$'}", /^mtarep\.yml: provider_block_strings\.evil: unsafe regular expression \/\^\(a\+\)\+\$\/: nested quantifiers in "\(a\+\)\+"/],
    ['overlapping repeated alternation', "provider_block_strings: {evil: 'x(a|ab)*y'}", /^mtarep\.yml: provider_block_strings\.evil: unsafe regular expression \/x\(a\|ab\)\*y\/: a repeated alternation/],
    ['unbounded back-reference', "provider_block_strings: {evil: '(\\w)\\1.*x'}", /^mtarep\.yml: provider_block_strings\.evil: unsafe regular expression .*back-reference/],
  ];
  for (const [name, text, line] of cases) {
    it(name, () => {
      const lines = problemsOf(text);
      expect(lines.some((l) => line.test(l)), lines.join('\n')).toBe(true);
      for (const l of lines) expect(l).not.toMatch(/\n|at .*\.ts:\d+/); // one line each, no stack trace
      for (const l of lines) expect(l).not.toContain('S3cretPW');
    });
  }

  it('warns that an empty config watches nothing', () => {
    expect(parseConfig('', '/x/m.yml').warnings).toContain('nothing to monitor: mta_map is empty and there are no probes or esp sections (add your MTAs to mta_map)');
    expect(parseConfig('mta_map: [mx1.example.com]', '/x/m.yml').warnings.join('\n')).not.toMatch(/nothing to monitor/);
  });

  it('says a bad name in the list form of mta_map once', () => {
    expect(problemsOf('mta_map: ["not a host", b.example.com]')).toEqual(['mtarep.yml: mta_map[0]: "not a host" is not a host name (letters, digits and dashes in dot-separated labels)']);
  });

  it('names the first line that is not UTF-8 (a Latin-1 file read as UTF-8 turned é into U+FFFD in host names)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-utf8-'));
    const file = path.join(dir, 'latin1.yml');
    fs.writeFileSync(file, Buffer.concat([Buffer.from('rbls: [zen.spamhaus.org]\nmta_map:\n  caf'), Buffer.from([0xe9]), Buffer.from('.example.com: {ips: [192.0.2.1]}\n')]));
    expect(() => loadConfig(file)).toThrow(/^latin1\.yml: line 3: is not UTF-8 text: save the file as UTF-8$/);
    // The same text in UTF-8 (and with a byte-order mark) is read.
    fs.writeFileSync(file, '\ufeffrbls: [zen.spamhaus.org]\nmta_map:\n  m1: {fqdn: café.example.com, ips: [192.0.2.1]}\n');
    expect(() => loadConfig(file)).toThrow(/mta_map\.m1\.fqdn: "café\.example\.com" is not a host name/);
  });

  it('reports every problem, not only the first', () => {
    const lines = problemsOf('foo: 1\nssh_port: "22"\nrbls: [{zone: bl.example.net, bogus: 1}]');
    expect(lines).toHaveLength(3);
  });

  it('an alias bomb is a config error naming the file, not a crash', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]'].join('\n');
    const lines = problemsOf(bomb);
    expect(lines).toEqual([expect.stringMatching(/^mtarep\.yml: YAML: Excessive alias count/)]);
  });

  it('the bounds leave room for real values', () => {
    const c = parseConfig('collect_interval: 86400\ndns: {timeout_ms: 60000}\nprovider_block_window: 604800\nredis_prefix: "mt:{a}:"\nmta_map: {m1: {ips: ["::1", "192.0.2.1", "2001:DB8::A"], maillog_path: /var/log/mail.log}, "mx.example.com.": {}}', '/x/m.yml');
    expect(c.collectInterval).toBe(86400);
    expect(c.hosts[0]!.ips).toEqual(['::1', '192.0.2.1', '2001:db8::a']);
    expect(c.hosts[1]!.fqdn).toBe('mx.example.com.');
    // The shipped patterns all pass the safety check.
    expect(parseConfig(rubyFixture, '/x/m.yml').providerBlocks.length).toBeGreaterThan(10);
  });

  it('a missing file is one line naming the path', () => {
    expect(() => loadConfig('/nonexistent/mtarep.yml')).toThrow(/^mtarep\.yml: cannot read \/nonexistent\/mtarep\.yml: file not found$/);
  });
});
