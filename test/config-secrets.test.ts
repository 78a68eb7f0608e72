import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, readSecrets } from '../lib/config/load.js';
import { secretsOf } from '../lib/log.js';

const TOKEN = 'abcdefghijklmnop0123456789';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('metrics.bearer_token', () => {
  it('from the config, a file or the environment (which wins); it is a secret', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-secrets-'));
    const inline = parseConfig(`metrics: {bearer_token: ${TOKEN}}\n`, path.join(dir, 'a.yml'));
    expect(inline.metrics.bearerToken).toBe(TOKEN);
    expect(secretsOf(inline)).toContain(TOKEN);

    fs.writeFileSync(path.join(dir, 'token'), `${TOKEN}-file\n`);
    fs.writeFileSync(path.join(dir, 'b.yml'), 'metrics: {bearer_token_file: token}\n');
    expect(loadConfig(path.join(dir, 'b.yml')).metrics.bearerToken).toBe(`${TOKEN}-file`);

    const c = parseConfig('metrics: {bearer_token_file: token}\n', path.join(dir, 'b.yml'));
    expect(readSecrets(c, { MTAREP_METRICS_BEARER_TOKEN: `${TOKEN}-env` }, { files: true })).toEqual([]);
    expect(c.metrics.bearerToken).toBe(`${TOKEN}-env`);
    expect(parseConfig('{}', path.join(dir, 'c.yml')).metrics).toEqual({});
  });

  it('bad tokens and unreadable files are errors naming the key', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-secrets-'));
    expect(problems(() => parseConfig('metrics: {bearer_token: short}\n', '/x/m.yml'))).toEqual(['m.yml: metrics.bearer_token: must be at least 16 characters (e.g. openssl rand -hex 24)']);
    expect(problems(() => parseConfig(`metrics: {bearer_token: ${TOKEN}, bearer_token_file: /t}\n`, '/x/m.yml'))).toEqual([
      'm.yml: metrics.bearer_token_file: give bearer_token or bearer_token_file, not both',
    ]);
    fs.writeFileSync(path.join(dir, 'm.yml'), 'metrics: {bearer_token_file: missing}\n');
    expect(problems(() => loadConfig(path.join(dir, 'm.yml')))).toEqual([`m.yml: metrics.bearer_token_file: cannot read ${path.join(dir, 'missing')}: file not found`]);
    const c = parseConfig('{}', path.join(dir, 'm.yml'));
    expect(readSecrets(c, { MTAREP_METRICS_BEARER_TOKEN: 'has space inside it ok' }, { files: true })).toEqual([
      { path: '$MTAREP_METRICS_BEARER_TOKEN', message: 'must not contain spaces or line breaks' },
    ]);
  });
});

describe('a secret of the wrong type', () => {
  it('is named by its key and never repeated: an unquoted run of digits reads as a number', () => {
    const text = [
      'snds_key: 987654321012',
      'rbls: [{zone: zen.spamhaus.org, dqs_key: 55555555555}]',
      'metrics: {bearer_token: 27182818284590452353}',
      'alerts: {email: {to: [ops@example.com], from: m@example.com, smtp: {password: 8675309112233}}, webhooks: [{url: "https://hooks.example.com/x", secret: 31415926535897932}]}',
      'esp: {providers: [{name: sendgrid, api_key: 424242424242}], webhooks: {mailgun: {signing_key: 7777777777777777}}}',
      '',
    ].join('\n');
    const lines = problems(() => parseConfig(text, '/x/s.yml'));
    expect(lines).toEqual(
      expect.arrayContaining([
        's.yml: snds_key: must be a string, not a number (put it in quotes)',
        's.yml: rbls[0].dqs_key: must be a string, not a number (put it in quotes)',
        's.yml: metrics.bearer_token: must be a string, not a number (put it in quotes)',
        's.yml: alerts.email.smtp.password: must be a string, not a number (put it in quotes)',
      ]),
    );
    const all = lines.join('\n');
    // Not the digits, nor the rounded forms JavaScript prints for the long ones.
    for (const digits of ['98765', '55555', '27182', '86753', '31415', '42424', '77777']) expect(all).not.toContain(digits);
    // Where no secret can be, the value helps find the mistake.
    expect(problems(() => parseConfig('dns: {tries: "3x"}\n', '/x/d.yml'))).toEqual(['d.yml: dns.tries: must be a number, not the string "3x"']);
  });
});
