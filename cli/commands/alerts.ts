/** `mtarep alerts test`: a test message on every configured alert channel, one result line each. */
import { sendTests } from '../../lib/alerts/channels.js';
import { scrub, secretsOf } from '../../lib/log.js';
import type { ConfiguredContext } from '../commands.js';
import { exitCodes } from '../exit-codes.js';

export async function run({ config, values, positionals }: ConfiguredContext): Promise<number> {
  if (positionals[0] !== 'test') {
    process.stderr.write(`mtarep alerts: unknown subcommand "${positionals[0] ?? ''}" (try: mtarep alerts test)\n`);
    return exitCodes.usage;
  }
  const only = typeof values.channel === 'string' ? values.channel : undefined;
  const results = await sendTests(config, new Date(), only);
  if (results.length === 0) {
    process.stderr.write(
      only !== undefined
        ? `mtarep alerts test: no channel "${only}" (the channels are listed by mtarep alerts test without --channel)\n`
        : `mtarep alerts test: no alert channel configured: set alerts.email and/or alerts.webhooks in ${config.file}\n`,
    );
    return exitCodes.config;
  }
  const secrets = secretsOf(config);
  if (values.json === true) {
    const out = results.map((r) => ({ channel: r.channel.id, label: r.channel.label, ok: r.ok, message: scrub(r.message, secrets) }));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    for (const r of results) {
      process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.channel.label} [${r.channel.id}]: ${scrub(r.message, secrets)}\n`);
    }
  }
  return results.every((r) => r.ok) ? exitCodes.ok : exitCodes.partial;
}
