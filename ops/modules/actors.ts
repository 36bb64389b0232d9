import { join } from 'node:path';
import { distinctUntilChanged, type Subscription } from 'rxjs';
import { isCorralError, LEADER_STREAM, UnavailableError } from '../../store/index.js';
import {
  createActorRuntime,
  createJobService,
  createLeaderLease,
  type ActorRuntime,
  type JobService,
  type LeaderLease,
  type MinionReportSink,
} from '../../actors/index.js';
import {
  ADMIN_TOKEN_SUBJECT,
  Authenticator,
  createCommandTable,
  forwardingDispatcher,
  Principal,
  registerCommandRoutes,
  registerForwardRoute,
  registerLogRoutes,
  roleIncludes,
  type CommandDispatcher,
} from '../../gateway/index.js';
import { createMinionHub, minionCredential, storeMinionBindings, type MinionIdentity } from '../../gateway/minion/index.js';
import { defaultMinionId } from '../minion/index.js';
import type { NodeContext, NodeModule, StartedModule, StopInfo } from '../node-module.js';
import { openControlSocket, CONTROL_SOCKET, type ControlSocket } from '../ctl/index.js';
import { controlHandlers } from './supervision/control.js';
import { otherLiveNodes } from '../rolling/index.js';
import { holderGoneOnThisHost, leaderAddress } from './supervision/lease-holder.js';
import { LocalMinion } from './supervision/local-minion.js';
import { registerSupervisionMetrics } from './supervision/metrics.js';
import { applyConfig, applyTenantConfig, configFilePath, TenantConfigSource } from './supervision/tenants.js';
import type { NodeServices } from './shared.js';

export interface ActorsModuleOptions {
  /** leader lease TTL (default 10 s, or `CORRAL_LEASE_TTL_MS`) */
  leaseTtlMs?: number;
  /** how long `listening()` waits to lead before going on in the background (default 2 s) */
  leadWaitMs?: number;
}

/**
 * Supervision and jobs on a node (README "What it is"; README "HTTP"; docs/architecture.md "Actors and leadership"; docs/operations.md): the `/minion` hub, the leader
 * lease, the actor runtime (tenants, watchers, processes) and the job service (both run only
 * while this node leads), the write routes and log routes, the command socket, Prometheus
 * metrics, the tenants of the configuration file, and the local minion.
 *
 * Provides in `services`: `commands` (for the websocket `cmd` op) and `actors`.
 */
export function actorsModule(services: NodeServices, options: ActorsModuleOptions = {}): NodeModule {
  return { name: 'actors', start: (context) => startActors(context, services, options) };
}

