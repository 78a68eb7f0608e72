/** The probe mail itself (subject with the token, a short body), the same whichever way it leaves. */
import type { ProbesConfig } from '../../lib/config/probes.js';
import type { ProbeRecord } from '../../lib/probes/model.js';

export function probeMessage(cfg: ProbesConfig, r: Pick<ProbeRecord, 'token' | 'address' | 'sentAt'>): { subject: string; text: string } {
  return {
    subject: `${cfg.subjectPrefix} ${r.token}`.trim(),
    text: `mtarep round-trip probe ${r.token}\nsent ${new Date(r.sentAt).toISOString()} to ${r.address}\nPlease return this message unchanged to ${cfg.from}.\n`,
  };
}
