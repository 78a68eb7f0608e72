/** The `esp:` config section: names, defaults, errors naming the key, and its secrets kept out of logs. */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config/load.js';
import { createLogger, secretsOf } from '../../lib/log.js';

const spki = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, '/etc/mtarep/mtarep.yml');
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const full = `esp:
  from: probes@mon.example.com
  providers:
    - { name: sendgrid, api_key: SG.secret-sendgrid, api_url: https://api.sendgrid.com/v3/ }
    - { name: mailgun, api_key: key-secret-mailgun, domain: mg.example.com, api_url: "http://127.0.0.1:9000/v3" }
    - { name: mandrill, api_key: md-secret-mandrill }
    - { name: smtp, host: smtp.example.com, port: 587, tls: starttls, user: relay, password: smtp-secret-pw }
  first_working_cache_s: 600
  timeout_ms: 5000
  webhooks:
    counters_id: esp
    sendgrid: { public_key: "${spki}" }
    mailgun: { signing_key: mg-signing-secret }
    mandrill: { webhook_key: md-webhook-secret, url: "https://mtarep.example.com/webhooks/mandrill" }
`;

describe('esp config', () => {
  it('loads the names the issue gives, in order, with http:// accepted and defaults filled', () => {
    const esp = parseConfig(full, '/etc/mtarep/mtarep.yml').esp!;
    expect(esp.providers.map((p) => p.name)).toEqual(['sendgrid', 'mailgun', 'mandrill', 'smtp']);
    expect(esp.providers[1]).toEqual({ name: 'mailgun', apiKey: 'key-secret-mailgun', apiUrl: 'http://127.0.0.1:9000/v3/', domain: 'mg.example.com' });
    expect(esp.providers[2]).toMatchObject({ apiUrl: 'https://mandrillapp.com/api/1.0/' });
    expect(esp.providers[3]).toEqual({ name: 'smtp', host: 'smtp.example.com', port: 587, tls: 'starttls', user: 'relay', password: 'smtp-secret-pw' });
    expect(esp).toMatchObject({ from: 'probes@mon.example.com', firstWorkingCacheS: 600, timeoutMs: 5000 });
    expect(esp.webhooks).toMatchObject({ countersId: 'esp', sendgrid: { publicKey: spki }, mailgun: { signingKey: 'mg-signing-secret' }, replayWindowS: 300 });
    const d = parseConfig('esp: { from: a@b.example, providers: [{ name: sendgrid, api_key: k }] }', '/x.yml').esp!;
    expect(d).toMatchObject({ firstWorkingCacheS: 3600, timeoutMs: 10000, webhooks: { countersId: 'esp' } });
    expect(d.providers[0]).toMatchObject({ apiUrl: 'https://api.sendgrid.com/v3/' });
  });

  const cases: [string, string, RegExp][] = [
    ['unknown provider', 'esp: { from: a@b.example, providers: [{ name: sendgird, api_key: k }] }', /^mtarep\.yml: esp\.providers\[0\]\.name: "sendgird" is unknown: must be one of sendgrid, mailgun, mandrill, smtp$/],
    ['provider without name', 'esp: { from: a@b.example, providers: [{ api_key: k }] }', /^mtarep\.yml: esp\.providers\[0\]\.name: is required: must be one of/],
    ['provider without its key', 'esp: { from: a@b.example, providers: [{ name: sendgrid }] }', /^mtarep\.yml: esp\.providers\[0\]\.api_key: is required \(a string\)$/],
    ['mailgun without domain', 'esp: { from: a@b.example, providers: [{ name: mailgun, api_key: k }] }', /^mtarep\.yml: esp\.providers\[0\]\.domain: is required/],
    ['smtp without host', 'esp: { from: a@b.example, providers: [{ name: smtp }] }', /^mtarep\.yml: esp\.providers\[0\]\.host: is required/],
    ['bad URL', 'esp: { from: a@b.example, providers: [{ name: mandrill, api_key: k, api_url: "ftp://x/" }] }', /^mtarep\.yml: esp\.providers\[0\]\.api_url: must be an http:\/\/ or https:\/\/ URL$/],
    ['not a URL', 'esp: { from: a@b.example, providers: [{ name: mandrill, api_key: k, api_url: "mandrillapp" }] }', /^mtarep\.yml: esp\.providers\[0\]\.api_url: must be an http/],
    ['unknown key in a provider', 'esp: { from: a@b.example, providers: [{ name: sendgrid, api_key: k, domain: x }] }', /^mtarep\.yml: esp\.providers\[0\]\.domain: unknown key$/],
    ['provider twice', 'esp: { from: a@b.example, providers: [{ name: sendgrid, api_key: k }, { name: sendgrid, api_key: j }] }', /^mtarep\.yml: esp\.providers\[1\]\.name: sendgrid is listed twice/],
    ['no from', 'esp: { providers: [{ name: sendgrid, api_key: k }] }', /^mtarep\.yml: esp\.from: is required when esp\.providers is set/],
    ['smtp user without password', 'esp: { from: a@b.example, providers: [{ name: smtp, host: h, user: u }] }', /^mtarep\.yml: esp\.providers\[0\]\.password: user and password go together$/],
    ['bad webhook URL', 'esp: { webhooks: { mandrill: { webhook_key: k, url: "mtarep/webhooks" } } }', /^mtarep\.yml: esp\.webhooks\.mandrill\.url: must be an http/],
    ['mandrill webhook without url', 'esp: { webhooks: { mandrill: { webhook_key: k } } }', /^mtarep\.yml: esp\.webhooks\.mandrill\.url: is required/],
    ['not a P-256 key', 'esp: { webhooks: { sendgrid: { public_key: "MFkwEwYHnotakey" } } }', /^mtarep\.yml: esp\.webhooks\.sendgrid\.public_key: must be the base64 DER P-256 public key/],
    ['bad counters id', 'esp: { webhooks: { counters_id: "a:b" } }', /^mtarep\.yml: esp\.webhooks\.counters_id: must be letters, digits/],
  ];
  for (const [name, text, line] of cases) {
    it(`error: ${name}`, () => {
      const lines = problemsOf(text);
      expect(lines.some((l) => line.test(l)), lines.join('\n')).toBe(true);
    });
  }

  it('every ESP and webhook key is a secret: scrubbed from log lines', () => {
    const config = parseConfig(full, '/etc/mtarep/mtarep.yml');
    const secrets = secretsOf(config);
    expect(secrets).toEqual(
      expect.arrayContaining(['SG.secret-sendgrid', 'key-secret-mailgun', 'md-secret-mandrill', 'smtp-secret-pw', 'mg-signing-secret', 'md-webhook-secret']),
    );
    const lines: string[] = [];
    const stream = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
    createLogger({ secrets, stream }).error('failed with SG.secret-sendgrid', { answer: 'key md-webhook-secret and smtp-secret-pw' });
    expect(lines.join('')).not.toMatch(/secret-sendgrid|md-webhook-secret|smtp-secret-pw/);
  });
});

describe('mtarep.example.yml', () => {
  it('documents an esp section that loads once uncommented', async () => {
    const fs = await import('node:fs');
    const text = fs.readFileSync(new URL('../../mtarep.example.yml', import.meta.url), 'utf8');
    const lines = text.split('\n');
    const start = lines.indexOf('# esp:');
    expect(start).toBeGreaterThan(0);
    const block: string[] = [];
    for (const l of lines.slice(start)) {
      if (!/^# (esp:| )/.test(l)) break;
      block.push(l.slice(2));
    }
    const yml = block.join('\n').replace('"MFkw..."', `"${spki}"`);
    const esp = parseConfig(yml, '/etc/mtarep/mtarep.yml').esp!;
    expect(esp.providers.map((p) => p.name)).toEqual(['sendgrid', 'mailgun', 'mandrill', 'smtp']);
    expect(esp.webhooks.mandrill?.url).toBe('https://mtarep.example.com/webhooks/mandrill');
  });
});
