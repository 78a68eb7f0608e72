/**
 * The ESP source: turns the sending providers' state (written by the ESP gateway on every send,
 * lib/esp/store.ts) into open issues of kind `esp_failover`, so that a provider failing and the
 * gateway moving on to the next one alerts (issue 12), and its recovery too. A provider whose newest
 * attempt failed is open: a warning while another provider's newest attempt worked, a problem when
 * none did or the provider refused its key / configuration. A provider never tried is no issue.
 * Without an `esp:` section with providers it does nothing.
 */
import type { OpenIssue } from '../../lib/events.js';
import { readProviderStates, type ProviderState } from '../../lib/esp/store.js';
import { configProblemOutcomes, type AttemptOutcome } from '../../lib/esp/types.js';
import type { Source, SourceContext, SourceOutcome } from './types.js';

type Seen = Omit<OpenIssue, 'firstSeen' | 'lastSeen' | 'source'>;

/** Issue id of a failing ESP provider. */
export const espIssueId = (provider: string) => `esp:${provider}`;

const working = (o: string | undefined) => o === 'sent' || o === 'invalid'; // invalid: the provider answered, the message was refused

/** The open issues of the providers' states (pure). */
export function espIssues(states: readonly ProviderState[]): Seen[] {
  const anyWorking = states.some((s) => working(s.lastOutcome));
  const out: Seen[] = [];
  for (const s of states) {
    if (s.lastOutcome === undefined || working(s.lastOutcome)) continue;
    const config = (configProblemOutcomes as readonly string[]).includes(s.lastOutcome as AttemptOutcome);
    out.push({
      id: espIssueId(s.name),
      kind: 'esp_failover',
      severity: config || !anyWorking ? 'problem' : 'warning',
      provider: s.name,
      state: config ? `failing: ${s.lastOutcome === 'auth' ? 'key refused' : 'configuration problem'}` : anyWorking ? 'failing: the next provider sends' : 'failing: no provider works',
      ...(s.lastFailureAnswer ? { detail: s.lastFailureAnswer } : {}),
    });
  }
  return out;
}

async function run(ctx: SourceContext): Promise<SourceOutcome> {
  const esp = ctx.config.esp;
  if (!esp || esp.providers.length === 0) {
    ctx.step('esp: not configured');
    return { part: { hosts: 0, ips: 0, checks: {}, unhealthyZones: [], errors: [], status: 'ok' }, issues: null };
  }
  const states = await readProviderStates(ctx.redis, ctx.k, esp.providers.map((p) => p.name));
  ctx.step('esp providers');
  const at = ctx.now().toISOString();
  const open = espIssues(states).map((i): OpenIssue => ({ ...i, source: 'esp', firstSeen: at, lastSeen: at }));
  return {
    part: { hosts: 0, ips: 0, checks: {}, unhealthyZones: [], errors: [], status: 'ok' },
    issues: { at, open, undetermined: [] },
  };
}

export const espSource: Source = { name: 'esp', steps: () => 1, run };
