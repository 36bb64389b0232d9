import { hostname } from 'node:os';
import { isProcessAlive } from '../../rolling/index.js';

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
