/**
 * The minion agent: one websocket to `<server>/minion`, the supervisor and the job runner.
 *
 * The agent outlives its connection: managed processes and jobs keep running while the server
 * is away (a server upgrade must not restart anything). It reconnects with exponential backoff
 * and jitter (200 ms doubling up to 5 s), says `hello` with the processes it still runs (the
 * server reconciles), and resends every unacknowledged report.
 *
 * Fatal closes: 4001/4003 (and HTTP 401/403 at the upgrade) mean the token is wrong; a
 * protocol-version mismatch cannot heal by retrying. Then the agent stops reconnecting and
 * `done` resolves with the reason (the CLI stops the managed processes and exits non-zero).
 * So does a --server-file or --token-file whose directory was removed (the server's data
 * directory is gone). Anything else reconnects.
 *
 * Losing the id is not fatal (docs/security.md, "Minion identity"): 4409 (a connection with
 * this minion's own credential replaced it) and 4403 (the id is bound to another credential)
 * keep every managed process running and retry slowly (30 s doubling to 5 min), so a rogue
 * connection can never make a minion stop what it runs, and two minions sharing one id do not
 * fight in a tight loop.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import WebSocket from 'ws';
import { defaultMinionId, type MinionCommand } from '../../actors/index.js';
import {
  CLOSE_FORBIDDEN,
  CLOSE_ID_BOUND,
  CLOSE_INCOMPATIBLE,
  CLOSE_REPLACED,
  CLOSE_UNAUTHENTICATED,
  decodeServerFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  PROTOCOL_MAX,
  PROTOCOL_MIN,
  ProtocolError,
  refusedJobOf,
  type MinionFrame,
  type WelcomeFrame,
} from '../../gateway/minion/index.js';
import { packageVersion } from '../version.js';
import { collectGrains } from './grains.js';
import { JobRunner } from './jobs.js';
import { silentLogger, type Logger } from '../../store/index.js';
import { ReportOutbox, type OutboxOptions } from './outbox.js';
import { stopOrphans } from './orphans.js';
import { Supervisor, type SupervisorOptions } from './supervisor.js';

export interface MinionAgentOptions {
  /** the server's base URL (http, https, ws or wss); `/minion` is appended when the path is empty */
  server?: string;
  /**
   * Instead of `server`: a JSON file with the server's `url` (`<dataDir>/server.json`), read
   * again before every connection attempt, so the local minion follows a server restarted on
   * another port.
   */
  serverFile?: string;
  token?: string;
  /** instead of `token`: a file holding it (`<dataDir>/admin.token`), read before every attempt */
  tokenFile?: string;
  /** default: the host name, lower-cased, other characters than [a-z0-9_-] turned into `-` */
  id?: string;
  /** tenants to serve; empty: every tenant the token grants */
  tenants?: string[];
  /** custom grains (`--grain k=v`) */
  grains?: Record<string, unknown>;
  logger?: Logger;
  maxConcurrentJobs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** first retry after losing the id (4409 replaced, 4403 bound elsewhere); doubles up to `idRetryMaxMs` */
  idRetryMinMs?: number;
  idRetryMaxMs?: number;
  /** how often the agent pings the server; a server silent for 3 periods is considered dead */
  heartbeatMs?: number;
  supervisor?: Omit<SupervisorOptions, 'report' | 'outputBlocked' | 'logger'>;
  outbox?: Omit<OutboxOptions, 'onDrained'>;
}

export type AgentState = 'connecting' | 'connected' | 'disconnected' | 'stopped';
export interface AgentResult {
  /** why the agent gave up, or null after a requested shutdown */
  fatal: string | null;
}


