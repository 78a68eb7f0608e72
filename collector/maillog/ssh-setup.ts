/**
 * What a maillog read needs to reach its hosts over SSH: which hosts are read, the client key and
 * known_hosts of the run, and each host's target. Kept apart (it loads only the SSH client) so
 * `mtarep collect` can start the connections (early.ts) before it loads the rest of the collector.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import type { SshTarget } from '../ssh/client.js';
import { loadKnownHosts, type KnownHostEntry } from '../ssh/known-hosts.js';

/** Hosts whose maillog is read, in the order they are read: SSH on for the host, a key configured. */
export function activeHosts(config: Config, hosts: readonly HostConfig[]): HostConfig[] {
  return hosts.filter((h) => h.ssh && config.ssh.keyFile !== undefined);
}

export interface SshMaterial {
  /** A problem shared by every host (key file, known_hosts): each host fails with this reason. */
  setupError: string | null;
  privateKey: Buffer;
  knownHosts: KnownHostEntry[];
}

/** The client key and known_hosts of a run. */
export function sshMaterial(config: Config): SshMaterial {
  let setupError: string | null = null;
  let privateKey = Buffer.alloc(0);
  let knownHosts: KnownHostEntry[] = [];
  try {
    privateKey = fs.readFileSync(config.ssh.keyFile!);
  } catch (e) {
    setupError = `cannot read ssh_key ${config.ssh.keyFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  try {
    knownHosts = loadKnownHosts(config.ssh.knownHosts);
  } catch (e) {
    // No file: every host key is unknown, which each host then reports (never a silent accept).
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      setupError ??= `cannot read ssh_known_hosts ${config.ssh.knownHosts}: ${(e as Error).message}`;
    }
  }
  return { setupError, privateKey, knownHosts };
}

/** How a host is reached over SSH (the read and early.ts build it alike). */
export function sshTargetOf(config: Config, host: HostConfig, privateKey: Buffer, knownHosts: readonly KnownHostEntry[]): SshTarget {
  return {
    host: host.sshHost,
    port: host.sshPort,
    // As OpenSSH: without ssh_user, the local user's name.
    username: host.sshUser ?? config.ssh.user ?? os.userInfo().username,
    privateKey,
    knownHosts,
    readyTimeoutMs: config.ssh.timeoutMs,
  };
}
