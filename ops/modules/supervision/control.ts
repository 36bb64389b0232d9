import { join } from 'node:path';
import type { Logger } from 'pino';
import { CorralError } from '../../../store/index.js';
import type { ActorRuntime, JobService } from '../../../actors/index.js';
import type { MinionHub } from '../../../gateway/minion/index.js';
import type { ControlHandler } from '../../ctl/index.js';
import type { NodeContext } from '../../node-module.js';
import type { LocalMinion } from './local-minion.js';
import { applyConfig, applyTenantConfig, assertTenantArgument, type TenantConfigSource } from './tenants.js';

export interface ControlDeps {
  context: NodeContext;
  runtime: ActorRuntime;
  hub: MinionHub;
  jobs: () => JobService | null;
  localMinion: LocalMinion | null;
  configSource: TenantConfigSource;
  log: Logger;
  /** remembers `--keep-minion` for the graceful stop the `stop` command triggers */
  requestStop(keepMinion: boolean): void;
}

const bool = (value: unknown, name: string): boolean => {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new CorralError('bad-request', `${name} must be true or false`);
  return value;
};

/** Writes a diagnostic report (stacks, heap, handles) like SIGUSR2 and returns its path. */
export function writeDiagnosticReport(dataDir: string, log: Logger): string {
  const file = join(dataDir, `report-${process.pid}-${Date.now()}.json`);
  process.report.writeReport(file);
  log.info({ file }, 'wrote diagnostic report');
  return file;
}

/** The commands of `corral ctl` (docs/operations.md) as the command socket serves them. */
export function controlHandlers(deps: ControlDeps): Record<string, ControlHandler> {
  const { context, runtime, hub, configSource, log } = deps;
  const leading = (): void => {
    if (!runtime.isLeader || runtime.status().state !== 'running') {
      throw new CorralError('unavailable', `this node does not run the actors (not the leader)${runtime.leaderUrl() ? `; the leader is ${runtime.leaderUrl()}` : ''}`);
    }
  };
  return {
    status: () => ({
      pid: process.pid,
      url: context.url(),
      dataDir: context.dataDir,
      component: context.componentKey,
      version: context.version,
      state: context.componentState(),
      uptimeSeconds: Math.round(process.uptime()),
      leader: runtime.isLeader,
      leaderUrl: runtime.leaderUrl(),
      actors: runtime.status(),
      jobsRunning: deps.jobs()?.runningJobs ?? 0,
      localMinion: deps.localMinion ? { pid: deps.localMinion.pid, adopted: deps.localMinion.wasAdopted } : null,
      minions: hub.connections().map((connection) => ({
        id: connection.id,
        tenants: connection.tenants,
        remoteAddress: connection.remoteAddress,
        version: connection.version,
        connectedAt: new Date(connection.connectedAt).toISOString(),
      })),
      memory: process.memoryUsage(),
    }),
    stop: (args) => {
      const keepMinion = bool(args.keepMinion, 'keepMinion');
      // The node's graceful stop runs from its signal handler (corral serve installs it);
      // the answer goes out first, the stop starts right after.
      if (process.listenerCount('SIGTERM') === 0) throw new CorralError('unavailable', 'this node does not handle stop signals (not started by corral serve)');
      deps.requestStop(keepMinion);
      setTimeout(() => process.kill(process.pid, 'SIGTERM'), 50).unref();
      return { stopping: true, pid: process.pid, keepMinion };
    },
    'tenant-reconfigure': async (args) => {
      leading();
      const tenant = assertTenantArgument(args.tenant);
      const { created, positions } = await applyTenantConfig(runtime, tenant, configSource.tenant(tenant));
      return { tenant, created, events: positions.length, positions };
    },
    'full-reconfigure': async () => {
      leading();
      return { tenants: await applyConfig(runtime, configSource.read(), log) };
    },
    'stack-dump': () => ({ file: writeDiagnosticReport(context.dataDir, log) }),
  };
}