/** `http://h:8080` -> `ws://h:8080/minion`; an explicit path is kept. */
export function minionUrl(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new Error(`--server ${JSON.stringify(server)}: not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  const scheme = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }[url.protocol];
  if (!scheme) throw new Error(`--server ${JSON.stringify(server)}: expected an http(s) or ws(s) URL`);
  url.protocol = scheme;
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/minion';
  return url.toString();
}

export class MinionAgent {
  readonly id: string;
  readonly supervisor: Supervisor;
  readonly jobs: JobRunner;
  readonly outbox: ReportOutbox;
  /** resolves when the agent stopped for good */
  readonly done: Promise<AgentResult>;
  private resolveDone!: (result: AgentResult) => void;
  private ws: WebSocket | null = null;
  private currentState: AgentState = 'disconnected';
  private attempt = 0;
  /** times the id was lost in a row (a connection that lasted `idRetryMaxMs` starts over) */
  private idLosses = 0;
  private welcomedAt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastHeard = 0;
  private welcome: WelcomeFrame | null = null;
  private readonly logger: Logger;
  private url: string;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: MinionAgentOptions) {
    if (!options.server === !options.serverFile) throw new Error('give exactly one of --server and --server-file');
    if (!options.token === !options.tokenFile) throw new Error('give exactly one of --token and --token-file');
    this.url = options.server ? minionUrl(options.server) : `(from ${options.serverFile})`;
    this.id = options.id ?? defaultMinionId();
    this.logger = options.logger ?? silentLogger;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.outbox = new ReportOutbox({ ...options.outbox, onDrained: () => this.supervisor.resumeOutput() });
    this.supervisor = new Supervisor({
      ...options.supervisor,
      report: this.outbox.push,
      outputBlocked: this.outbox.blocked,
      logger: this.logger,
      minionId: this.id,
    });
    const grains = collectGrains(options.grains);
    this.jobs = new JobRunner({
      minionId: this.id,
      report: this.outbox.push,
      grains: () => grains,
      supervisor: this.supervisor,
      maxConcurrent: options.maxConcurrentJobs ?? 8,
      logger: this.logger,
    });
  }

  get state(): AgentState {
    return this.currentState;
  }
  /** the server's welcome on the current connection */
  get session(): WelcomeFrame | null {
    return this.welcome;
  }

  start(): this {
    if (this.currentState === 'stopped') throw new Error('minion agent already stopped');
    // First the runs a dead predecessor of this id left behind (orphans.ts), so the hello
    // lists exactly what runs and the server replaces each missing run once.
    void stopOrphans(this.id, { self: process.pid })
      .then(
        (pids) => {
          if (pids.length > 0) this.logger.warn({ pids }, `stopped ${pids.length} process(es) a previous minion ${this.id} left running`);
        },
        (error: unknown) => this.logger.warn({ err: error }, 'could not look for processes a previous minion left running'),
      )
      .then(() => this.connect());
    const heartbeatMs = this.options.heartbeatMs ?? 10_000;
    this.heartbeatTimer = setInterval(() => this.heartbeat(heartbeatMs), heartbeatMs);
    this.heartbeatTimer.unref();
    return this;
  }

  /** Resolves once the agent is connected and welcomed (for tests and `corral serve`). */
  waitConnected(timeoutMs = 30_000): Promise<void> {
    if (this.currentState === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        reject(new Error(`minion ${this.id} did not connect to ${this.url} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.add(done);
    });
  }

  /**
   * Stops the agent. With `stopProcesses` (the default; what SIGTERM does) every managed
   * process gets its stop signal, then SIGKILL after its stopWaitMs, and their `exited`
   * reports are given up to `flushMs` to reach the server before the socket closes.
   */
  async shutdown({ stopProcesses = true, flushMs = 2000, fatal = null as string | null } = {}): Promise<void> {
    if (this.currentState === 'stopped') return;
    this.setState('stopped');
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.jobs.cancelAll();
    if (stopProcesses) await this.supervisor.stopAll();
    const deadline = Date.now() + flushMs;
    while (this.ws && this.welcome && this.outbox.pending > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.supervisor.close();
    this.ws?.close(1000, 'minion shutting down');
    this.ws = null;
    this.resolveDone({ fatal });
  }

  private setState(state: AgentState): void {
    this.currentState = state;
    if (state === 'connected') {
      for (const waiter of this.waiters) waiter();
      this.waiters.clear();
    }
  }

  /** The URL and token for the next attempt (re-read from their files when configured). */
  private target(): { url: string; token: string } {
    const { serverFile, tokenFile } = this.options;
    if (serverFile) {
      const info = JSON.parse(readFileSync(serverFile, 'utf8')) as { url?: unknown };
      if (typeof info.url !== 'string') throw new Error(`${serverFile}: no "url" field`);
      this.url = minionUrl(info.url);
    }
    const token = tokenFile ? readFileSync(tokenFile, 'utf8').trim() : this.options.token!;
    if (!token) throw new Error(`${tokenFile}: empty token file`);
    return { url: this.url, token };
  }

  /** The directory of --server-file or --token-file when it no longer exists (the file may be missing for a while; its directory may not). */
  private goneFileDirectory(): string | null {
    for (const file of [this.options.serverFile, this.options.tokenFile]) {
      if (file !== undefined && !existsSync(dirname(file))) return dirname(file);
    }
    return null;
  }

  private connect(): void {
    if (this.currentState === 'stopped') return;
    this.setState('connecting');
    let target: { url: string; token: string };
    try {
      target = this.target();
    } catch (error) {
      const gone = this.goneFileDirectory();
      if (gone !== null) {
        // a local minion whose server's data directory was removed: nothing will ever write
        // the files again, so retrying would only leave an orphan behind
        this.giveUp(`${gone} is gone (the server's data directory was removed): not reconnecting`);
        return;
      }
      // the server may not have written its files yet: retry like a refused connection
      this.logger.warn({ error: (error as Error).message }, 'cannot tell where the server is yet');
      this.ws = null;
      this.setState('disconnected');
      this.scheduleReconnect();
      return;
    }
    const ws = new WebSocket(target.url, {
      headers: { authorization: `Bearer ${target.token}` },
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 10_000,
      perMessageDeflate: false,
    });
    this.ws = ws;
    let fatal: string | null = null;
    ws.on('open', () => {
      this.lastHeard = Date.now();
      this.sendFrame(ws, {
        t: 'hello',
        protocol: { min: PROTOCOL_MIN, max: PROTOCOL_MAX },
        id: this.id,
        version: packageVersion(),
        grains: collectGrains(this.options.grains),
        tenants: this.options.tenants ?? [],
        running: this.supervisor.running(),
      });
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.lastHeard = Date.now();
      try {
        if (!isBinary) throw new Error('text frame from the server');
        const frame = decodeServerFrame(data);
        switch (frame.t) {
          case 'welcome':
            this.welcome = frame;
            this.attempt = 0;
            this.welcomedAt = Date.now();
            this.setState('connected');
            this.logger.info({ minion: frame.id, tenants: frame.tenants, protocol: frame.protocol, server: frame.server }, 'minion connected');
            this.outbox.attach((report) => this.sendFrame(ws, report));
            return;
          case 'command':
            return this.execute(frame.command);
          case 'ack':
            return this.outbox.ack(frame.seq);
          case 'ping':
            return this.sendFrame(ws, { t: 'pong', ts: frame.ts });
          case 'pong':
            return;
        }
      } catch (error) {
        const message = (error as Error).message;
        const refused = isBinary && error instanceof ProtocolError ? refusedJobOf(data) : null;
        if (refused && this.serves(refused.tenant)) {
          // Only that job fails: the connection is every tenant's (docs/operations.md "Frame limits").
          this.logger.error({ jid: refused.jid, tenant: refused.tenant, error: message }, 'job refused: answered with a failed return');
          this.outbox.push({
            kind: 'jobReturn',
            tenant: refused.tenant,
            jid: refused.jid,
            minion: this.id,
            return: `the minion refused job ${refused.jid}: ${message}`,
            retcode: 1,
            success: false,
            durationMs: 0,
          });
          return;
        }
        this.logger.error({ error: message }, 'bad frame from the server; reconnecting');
        ws.close(4400, (error as Error).message.slice(0, 120));
      }
    });
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk.slice(0, 2000)));
      response.on('end', () => {
        let message = body;
        try {
          message = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? body;
        } catch {}
        const status = response.statusCode ?? 0;
        if (status === 401 || status === 403) fatal = `${status === 401 ? 'unauthenticated' : 'forbidden'}: ${message}`;
        this.logger.warn({ status, message }, 'the server refused the minion connection');
        ws.terminate();
        this.onClosed(ws, fatal);
      });
    });
    ws.on('error', (error) => this.logger.debug({ error: error.message }, 'minion socket error'));
    ws.on('close', (code: number, reasonBytes: Buffer) => {
      const reason = reasonBytes.toString();
      if (code === CLOSE_UNAUTHENTICATED) fatal = `unauthenticated: ${reason}`;
      else if (code === CLOSE_FORBIDDEN) fatal = `forbidden: ${reason}`;
      else if (code === CLOSE_INCOMPATIBLE) fatal = reason;
      else if (code === CLOSE_REPLACED || code === CLOSE_ID_BOUND) return this.onIdLost(ws, code, reason);
      if (this.welcome) this.logger.warn({ code, reason }, 'minion disconnected');
      this.onClosed(ws, fatal);
    });
  }

  /** Replaced (4409) or refused (4403): the processes keep running, and the id is tried again later. */
  private onIdLost(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws) return;
    const max = this.options.idRetryMaxMs ?? 300_000;
    if (this.welcome && Date.now() - this.welcomedAt >= max) this.idLosses = 0;
    const min = Math.min(this.options.idRetryMinMs ?? 30_000, max);
    const delay = Math.min(max, min * 2 ** Math.min(this.idLosses, 16));
    this.idLosses += 1;
    this.logger.warn(
      { code, reason, retryInMs: delay, running: this.supervisor.running().length },
      code === CLOSE_REPLACED
        ? `another connection of minion ${this.id} replaced this one: keeping the managed processes running, trying again in ${Math.round(delay / 1000)} s`
        : `the server refused minion id ${this.id} (${reason}): keeping the managed processes running, trying again in ${Math.round(delay / 1000)} s`,
    );
    this.ws = null;
    this.welcome = null;
    this.outbox.detach();
    if (this.currentState === 'stopped') return;
    this.setState('disconnected');
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /** Stops reconnecting: `done` resolves with the reason (the CLI then stops the managed processes and exits 2). */
  private giveUp(fatal: string): void {
    this.logger.error({ reason: fatal }, 'minion cannot continue');
    void this.shutdown({ stopProcesses: false, flushMs: 0, fatal });
  }

  private onClosed(ws: WebSocket, fatal: string | null): void {
    if (this.ws !== ws) return;
    this.ws = null;
    this.welcome = null;
    this.outbox.detach();
    if (this.currentState === 'stopped') return;
    if (fatal) {
      this.giveUp(fatal);
      return;
    }
    this.setState('disconnected');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const min = this.options.reconnectMinMs ?? 200;
    const max = this.options.reconnectMaxMs ?? 5000;
    const ceiling = Math.min(max, min * 2 ** Math.min(this.attempt, 16));
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private heartbeat(periodMs: number): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.lastHeard > periodMs * 3) {
      this.logger.warn({ silentMs: Date.now() - this.lastHeard }, 'the server stopped answering; reconnecting');
      ws.terminate();
      return;
    }
    this.sendFrame(ws, { t: 'ping', ts: Date.now() });
  }

  private sendFrame(ws: WebSocket, frame: MinionFrame): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame(frame), { binary: true });
  }

  /** whether this connection serves `tenant` (welcome's tenants, or `*`) */
  private serves(tenant: string): boolean {
    return this.welcome !== null && (this.welcome.tenants.includes(tenant) || this.welcome.tenants.includes('*'));
  }

  private execute(command: MinionCommand): void {
    if (this.currentState === 'stopped') return;
    if (this.welcome && !this.serves(command.tenant)) {
      return this.logger.warn({ tenant: command.tenant, kind: command.kind }, 'command for a tenant this minion does not serve: ignored');
    }
    switch (command.kind) {
      case 'spawn':
        return this.supervisor.spawn(command);
      case 'stop':
        void this.supervisor.stop(command).catch((error) => this.logger.error({ error, runId: command.runId }, 'stop failed'));
        return;
      case 'signal':
        try {
          this.supervisor.signal(command);
        } catch (error) {
          this.logger.warn({ runId: command.runId, error: (error as Error).message }, 'signal refused');
        }
        return;
      case 'runJob':
        return this.jobs.run(command);
      case 'cancelJob':
        return this.jobs.cancel(command);
    }
  }
}
