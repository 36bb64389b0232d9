import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CorralError } from '../store/index.js';
import type { ComponentState } from '../actors/index.js';
import { closeListenSocket, createApp, listenSocketPort, type ListenSocket, type TemplatedApp, type WebSocket, type WebSocketBehavior } from './uws.js';
import { Router, errorToHttp, refuseForeignOrigin, refuseNonLoopbackHost, statusLine } from './http/index.js';
import type { Authenticator } from './auth/index.js';
import { createMetricsRegistry, instrumentHttp } from './metrics.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerInfoRoutes } from './routes/info.js';
import { registerLoginRoute } from './routes/login.js';
import { registerMetricsRoute } from './routes/metrics.js';

export interface ModelApiInfo {
  /** the cluster's system model API (minimum `max` over live servers) */
  system: number;
  min: number;
  max: number;
}

/** Passes with `true`; fails with a reason. */
export type ReadinessCheck = () => true | string;

export interface Readiness {
  ready: boolean;
  state: ComponentState;
  /** reasons of the checks that did not pass */
  waitingFor: string[];
}

export interface GatewayOptions {
  authenticator: Authenticator;
  logger: Logger;
  version: string;
  /** this node's component state (ready only while `running` or `paused`) */
  componentState: () => ComponentState;
  /** default: system = max = 2, min = 1, until projections provide the registry's view */
  modelApi?: () => ModelApiInfo;
  metrics?: Registry;
}

/**
 * The HTTP and websocket server of one node. Other modules plug in through it:
 * `router` for HTTP routes, `ws()` for websocket endpoints, `metrics` for Prometheus,
 * `capabilities` for /info, `addReadinessCheck` and `setModelApiProvider`.
 */
export class Gateway {
  readonly app: TemplatedApp;
  readonly router: Router;
  readonly metrics: Registry;
  readonly authenticator: Authenticator;
  readonly log: Logger;
  readonly version: string;
  /** advertised in /api/v1/info; modules add theirs (`ws.native`, `ws.drp`, `ws.salt`, ...) */
  readonly capabilities = new Set<string>(['http.v1', 'auth.jwt', 'auth.login', 'metrics.prometheus']);
  private readonly componentState: () => ComponentState;
  private modelApi: () => ModelApiInfo;
  private readonly readinessChecks = new Map<string, ReadinessCheck>();
  private readonly openSockets = new Set<WebSocket<unknown>>();
  private listenSocket: ListenSocket | null = null;
  private boundPort = 0;
  private drainTimer: NodeJS.Timeout | null = null;
  private drainEnded: Promise<void> | null = null;
  private endDrain: (() => void) | null = null;

  constructor(options: GatewayOptions) {
    this.app = createApp();
    this.log = options.logger;
    this.version = options.version;
    this.authenticator = options.authenticator;
    this.componentState = options.componentState;
    this.modelApi = options.modelApi ?? (() => ({ system: 2, min: 1, max: 2 }));
    this.metrics = options.metrics ?? createMetricsRegistry();
    this.router = new Router({ authenticator: options.authenticator, logger: options.logger, loopbackHostsOnly: options.authenticator.mode === 'none' });
    this.router.observe(instrumentHttp(this.metrics));
    if (this.log.isLevelEnabled('debug')) this.router.observe((request) => this.log.debug(request, 'http request'));
    if (options.authenticator.mode === 'none') this.capabilities.delete('auth.login');
    registerHealthRoutes(this);
    registerMetricsRoute(this);
    registerInfoRoutes(this);
    registerLoginRoute(this);
  }

