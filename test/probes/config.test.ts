/** The `probes:` config section: defaults, errors naming the key, passwords from *_file and env. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../lib/config/load.js';
import { secretsOf } from '../../lib/log.js';

const base = `probes:
  from: probes@mon.example.com
  smtp: { host: 127.0.0.1 }
  imap: { host: imap.mon.example.com, user: probes@mon.example.com, password: imap-pass-1 }
`;

function problems(text: string): string[] {
  try {
    parseConfig(text, '/x/mtarep.yml');
    return [];
  } catch (e) {
    return (e as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
}

describe('probes config', () => {
  it('has mxtrax defaults', () => {
    const c = parseConfig(base, '/x/mtarep.yml');
    expect(c.probes).toMatchObject({
      from: 'probes@mon.example.com',
      interval: 300,
      subjectPrefix: '[mtarep probe]',
      smtp: { host: '127.0.0.1', port: 25, tls: 'none', pool: 4 },
      imap: { host: 'imap.mon.example.com', port: 993, tls: 'tls', folders: ['INBOX'], deleteMatched: true },
      maxReturnS: 300,
      maxSecUntilFail: 86400,
      maxFailNumber: 0,
      maxFailPercentage: 0,
      maxLateNumber: 0,
      maxLatePercentage: 0,
      window: 86400,
      alertTo: [],
    });
    expect(c.retention.probeStatsDays).toBe(400);
    expect(parseConfig('{}', '/x/m.yml').probes).toBeUndefined();
  });

  it('names the key of each problem', () => {
    expect(problems(base.replace('probes@mon.example.com\n', 'not-an-address\n'))).toEqual(['probes.from: must be an e-mail address (user@domain)']);
    expect(problems(base.replace('smtp: { host: 127.0.0.1 }', 'smtp: { host: 127.0.0.1, tls: ssl }'))[0]).toMatch(/^probes\.smtp\.tls: /);
    expect(problems(base + '  mbox: /var/mail/probes\n')).toEqual(['probes.mbox: set either probes.imap or probes.mbox, not both']);
    expect(problems('probes:\n  from: a@b.example\n  smtp: { host: h }\n')).toEqual(['probes: needs probes.imap or probes.mbox: where returned probes are found']);
    expect(problems(base + '  max_sec_until_fail: 100\n')).toEqual(['probes.max_sec_until_fail: must be greater than max_return_s (300)']);
    expect(problems(base + '  alert_to: [ops]\n')).toEqual(['probes.alert_to[0]: must be an e-mail address (user@domain)']);
  });

  it('via: esp sends probes through esp.providers (probes.smtp optional); without providers it is an error naming probes.via', () => {
    expect(parseConfig(base, '/x/mtarep.yml').probes?.via).toBe('smtp');
    const noSmtp = base.replace('  smtp: { host: 127.0.0.1 }\n', '');
    expect(problems(noSmtp)).toEqual(['probes.smtp: is required: the SMTP server probes leave through (or probes.via: esp to send them through esp.providers)']);
    expect(problems(noSmtp + '  via: esp\n')).toEqual([
      'probes.via: is esp, but no esp.providers are configured: add esp.from and esp.providers, or send probes through probes.smtp (via: smtp)',
    ]);
    expect(problems(noSmtp + '  via: esp\nesp:\n  webhooks: { counters_id: esp }\n')[0]).toMatch(/^probes\.via: is esp, but no esp\.providers/);
    expect(problems(base + '  via: api\n')[0]).toMatch(/^probes\.via: /);
    const esp = 'esp:\n  from: probes@mon.example.com\n  providers: [{ name: sendgrid, api_key: SG.k }]\n';
    const c = parseConfig(noSmtp + '  via: esp\n' + esp, '/x/mtarep.yml');
    expect(c.probes).toMatchObject({ via: 'esp' });
    expect(c.probes?.smtp).toBeUndefined();
  });

  it('reads passwords from password_file or the environment, and scrubs them from logs', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-probecfg-'));
    try {
      fs.writeFileSync(path.join(dir, 'smtp.pw'), 'smtp-file-pass\n');
      const file = path.join(dir, 'mtarep.yml');
      fs.writeFileSync(
        file,
        `probes:\n  from: p@mon.example\n  smtp: { host: h, user: u, password_file: smtp.pw }\n  imap: { host: h, user: u }\n`,
      );
      process.env['MTAREP_PROBES_IMAP_PASSWORD'] = 'imap-env-pass';
      const c = loadConfig(file, { checkFiles: false });
      expect(c.probes?.smtp?.password).toBe('smtp-file-pass');
      expect(c.probes?.imap?.password).toBe('imap-env-pass');
      expect(secretsOf(c)).toEqual(expect.arrayContaining(['smtp-file-pass', 'imap-env-pass']));
      delete process.env['MTAREP_PROBES_IMAP_PASSWORD'];
      expect(() => loadConfig(file, { checkFiles: false })).toThrow(/probes\.imap\.password: is required/);
      fs.rmSync(path.join(dir, 'smtp.pw'));
      expect(() => loadConfig(file, { checkFiles: false })).toThrow(/probes\.smtp\.password_file: cannot read .*smtp\.pw: file not found/);
    } finally {
      delete process.env['MTAREP_PROBES_IMAP_PASSWORD'];
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