async function startActors(context: NodeContext, services: NodeServices, options: ActorsModuleOptions): Promise<StartedModule> {
  const { gateway, config, componentKey, dataDir } = context;
  const log = context.log.child({ module: 'actors' });
  const store = services.writeStore ?? context.store;
  const localMinionId = config.minion.id ?? defaultMinionId();
  const configSource = new TenantConfigSource(configFilePath(context as NodeContext & { configPath?: string | null }), config);

  let runtime!: ActorRuntime;
  let jobs: JobService | null = null;
  // The hub needs a sink before the runtime exists (the runtime needs the hub's port).
  const sink: MinionReportSink = {
    minionConnected: (hello) => runtime.minionSink.minionConnected(hello),
    minionDisconnected: (id, tenants, reason) => runtime.minionSink.minionDisconnected(id, tenants, reason),
    report: (id, report) => runtime.minionSink.report(id, report),
  };
  // Minion ids are bound to credentials in the store (docs/security.md, "Minion identity").
  // The local minion's id is reserved for the credential it connects with before anything can
  // connect, so no other credential can claim it first, and it is the server's again after a
  // restart whatever held it.
  const bindings = storeMinionBindings(store, componentKey, services.writeModel);
  if (context.localMinion) {
    const localPrincipal = gateway.authenticator.mode === 'none' ? Authenticator.NO_AUTH_PRINCIPAL : new Principal(ADMIN_TOKEN_SUBJECT, { '*': 'admin' }, 'token');
    const local = minionIdentityOf(localPrincipal);
    await bindings
      .bind(localMinionId, minionCredential({ source: local.source!, subject: local.subject, tenants: local.tenants, minion: null }))
      .catch((error: unknown) => log.warn({ err: error, minion: localMinionId }, 'could not reserve the local minion id; it is bound when the local minion connects'));
  }
  const hub = createMinionHub({
    sink,
    verifyToken: async (token) => minionIdentityOf(await gateway.authenticator.authenticateToken(token)),
    bindings,
    logger: log.child({ part: 'minion-hub' }),
    server: { version: context.version, node: componentKey },
    allTenants: () => activeTenants(runtime, configSource.tenantNames()),
  });
  hub.attach(gateway.app, '/minion');
  gateway.capabilities.add('minion.v1');

  const ttlFromEnv = Number(process.env.CORRAL_LEASE_TTL_MS);
  const lease = createLeaderLease({
    store,
    node: componentKey,
    // read when the lease is written: the URL is known once the gateway listens
    get url() {
      return context.url() || undefined;
    },
    ttlMs: options.leaseTtlMs ?? (Number.isInteger(ttlFromEnv) && ttlFromEnv > 0 ? ttlFromEnv : 10_000),
    logger: log,
    ...(services.writeModel ? { writeModel: services.writeModel } : {}),
    // The embedded store's data directory is on this host, so every node is a local process.
    ...(config.store.kind === 'embedded' ? { holderIsGone: (holder: string) => holderGoneOnThisHost(holder) } : {}),
  });

  runtime = createActorRuntime({
    store,
    minions: hub.port,
    node: componentKey,
    logger: log,
    localMinion: localMinionId,
    lease,
    ...(services.writeModel ? { writeModel: services.writeModel } : {}),
    ...(services.downcast ? { downcast: services.downcast } : {}),
    tenantAccount: (tenant) => configSource.account(tenant),
    jobs: {
      handleReturn: (minion, report) => {
        // Unavailable makes the hub close the socket unacknowledged: the minion resends the return.
        if (!jobs) throw new UnavailableError('the job service is not running on this node yet', { leaderUrl: runtime.leaderUrl() });
        return jobs.handleReturn(minion, report);
      },
    },
  });

  // The job service lives exactly while this node leads (a stopped service cannot restart).
  const leadership: Subscription = lease.leader$.pipe(distinctUntilChanged()).subscribe((leading) => {
    if (leading) {
      jobs = createJobService({
        store,
        minions: hub.port,
        node: componentKey,
        logger: log.child({ part: 'jobs' }),
        tenantAccount: (tenant) => configSource.account(tenant),
      });
      const service = jobs;
      void service.resume().catch((error: unknown) => log.error({ err: error }, 'could not resume unfinished jobs'));
    } else if (jobs) {
      const service = jobs;
      jobs = null;
      void service.stop();
    }
  });

  const metrics = registerSupervisionMetrics(gateway.metrics, { runtime, stats$: runtime.stats$, hub, jobs: () => jobs });
  const table = createCommandTable({
    runtime,
    jobs: () => jobs,
    applyTenantConfigFile: async (tenant, principal) => (await applyTenantConfig(runtime, tenant, configSource.tenant(tenant), principal)).positions,
    jobGrants: (tenant) => configSource.jobGrants(tenant),
  });
  const local: CommandDispatcher = async (name, tenant, args, principal, expectedRevision) => {
    const label = table.names.includes(name) ? name : 'unknown';
    try {
      const result = await table.dispatch(name, tenant, args, principal, expectedRevision);
      metrics.command(label, 'ok');
      return result;
    } catch (error) {
      metrics.command(label, isCorralError(error) ? error.code : 'internal');
      throw error;
    }
  };
  // Any node takes commands: a follower forwards them to the leader's own process
  // (docs/operations.md, "Commands on any node").
  const forwarding = forwardingDispatcher({
    local,
    runsActors: () => runtime.status().state === 'running',
    leads: () => lease.isLeader,
    // The lease as stored, not as this node's keeper last saw it: a node that is stopping (its
    // keeper stopped after releasing the lease) still finds the successor that took it.
    leaderAddress: async () => {
      const [latest] = await store.readStream(LEADER_STREAM, { direction: 'backward', limit: 1 }).catch(() => []);
      return leaderAddress((latest?.data as LeaderLease | undefined) ?? lease.current(), componentKey, dataDir);
    },
    tokens: context.tokens,
  });
  const commands = forwarding.dispatch;
  registerForwardRoute(gateway, { runForwarded: forwarding.runForwarded, tokens: context.tokens });
  services.commands = commands;
  services.actors = runtime;
  registerCommandRoutes(gateway, { dispatch: commands, roleOf: table.roleOf, engine: services.engine ?? null });
  registerLogRoutes(gateway, { store: context.store });
  gateway.capabilities.add('http.commands');
  gateway.capabilities.add('http.logs');

  const localMinion = context.localMinion ? new LocalMinion({ dataDir, id: localMinionId, grains: config.minion.grains, log }) : null;
  let keepMinionRequested = false;
  let control: ControlSocket | null = null;
  let bootstrapped: Promise<void> | null = null;

  const lead = (): Promise<void> =>
    (bootstrapped ??= runtime.start().then(async () => {
      log.info({ leader: componentKey }, 'leading: running the actors');
      // Only the sections changed since they were last applied: a restart (after a crash, or
      // rolling) keeps what was changed through the API (docs/operations.md).
      await applyConfig(runtime, configSource.read(), log, 'when-changed');
    }));

  return {
    async listening() {
      localMinion?.ensureRunning();
      localMinion?.supervise(() => lease.isLeader);
      const started = lead();
      started.catch((error: unknown) => log.error({ err: error }, 'the actor runtime failed to start'));
      const waitMs = options.leadWaitMs ?? 2000;
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        started.then(() => true, () => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), waitMs))),
      ]);
      clearTimeout(timer);
      if (!waited) log.info({ leaderUrl: runtime.leaderUrl() }, 'not leading yet (another node holds the lease): serving as a follower until it is released or expires');
      control = await openControlSocket(
        join(dataDir, CONTROL_SOCKET),
        controlHandlers({
          context,
          runtime,
          hub,
          jobs: () => jobs,
          localMinion,
          configSource,
          log,
          requestStop: (keepMinion) => {
            keepMinionRequested = keepMinion;
          },
        }),
        log,
      ).catch((error: unknown) => {
        log.error({ err: error }, 'could not open the command socket; corral ctl will not reach this node');
        return null;
      });
    },
    async stop(info: StopInfo) {
      await control?.close();
      localMinion?.stopSupervising();
      const keepMinion = info.keepMinion || keepMinionRequested;
      // The minion first, while the runtime still records what it reports (the exits). It is
      // shared by every server of the data directory: only the last one to stop takes it along.
      const remaining = localMinion && !keepMinion ? otherLiveNodes(dataDir) : [];
      if (remaining.length > 0) {
        log.info({ servers: remaining.map((record) => record.pid) }, 'another server of this data directory still runs: leaving the local minion and its processes to it');
      } else if (localMinion && !keepMinion) {
        // recorded as stops (not crashes) while the runtime still leads, then the minion goes
        await runtime.stopLocalProcesses(20_000).catch((error: unknown) => log.warn({ err: error }, 'could not record the stop of the local processes'));
        await localMinion.stop();
      }
      leadership.unsubscribe();
      await runtime.stop();
      const service = jobs;
      jobs = null;
      await service?.stop();
      await hub.close(info.closeCode, info.closeCode === 1012 ? 'server restarting' : 'server going away');
      metrics.stop();
    },
  };
}

/** What a minion's token proves: it may serve the tenants it grants at least `operate` on. */
function minionIdentityOf(principal: Principal): MinionIdentity {
  const tenants = Object.entries(principal.tenants)
    .filter(([, role]) => roleIncludes(role, 'operate'))
    .map(([tenant]) => tenant);
  return { subject: principal.subject, tenants, source: principal.source, minion: principal.minion };
}

/** Tenants a `*` minion serves: those of the configuration plus every active tenant the runtime knows. */
function activeTenants(runtime: ActorRuntime | undefined, configured: string[]): string[] {
  const tenants = new Set(configured);
  if (runtime) {
    for (const cell of runtime.engine.cells.values()) {
      if (cell.kind === 'tenant' && (cell.snapshot as unknown as { value: string }).value === 'active') tenants.add(cell.tenant);
    }
  }
  return [...tenants].sort();
}
