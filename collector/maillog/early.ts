/**
 * SSH connections to the maillog hosts, started before the run asks for them. `mtarep collect` starts
 * them as soon as its config is loaded, so the TCP connect, key exchange and authentication (and the
 * MTA's sshd starting a session) overlap the Redis connect, the lock and the state load instead of
 * following them. Nothing else changes: the same connector checks the host key against known_hosts,
 * a failure is handed to the read that asks for that host (with its reason), and what the run does not
 * take (the lock was held, the run stopped early) is closed by `close()`. Only the hosts read first
 * (`ssh_concurrency` of them) are connected early; any other connect goes to the connector as usual.
 */
import type { Config } from '../../lib/config/normalize.js';
import { sshConnect, type SshSession, type SshTarget } from '../ssh/client.js';
import { activeHosts, sshMaterial, sshTargetOf } from './ssh-setup.js';

export interface EarlyConnections {
  /** A connector for the run: an early connection to the same target if one is waiting, else a new one. */
  connect(t: SshTarget): Promise<SshSession>;
  /** Close the early connections the run did not take. */
  close(): void;
  /** How many connections were started early. */
  readonly started: number;
}

interface Pending {
  target: SshTarget;
  session: Promise<SshSession>;
  taken: boolean;
}

const sameTarget = (a: SshTarget, b: SshTarget): boolean =>
  a.host === b.host && a.port === b.port && a.username === b.username && a.readyTimeoutMs === b.readyTimeoutMs && a.privateKey.equals(b.privateKey);

/**
 * Start connecting to the first hosts the maillog part will read. With nothing to read, or a key or
 * known_hosts that cannot be read (the run reports that itself), nothing is started.
 */
export function connectEarly(config: Config, connector: (t: SshTarget) => Promise<SshSession> = sshConnect): EarlyConnections {
  const hosts = activeHosts(config, config.hosts).slice(0, config.ssh.concurrency);
  const pending: Pending[] = [];
  if (hosts.length > 0) {
    const { setupError, privateKey, knownHosts } = sshMaterial(config);
    if (setupError === null) {
      for (const h of hosts) {
        let target: SshTarget;
        try {
          target = sshTargetOf(config, h, privateKey, knownHosts);
        } catch {
          continue; // (no user name for this uid, say) the host's read meets it and reports it
        }
        const session = connector(target);
        // Failures belong to the read that takes this connection (or to nobody, if none does).
        session.catch(() => {});
        pending.push({ target, session, taken: false });
      }
    }
  }
  return {
    started: pending.length,
    connect(t) {
      const p = pending.find((x) => !x.taken && sameTarget(x.target, t));
      if (!p) return connector(t);
      p.taken = true;
      // A connection the server closed while it waited is replaced by a new one.
      return p.session.then((s) => (s.closed ? connector(t) : s));
    },
    close() {
      for (const p of pending) {
        if (p.taken) continue;
        p.taken = true;
        p.session.then(
          (s) => s.close(),
          () => {},
        );
      }
    },
  };
}
