/**
 * Why a host's maillog is not read, in the words the overview's tooltip and the host page both use:
 * no `ssh_key` at all, or the host left out with `ssh: false` while other hosts are read. Pure.
 */
import type { Config, HostConfig } from '../../lib/config/normalize.js';

/** Why `host`'s maillog is not read ("needs ssh_key", "excluded by ssh: false …"); null when it is read. */
export function maillogNotReadReason(config: Config, host: HostConfig): string | null {
  if (host.ssh) return null;
  return config.ssh.keyFile === undefined ? 'needs ssh_key' : 'excluded by ssh: false for this host';
}
