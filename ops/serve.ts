import { hostname } from 'node:os';
import { chmodSync, existsSync, readFileSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CorralError, openStore, writeFileAtomicSync, type EventStore } from '../store/index.js';
import type { ComponentState } from '../actors/index.js';
import {
  ADMIN_TOKEN_FILE,
  Authenticator,
  Gateway,
  TokenService,
  instrumentStore,
  loadOrCreateSecret,
  writeAdminToken,
  ADMIN_TOKEN_SUBJECT,
} from '../gateway/index.js';
import type { CorralConfig } from './config/index.js';
import { createLogger } from './logging.js';
import { defaultNodeModules } from './modules.js';
import type { NodeContext, NodeModule, StartedModule, StopInfo } from './node-module.js';
import { packageVersion } from './version.js';
import { claimPort, currentServeCommand, notifyServiceManager, openNodeAdmin, otherLiveNodes, type NodeAdmin } from './rolling/index.js';

/** The newest model API this build speaks (docs/operations.md "Rolling restart on one machine"). */
export const MODEL_API = { min: 1, max: 2 } as const;
export const SERVER_FILE = 'server.json';
const ADMIN_TOKEN_TTL_MS = 365 * 86_400_000;
/** how long a restarting node serves kept-alive connections (with `Connection: close`) at most */
const STOP_DRAIN_MS = 2000;
/** how long a stopping node waits for requests it is still answering */
const STOP_REQUESTS_MS = 15_000;

export interface NodeOptions {
  config: CorralConfig;
  logger?: Logger;
  /** `--model-api-max` */
  modelApiMax?: number;
  /** `--no-local-minion` */
  noLocalMinion?: boolean;
  /** default: defaultNodeModules() */
  modules?: NodeModule[];
  /** stop gracefully on SIGTERM/SIGINT and write a report on SIGUSR2 (the CLI does; in-process tests don't) */
  handleSignals?: boolean;
}

export interface RunningNode {
  url: string;
  host: string;
  port: number;
  dataDir: string;
  /** an admin token on `*` (also in `<dataDir>/admin.token`) */
  adminToken: string;
  /** the console URL with the token (printed at start only to a terminal) */
  consoleUrl: string;
  gateway: Gateway;
  store: EventStore;
  log: Logger;
  /** graceful stop; safe to call more than once */
  stop(info?: Partial<StopInfo>): Promise<void>;
  /** resolves when the node has stopped (by stop() or a signal) */
  stopped: Promise<void>;
}

const LOOPBACK = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|\[::1\])$/;
export const isLoopbackHost = (host: string): boolean => LOOPBACK.test(host);

