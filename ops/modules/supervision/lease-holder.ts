import { hostname } from 'node:os';
import type { LeaderLease } from '../../../actors/index.js';
import { isProcessAlive, readNodeRecord } from '../../rolling/index.js';

/**
 * Whether the leader lease holder `<host>:<pid>` (a node's component key) is a process of this
 * host that no longer runs. Only asked where every node runs on this host (the embedded store's
 * data directory is local), so a pid is meaningful; a reused pid reads as alive, and the lease
 * then simply expires after its TTL (docs/operations.md, "Leader failover").
 */
export function holderGoneOnThisHost(holder: string, host: string = hostname(), alive: (pid: number) => boolean = isProcessAlive): boolean {
  const at = holder.lastIndexOf(':');
  if (at <= 0 || holder.slice(0, at) !== host) return false;
  const pid = Number(holder.slice(at + 1));
  return Number.isInteger(pid) && pid > 0 && !alive(pid);
}

/**
 * Where to forward a command to the lease holder: on this host its own process's loopback
 * address (`nodes/<pid>.json`), because the shared public port may reach this very node;
 * on another host the URL it published with the lease. Null while no valid lease is held by
 * another node.
 */
export function leaderAddress(lease: LeaderLease | null, self: string, dataDir: string, now = Date.now(), host: string = hostname()): string | null {
  if (!lease || lease.holder === null || lease.holder === self || lease.expiresAt <= now) return null;
  const at = lease.holder.lastIndexOf(':');
  if (at > 0 && lease.holder.slice(0, at) === host) {
    const record = readNodeRecord(dataDir, Number(lease.holder.slice(at + 1)));
    if (record?.adminUrl) return record.adminUrl;
  }
  return lease.url ?? null;
}
