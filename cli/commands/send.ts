/**
 * `mtarep send --to ADDRESS`: one test mail through the ESP gateway (smtest's test endpoint as a
 * command), printing which provider sent it and every attempt.
 * Exit codes: 0 sent; 1 sent, but a provider before it has a configuration problem (bad key);
 * 2 usage or config (no providers); 4 every provider failed, or Redis unreachable; 5 refused as invalid.
 */
import type { ConfiguredContext } from '../commands.js';
import { exitCodes } from '../exit-codes.js';
import { openRedis } from '../runtime.js';
import { withSession } from '../session.js';
import { EspGateway, EspNotConfiguredError, type SendResult } from '../../lib/esp/gateway.js';
import { keys } from '../../lib/keys.js';

/** The human report of one send. */
export function formatSendResult(r: SendResult): string {
  const out: string[] = [];
  if (r.outcome === 'sent') out.push(`sent to ${r.to} by ${r.provider}${r.messageId ? ` (message id ${r.messageId})` : ''}`);
  else if (r.outcome === 'invalid') out.push(`NOT sent to ${r.to}: ${r.attempts.at(-1)?.provider} refused the message as invalid (no other provider tried)`);
  else out.push(`NOT sent to ${r.to}: every provider failed`);
  out.push(`attempts (${r.attempts.length}):`);
  const w = Math.max(...r.attempts.map((a) => a.provider.length), 8);
  r.attempts.forEach((a, i) => {
    out.push(`  ${i + 1}. ${a.provider.padEnd(w)}  ${a.at.slice(11, 19)}  ${String(a.ms).padStart(6)} ms  ${a.outcome.padEnd(11)}  ${a.answer}`);
  });
  for (const p of r.configProblems) out.push(`warning: ${p} has a configuration problem (check its key / domain in esp.providers)`);
  for (const x of r.warnings) out.push(`warning: ${x}`);
  return out.join('\n') + '\n';
}

export function exitCodeOf(r: SendResult): number {
  if (r.outcome === 'invalid') return exitCodes.refused;
  if (r.outcome === 'failed') return exitCodes.fatal;
  return r.configProblems.length > 0 ? exitCodes.partial : exitCodes.ok;
}

export async function run({ config, values }: ConfiguredContext): Promise<number> {
  const to = typeof values.to === 'string' ? values.to.trim() : '';
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(to)) {
    process.stderr.write(`mtarep: send needs --to ADDRESS (an e-mail address)${to ? `, not "${to}"` : ''}\n`);
    return exitCodes.usage;
  }
  if (!config.esp || config.esp.providers.length === 0) {
    process.stderr.write('mtarep: no ESP providers configured: add esp.from and esp.providers (see mtarep.example.yml)\n');
    return exitCodes.config;
  }
  const json = values.json === true;
  return withSession(config, { quiet: true }, async (log) => {
    const handle = await openRedis(config, log, { reconnect: false });
    try {
      const gw = new EspGateway({ esp: config.esp, redis: handle.redis, k: keys(config.redis.prefix), log });
      const res = await gw.send({
        to,
        subject: typeof values.subject === 'string' ? values.subject : 'mtarep test mail',
        text: typeof values.text === 'string' ? values.text : `Test mail sent by mtarep at ${new Date().toISOString()}.`,
      });
      process.stdout.write(json ? JSON.stringify(res, null, 2) + '\n' : formatSendResult(res));
      return exitCodeOf(res);
    } catch (e) {
      if (e instanceof EspNotConfiguredError) {
        process.stderr.write(`mtarep: ${e.message}\n`);
        return exitCodes.config;
      }
      throw e;
    } finally {
      await handle.close();
    }
  });
}
