/** `alerts:` and `public_url` in mtarep.yml: defaults, normalisation, errors naming the key, secrets. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config/load.js';
import { secretsOf } from '../../lib/log.js';

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, '/etc/mtarep/mtarep.yml');
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('alerts config', () => {
  it('has quiet defaults when absent, and public_url from listen', () => {
    const c = parseConfig('listen: 0.0.0.0:9090', '/x/m.yml');
    expect(c.alerts).toEqual({ webhooks: [], confirmRuns: 2, digestS: 600, remindS: 86400, minSeverity: 'warning', quiet: [] });
    expect(c.publicUrl).toBe('http://127.0.0.1:9090/');
    expect(c.warnings.join('\n')).not.toMatch(/alerts/);
  });

  it('reads the keys the issue names', () => {
    const c = parseConfig(
      `public_url: https://mon.example.com/mtarep
rbls: [zen.spamhaus.org, b.barracudacentral.org]
alerts:
  email:
    to: [ops@example.com]
    from: mtarep@mon.example.com
    smtp: { host: 127.0.0.1, port: 25, tls: none, user: mtarep, password: pa55word-smtp }
  webhooks:
    - { url: "https://hooks.example.com/mtarep/T0123456789abcdefXYZ", secret: whsec-0123456789abcdef }
  confirm_runs: 3
  digest_s: 60
  remind_s: 0
  min_severity: problem
  quiet: [dns_mismatch, B.Barracudacentral.org]`,
      '/x/m.yml',
    );
    expect(c.publicUrl).toBe('https://mon.example.com/mtarep/');
    expect(c.alerts.email).toEqual({
      to: ['ops@example.com'],
      from: 'mtarep@mon.example.com',
      smtp: { host: '127.0.0.1', port: 25, tls: 'none', user: 'mtarep', password: 'pa55word-smtp', timeoutMs: 15000 },
    });
    expect(c.alerts.webhooks).toEqual([
      { id: expect.stringMatching(/^webhook:[0-9a-f]{8}$/), url: 'https://hooks.example.com/mtarep/T0123456789abcdefXYZ', label: 'https://hooks.example.com/…', secret: 'whsec-0123456789abcdef', timeoutMs: 10000 },
    ]);
    expect(c.alerts).toMatchObject({ confirmRuns: 3, digestS: 60, remindS: 0, minSeverity: 'problem', quiet: ['dns_mismatch', 'b.barracudacentral.org'] });
    // The SMTP password, the webhook secret and a token in the webhook path are scrubbed from logs.
    expect(secretsOf(c)).toEqual(expect.arrayContaining(['pa55word-smtp', 'whsec-0123456789abcdef', 'T0123456789abcdefXYZ']));
    expect(c.warnings.join('\n')).toMatch(/alerts\.email\.smtp: a password is sent without TLS/);
  });

  it('smtp defaults: starttls on 25, implicit TLS on 465', () => {
    const base = 'alerts: {email: {to: [a@example.com], from: b@example.com, smtp: SMTP}}';
    expect(parseConfig(base.replace('SMTP', '{}'), '/x/m.yml').alerts.email!.smtp).toMatchObject({ host: '127.0.0.1', port: 25, tls: 'starttls' });
    expect(parseConfig(base.replace('SMTP', '{port: 465}'), '/x/m.yml').alerts.email!.smtp).toMatchObject({ port: 465, tls: 'tls' });
    expect(parseConfig(base.replace('SMTP', '{tls: tls}'), '/x/m.yml').alerts.email!.smtp).toMatchObject({ port: 465, tls: 'tls' });
  });

  it('warns when alerts are configured without a channel', () => {
    expect(parseConfig('alerts: {confirm_runs: 1}', '/x/m.yml').warnings.join('\n')).toMatch(/alerts: neither email nor webhooks is set/);
  });

  const cases: [string, string, RegExp][] = [
    ['unknown key', 'alerts: {confirm: 2}', /^mtarep\.yml: alerts\.confirm: unknown key$/],
    ['bad recipient', 'alerts: {email: {to: [ops], from: a@b.c}}', /^mtarep\.yml: alerts\.email\.to\[0\]: must be an e-mail address/],
    ['no recipient', 'alerts: {email: {to: [], from: a@b.c}}', /^mtarep\.yml: alerts\.email\.to: needs at least one recipient$/],
    ['bad tls', 'alerts: {email: {to: [a@b.c], from: a@b.c, smtp: {tls: ssl}}}', /^mtarep\.yml: alerts\.email\.smtp\.tls: /],
    ['user without password', 'alerts: {email: {to: [a@b.c], from: a@b.c, smtp: {user: u}}}', /^mtarep\.yml: alerts\.email\.smtp: user and password go together/],
    ['webhook not http', 'alerts: {webhooks: [{url: "ftp://x.example.com/", secret: 0123456789abcdef}]}', /^mtarep\.yml: alerts\.webhooks\[0\]\.url: must be an http:\/\/ or https:\/\/ URL$/],
    ['webhook without secret', 'alerts: {webhooks: [{url: "https://x.example.com/"}]}', /^mtarep\.yml: alerts\.webhooks\[0\]\.secret: /],
    ['short secret', 'alerts: {webhooks: [{url: "https://x.example.com/", secret: abc}]}', /^mtarep\.yml: alerts\.webhooks\[0\]\.secret: must be at least 16 characters/],
    ['webhook twice', 'alerts: {webhooks: [{url: "https://x.example.com/", secret: 0123456789abcdef}, {url: "https://x.example.com/", secret: 0123456789abcdeg}]}', /^mtarep\.yml: alerts\.webhooks\[1\]\.url: this URL is listed twice$/],
    ['confirm_runs 0', 'alerts: {confirm_runs: 0}', /^mtarep\.yml: alerts\.confirm_runs: must be at least 1$/],
    ['negative digest', 'alerts: {digest_s: -1}', /^mtarep\.yml: alerts\.digest_s: must be at least 0$/],
    ['bad min_severity', 'alerts: {min_severity: error}', /^mtarep\.yml: alerts\.min_severity: /],
    ['bad public_url', 'public_url: mon.example.com', /^mtarep\.yml: public_url: must be an http:\/\/ or https:\/\/ URL$/],
  ];
  for (const [name, text, line] of cases) {
    it(name, () => {
      const lines = problemsOf(text);
      expect(lines.some((l) => line.test(l)), lines.join('\n')).toBe(true);
      expect(lines.join('\n')).not.toMatch(/0123456789abcde/); // a secret is never echoed in an error
    });
  }
});