  /**
   * Registers a websocket endpoint. Use this rather than `app.ws` so a stop can close
   * every socket with the right code (1001 going away, 1012 restarting).
   */
  ws<UserData>(pattern: string, behavior: WebSocketBehavior<UserData>): this {
    const sockets = this.openSockets as Set<WebSocket<UserData>>;
    const noAuth = this.authenticator.mode === 'none';
    this.app.ws<UserData>(pattern, {
      ...behavior,
      upgrade: (res, req, context) => {
        // With `auth: none` an open socket is admin: a page of another site (Origin) or one
        // reaching us by DNS rebinding (Host) must not open one (README "Requests from
        // browsers"). With tokens a page has no credential of its visitor to send along.
        if (noAuth) {
          const headers = { host: req.getHeader('host'), origin: req.getHeader('origin') };
          try {
            if (headers.host !== '') refuseNonLoopbackHost(headers);
            if (headers.origin !== '') refuseForeignOrigin(headers);
          } catch (error) {
            const { status, body } = errorToHttp(error);
            res.cork(() => res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json').end(JSON.stringify(body)));
            return;
          }
        }
        if (behavior.upgrade) return behavior.upgrade(res, req, context);
        res.upgrade({} as UserData, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
      },
      open: (ws) => {
        sockets.add(ws);
        return behavior.open?.(ws);
      },
      close: (ws, code, message) => {
        sockets.delete(ws);
        behavior.close?.(ws, code, message);
      },
    });
    return this;
  }

  get openWebSocketCount(): number {
    return this.openSockets.size;
  }

  addReadinessCheck(name: string, check: ReadinessCheck): () => void {
    this.readinessChecks.set(name, check);
    return () => this.readinessChecks.delete(name);
  }

  setModelApiProvider(provider: () => ModelApiInfo): void {
    this.modelApi = provider;
  }

  readiness(): Readiness {
    const state = this.componentState();
    const waitingFor: string[] = [];
    if (state !== 'running' && state !== 'paused') waitingFor.push(`component state is ${state}`);
    for (const [name, check] of this.readinessChecks) {
      let result: true | string;
      try {
        result = check();
      } catch (error) {
        result = `check failed: ${(error as Error).message}`;
      }
      if (result !== true) waitingFor.push(`${name}: ${result}`);
    }
    return { ready: waitingFor.length === 0, state, waitingFor };
  }

  info(): { version: string; capabilities: string[]; modelApi: ModelApiInfo; auth: 'none' | 'tokens' } {
    return { version: this.version, capabilities: [...this.capabilities].sort(), modelApi: this.modelApi(), auth: this.authenticator.mode };
  }

  get port(): number {
    return this.boundPort;
  }

  /** Listens; resolves with the bound port (the real one for port 0). */
  listen(host: string, port: number): Promise<number> {
    if (this.listenSocket) throw new Error('gateway is already listening');
    this.router.attach(this.app);
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new CorralError('unavailable', `cannot listen on ${host}:${port} (address in use, or not an address of this host)`));
          return;
        }
        this.listenSocket = socket;
        this.boundPort = listenSocketPort(socket);
        resolve(this.boundPort);
      });
    });
  }

  /**
   * Stops accepting connections. Requests that still arrive on kept-alive connections are
   * answered 503 with `Connection: close`, which ends those connections too.
   *
   * With `drainMs` (a rolling restart: the successor listens on the shared port) they are
   * served normally instead, each with `Connection: close`, so a kept-alive client's next
   * request goes to the successor and never fails. Every connection in use is thereby handed
   * over by its next request: the drain ends once no request arrived for `quietMs`
   * (default 500), at the latest after `drainMs`. `drained()` resolves then; `stopServing()`
   * ends it at once.
   */
  stopListening(options: { drainMs?: number; quietMs?: number } = {}): void {
    const drainMs = options.drainMs ?? 0;
    if (drainMs > 0 && !this.router.closing && !this.router.draining) this.drain(drainMs, Math.min(options.quietMs ?? 500, drainMs));
    else if (!this.router.draining) this.stopServing();
    if (!this.listenSocket) return;
    closeListenSocket(this.listenSocket);
    this.listenSocket = null;
  }

  /** Resolves when a drain ended (at once when there is none). */
  drained(): Promise<void> {
    return this.drainEnded ?? Promise.resolve();
  }

  /** From now on requests are answered 503 with `Connection: close` (ends a drain). */
  stopServing(): void {
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = null;
    this.router.draining = false;
    this.router.closing = true;
    this.endDrain?.();
  }

  private drain(drainMs: number, quietMs: number): void {
    const started = performance.now();
    this.router.draining = true;
    this.drainEnded = new Promise((resolve) => (this.endDrain = resolve));
    const check = (): void => {
      const now = performance.now();
      const quietFor = now - Math.max(started, this.router.lastRequestAt);
      if (quietFor >= quietMs || now - started >= drainMs) return this.stopServing();
      this.drainTimer = setTimeout(check, Math.max(1, Math.min(quietMs - quietFor, drainMs - (now - started))));
      this.drainTimer.unref();
    };
    check();
  }

  /** Closes every websocket with `code` (1001 going away; 1012 restarting: reconnect and resume). */
  closeWebSockets(code: 1001 | 1012, reason: string): void {
    for (const ws of [...this.openSockets]) {
      try {
        ws.end(code, reason);
      } catch {
        // already closed by the peer
      }
    }
    this.openSockets.clear();
  }
}
