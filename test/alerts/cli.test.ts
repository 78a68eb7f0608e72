/** `mtarep alerts test` as a user runs it: a real SMTP server and webhook receiver get the messages. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const secret = 'cli-test-secret-0123456789';

describe('mtarep alerts test', () => {
  let sink: SmtpSink;
  let hook: WebhookReceiver;
  let dir: string;
  beforeAll(async () => {
    sink = await startSmtpSink({ auth: { user: 'mtarep', pass: 'smtp-Pa55word' } });
    hook = await startWebhookReceiver(secret);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-alerts-cli-'));
  });
  afterAll(async () => {
    await sink.close();
    await hook.close();
  });

  const write = (name: string, alerts: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `data_dir: ${dir}/data\nalerts:\n${alerts}`);
    return file;
  };

  it('sends one test message per channel and reports each result; exit 1 when one fails', async () => {
    const dead = await freePort();
    const file = write(
      'a.yml',
      `  email: {to: [ops@example.com], from: mtarep@mon.example.com, smtp: {port: ${sink.port}, tls: none, user: mtarep, password: smtp-Pa55word}}
  webhooks:
    - {url: "${hook.url}", secret: ${secret}}
    - {url: "http://127.0.0.1:${dead}/x", secret: ${secret}, timeout_ms: 500}
`,
    );
    const r = await runCli(['alerts', 'test', '--config', file]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ok {4}e-mail to ops@example\.com \[email\]: 250 /);
    expect(lines[1]).toMatch(/^ok {4}webhook http:\/\/127\.0\.0\.1:\d+\/… \[webhook:[0-9a-f]{8}\]: HTTP 200$/);
    expect(lines[2]).toMatch(new RegExp(`^FAIL {2}webhook http://127\\.0\\.0\\.1:${dead}/… \\[webhook:[0-9a-f]{8}\\]: .*ECONNREFUSED.*\\(after 3 attempts\\)$`));
    expect(sink.mails.at(-1)!.subject).toBe('mtarep test alert');
    expect(hook.accepted.at(-1)!.verified).toBe(true);
    expect(r.stdout + r.stderr).not.toContain('smtp-Pa55word');
    expect(r.stdout + r.stderr).not.toContain(secret);

    const only = await runCli(['alerts', 'test', '--config', file, '--channel', 'email', '--json']);
    expect(only.code).toBe(0);
    expect(JSON.parse(only.stdout)).toEqual([{ channel: 'email', label: 'e-mail to ops@example.com', ok: true, message: expect.stringMatching(/^250 /) }]);
  }, 60_000);

  it('without a channel: exit 2 saying what to set; a wrong subcommand is a usage error', async () => {
    const file = write('b.yml', '  confirm_runs: 2\n');
    const r = await runCli(['alerts', 'test', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no alert channel configured: set alerts\.email and\/or alerts\.webhooks/);
    const u = await runCli(['alerts', 'send', '--config', file]);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/unknown subcommand "send"/);
    const h = await runCli(['alerts', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^mtarep alerts test/);
  }, 60_000);
});