/**
 * Composes and starts one control-plane node: config -> secret and tokens -> store ->
 * gateway with its modules -> listen -> running -> server.json. The same function runs
 * under `corral serve` and in-process in tests.
 */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const { config } = options;
  const log = options.logger ?? createLogger();
  const { host, port, dataDir } = config.server;
  if (config.auth.mode === 'none' && !isLoopbackHost(host)) {
    throw new CorralError(
      'bad-request',
      `auth: none requires a loopback host (127.0.0.1, ::1 or localhost); refusing to listen on ${host}. Configure auth, or bind to 127.0.0.1.`,
      { field: 'server.host' },
    );
  }
  const modelApiMax = options.modelApiMax ?? MODEL_API.max;
  if (!Number.isInteger(modelApiMax) || modelApiMax < MODEL_API.min || modelApiMax > MODEL_API.max) {
    throw new CorralError('bad-request', `--model-api-max must be an integer from ${MODEL_API.min} to ${MODEL_API.max} (got ${modelApiMax})`);
  }
  // Signals are handled from the very start: a SIGTERM that arrives while starting up
  // stops the node as soon as it has started, instead of killing it half-initialized.
  let requestStop: (() => void) | null = null;
  let stopRequestedEarly = false;
  const removeSignalHandlers = options.handleSignals
    ? installSignalHandlers(() => (requestStop ? requestStop() : (stopRequestedEarly = true)), log, dataDir)
    : () => undefined;
  const version = packageVersion();
  const componentKey = `${hostname()}:${process.pid}`;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  restrictDataDir(dataDir, log);

  const { secret, created } = loadOrCreateSecret(dataDir);
  if (created) log.info({ path: join(dataDir, 'secret') }, 'created the signing secret');
  const tokens = new TokenService({
    secret,
    external: config.auth.mode === 'tokens' ? config.auth.jwt : null,
    rules: config.auth.mode === 'tokens' ? config.auth.rules : [],
  });
  const authenticator =
    config.auth.mode === 'none'
      ? new Authenticator({ mode: 'none' })
      : new Authenticator({ mode: 'tokens', tokens, users: config.auth.users, loginTtlMs: config.auth.tokenTtlMs });

  let state: ComponentState = 'initializing';
  const store = await openStore({ kind: config.store.kind, dataDir: join(dataDir), ...(config.store.url ? { url: config.store.url } : {}) });
  const gateway = new Gateway({
    authenticator,
    logger: log,
    version,
    componentState: () => state,
    modelApi: () => ({ system: modelApiMax, min: MODEL_API.min, max: modelApiMax }),
  });
  instrumentStore(gateway.metrics, store);
  // A store that cannot write (a full disk) makes the node not ready; reads and websockets
  // keep working, and readiness returns by itself once a write succeeds (docs/operations.md).
  gateway.addReadinessCheck('store', () => {
    const health = store.writeHealth();
    return health.ok ? true : `cannot write since ${new Date(health.since).toISOString()}: ${health.reason}`;
  });

  let url = '';
  const context: NodeContext = {
    config,
    store,
    gateway,
    tokens,
    log,
    dataDir,
    componentKey,
    version,
    modelApiMax,
    localMinion: config.minion.local && !options.noLocalMinion,
    url: () => url,
    setComponentState: (next) => {
      if (state !== 'stopped') state = next;
    },
    componentState: () => state,
  };

  const started: { name: string; module: StartedModule }[] = [];
  const stopModules = async (info: StopInfo): Promise<void> => {
    const first = started[0]?.module;
    for (const { name, module } of [...started].reverse()) {
      // The first module started (the projections) answers the reads: it stops only after a
      // drain ended (every kept-alive connection in use was handed over by its next request).
      if (module === first) {
        await gateway.drained();
        gateway.stopServing();
      }
      try {
        await module.stop?.(info);
      } catch (error) {
        log.error({ err: error, module: name }, 'module failed to stop cleanly');
      }
    }
  };

  try {
    for (const module of options.modules ?? defaultNodeModules()) {
      const result = await module.start(context);
      started.push({ name: module.name, module: result ?? {} });
      log.debug({ module: module.name }, 'module started');
    }
    // A port held by a corral server of this data directory is shared (SO_REUSEPORT, see
    // ops/rolling/shared-port.ts); then this node joins it only once ready, because the
    // kernel hands new connections to every listener, ready or not.
    const claim = await claimPort({ host, port, dataDir });
    if (claim.kind === 'free') {
      const boundPort = await gateway.listen(host, port);
      url = `http://${urlHost(host)}:${boundPort}`;
      for (const { module } of started) await module.listening?.(url);
    } else {
      log.info({ port, sharedWith: claim.with.map((node) => node.pid) }, `port ${port} is served by corral ${claim.with.map((node) => node.pid).join(', ')} on this data directory: joining it once ready`);
      url = `http://${urlHost(host)}:${port}`;
      for (const { module } of started) await module.listening?.(url);
      await gateway.listen(host, port);
    }
  } catch (error) {
    gateway.stopListening();
    await stopModules({ closeCode: 1001, keepMinion: true });
    await store.close().catch(() => undefined);
    removeSignalHandlers();
    throw error;
  }

  const boundPort = gateway.port;
  const admin = await tokens.issue({ subject: ADMIN_TOKEN_SUBJECT, tenants: { '*': 'admin' }, ttlMs: ADMIN_TOKEN_TTL_MS });
  writeAdminToken(dataDir, admin.token);
  if (state === 'initializing') state = 'running';
  const consoleUrl = `${url}/?token=${admin.token}`;
  log.info({ url, port: boundPort, dataDir, store: store.kind, auth: authenticator.mode }, `corral ${version} listening on ${url} (port ${boundPort})`);
  logConsoleUrl(log, { url, consoleUrl, tokenFile: join(dataDir, ADMIN_TOKEN_FILE), auth: authenticator.mode, terminal: process.stdout.isTTY === true });
  // systemd (Type=notify): ready, and the main process; before this node becomes visible to a rolling restart.
  if (options.handleSignals) await notifyServiceManager(`serving ${url}`, log);
  // Per-process address (<dataDir>/nodes/<pid>.{json,sock}) for rolling restarts; only for
  // `corral serve` (one node per process), not for nodes tests start in-process.
  const nodeAdmin: NodeAdmin | null = !options.handleSignals ? null : await openNodeAdmin({
    dataDir, gateway, host, port: boundPort, requestedPort: port, url, version, modelApiMax, log,
    command: currentServeCommand(),
    stop: (info) => node.stop(info),
  }).catch((error: unknown) => {
    log.error({ err: error }, 'could not open the per-node command socket; corral ctl restart --rolling will not reach this node');
    return null;
  });
  // Last: server.json tells scripts and tests the node is ready.
  const serverFile = join(dataDir, SERVER_FILE);
  writeJsonAtomically(serverFile, { pid: process.pid, port: boundPort, url, host, version, startedAt: new Date().toISOString() });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let stopping: Promise<void> | null = null;

  const node: RunningNode = {
    url,
    host,
    port: boundPort,
    dataDir,
    adminToken: admin.token,
    consoleUrl,
    gateway,
    store,
    log,
    stopped,
    stop(info = {}) {
      stopping ??= (async () => {
        const full: StopInfo = { closeCode: info.closeCode ?? 1001, keepMinion: info.keepMinion ?? false };
        log.info({ closeCode: full.closeCode }, 'stopping');
        state = 'stopped';
        // Restarting: the successor already listens on the shared port, so closing the listen
        // socket sends every new connection there; requests on kept-alive connections are still
        // served (with `Connection: close`) while this node stops, and their next one reaches it.
        gateway.stopListening({ drainMs: full.closeCode === 1012 ? STOP_DRAIN_MS : 0 });
        gateway.closeWebSockets(full.closeCode, full.closeCode === 1012 ? 'server restarting' : 'server going away');
        await stopModules(full);
        // Answers still owed (a command forwarded to the successor) go out before the store
        // closes and the process exits, which would reset their connections.
        await gateway.router.idle(STOP_REQUESTS_MS);
        try {
          await store.close();
        } catch (error) {
          log.error({ err: error }, 'event store failed to close cleanly');
        }
        await nodeAdmin?.close().catch((error: unknown) => log.error({ err: error }, 'could not remove this node from <dataDir>/nodes'));
        releaseServerFile(serverFile, dataDir);
        removeSignalHandlers();
        log.info('stopped');
        resolveStopped();
      })();
      return stopping;
    },
  };
  requestStop = () => void node.stop();
  if (stopRequestedEarly) requestStop();
  return node;
}

/**
 * The admin token is admin on every tenant for a year: it is printed (in the console URL,
 * like Jupyter) only to a person at a terminal. A log that is a file, journald or a
 * container's output is read by more people and kept longer, so it gets the path of the
 * token file instead (README "Authentication").
 */
function logConsoleUrl(log: Logger, options: { url: string; consoleUrl: string; tokenFile: string; auth: 'none' | 'tokens'; terminal: boolean }): void {
  const { url, consoleUrl, tokenFile } = options;
  if (options.auth === 'none') log.info(`console: ${url}/`);
  else if (options.terminal) log.info(`console: ${consoleUrl}`);
  else log.info({ tokenFile }, `console: ${url}/ (sign in with the admin token in ${tokenFile})`);
}

/**
 * The data directory holds the signing secret, the admin token and the store, whose files
 * LMDB creates 0644: only the directory's own mode keeps other users out of them. `mkdir`
 * sets 0700 on a directory it creates, not on one that already existed (a plain `mkdir
 * .corral` is 0755), so an existing one is restricted here (docs/operations.md, "A node and
 * its data directory").
 */
function restrictDataDir(dataDir: string, log: Logger): void {
  const mode = statSync(dataDir).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  const octal = (value: number): string => `0${value.toString(8)}`;
  try {
    chmodSync(dataDir, mode & 0o700);
    log.info({ dataDir, was: octal(mode) }, `restricted the data directory ${dataDir} to mode ${octal(mode & 0o700)} (it was ${octal(mode)})`);
  } catch (error) {
    log.warn(
      { dataDir, mode: octal(mode), err: error },
      `the data directory ${dataDir} is mode ${octal(mode)} and could not be restricted (${(error as NodeJS.ErrnoException).code}): other users may read the store; run chmod 700 ${dataDir} as its owner`,
    );
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function writeJsonAtomically(path: string, value: unknown): void {
  writeFileAtomicSync(path, `${JSON.stringify(value, null, 2)}\n`, 0o644);
}

/**
 * Another server may share the data directory (a rolling restart, a second server): only our
 * own file is touched, and it is handed to the oldest server still running rather than
 * removed, so the local minion and `corral` keep finding a live server.
 */
function releaseServerFile(path: string, dataDir: string): void {
  try {
    if (!existsSync(path)) return;
    const current = JSON.parse(readFileSync(path, 'utf8')) as { pid?: number };
    if (current.pid !== process.pid) return;
    const heir = otherLiveNodes(dataDir)[0];
    if (heir) writeJsonAtomically(path, { pid: heir.pid, port: heir.port, url: heir.url, host: heir.host, version: heir.version, startedAt: heir.startedAt });
    else rmSync(path, { force: true });
  } catch {
    // unreadable or half-written by another process: leave it to its owner
  }
}

function installSignalHandlers(stop: () => void, log: Logger, dataDir: string): () => void {
  let signalled = 0;
  const onStop = (signal: NodeJS.Signals): void => {
    signalled++;
    if (signalled > 1) {
      log.warn({ signal }, 'second stop signal: exiting at once');
      process.exit(1);
    }
    log.info({ signal }, 'stop signal received');
    stop();
  };
  const onReport = (): void => {
    // SIGUSR2: a diagnostic report (stacks, heap, handles) and keep running (docs/operations.md).
    const file = join(dataDir, `report-${process.pid}-${Date.now()}.json`);
    try {
      process.report.writeReport(file);
      log.info({ file }, 'wrote diagnostic report');
    } catch (error) {
      log.error({ err: error }, 'could not write diagnostic report');
    }
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGUSR2', onReport);
  return () => {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGUSR2', onReport);
  };
}
