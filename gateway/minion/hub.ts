/**
 * The server side of the `/minion` protocol: authenticates minions at the upgrade, keeps one
 * live connection per minion id, turns frames into `MinionReportSink` calls and implements
 * `MinionPort` (commands to minions).
 *
 * Delivery: a report is acknowledged only after `sink.report` resolved (the sink resolves once
 * what the report caused is durable) and only cumulatively, in seq order, so an ack for `n`
 * means "1..n are safe". Reports about the same process or job reach the sink in order (one
 * promise chain per processKey/jid); unrelated ones overlap. A sink failure closes the socket
 * with 1011: the minion reconnects and resends what was not acknowledged. Every close the hub
 * makes first sends the ack for what completed, and `close()` stops taking reports, waits a
 * bounded time for those in flight, acknowledges them, then closes: a report the server
 * recorded is not resent to the next server because its ack was still pending.
 *
 * A minion id is bound to a credential (bindings.ts, docs/security.md "Minion identity"): a
 * hello is welcomed only once the bindings accepted its token's credential for that id, and a
 * minion token connects only as the id it names. A hello with the id's own credential replaces
 * the older connection, which is closed with 4409 and does not produce a `minionDisconnected`
 * for the tenants the new connection still serves; any other credential is closed with 4403
 * and displaces nothing. Frames after a hello wait until it is admitted.
 */
import type { ConnectedMinion, MinionCommand, MinionPort, MinionReport, MinionReportSink } from '../../actors/index.js';
import type { TemplatedApp } from '../uws.js';
import { memoryMinionBindings, type MinionBindings } from './bindings.js';
import { authenticatingUpgrade, end, flushCommands, scheduleAck, send, type Connection, type MinionIdentity } from './minion-connection.js';
import {
  CLOSE_FORBIDDEN,
  CLOSE_ID_BOUND,
  CLOSE_GOING_AWAY,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_REPLACED,
  CLOSE_SINK_FAILED,
  decodeMinionFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  negotiateProtocol,
  PROTOCOL_MAX,
  PROTOCOL_MIN,
  ProtocolError,
  type HelloFrame,
  type MinionFrame,
  type ProtocolRange,
} from './protocol.js';
import { silentLogger, type Logger } from '../../store/index.js';

export type { MinionIdentity } from './minion-connection.js';

export interface MinionHubOptions {
  sink: MinionReportSink;
  /** resolves the identity of a token, or throws (the message is sent back with the 401) */
  verifyToken: (token: string) => Promise<MinionIdentity>;
  logger?: Logger;
  server?: { version: string; node: string };
  protocol?: ProtocolRange;
  /** seconds without traffic before uWS closes a socket (it pings automatically) */
  idleTimeoutSeconds?: number;
  /** a connection with more unacknowledged reports is cut (1008): protects server memory */
  maxInFlightReports?: number;
  /** commands wait in memory while a socket buffers more than this */
  maxBufferedBytes?: number;
  helloTimeoutMs?: number;
  /**
   * The tenants that exist now. A token granting `*` (the local minion's admin token) with no
   * `--tenant` then serves every tenant: these at hello, and any other tenant as soon as a
   * command or report names it. Without this option such a minion must name its tenants.
   */
  allTenants?: () => string[];
  /** who owns each minion id (default: in memory, for this hub only) */
  bindings?: MinionBindings;
}
export interface MinionConnectionInfo {
  id: string | null;
  subject: string;
  remoteAddress: string;
  tenants: string[];
  protocol: number | null;
  version: string | null;
  connectedAt: number;
  lastSeq: number;
  ackedSeq: number;
  bufferedBytes: number;
}
export interface MinionHub {
  port: MinionPort;
  attach(app: TemplatedApp, path?: string): void;
  connections(): MinionConnectionInfo[];
  /**
   * Stops taking reports, waits up to `flushMs` (default 1500) for the reports being recorded
   * and acknowledges them, then closes every minion socket (1001 by default; 1012 when the
   * server restarts). Reports that arrive meanwhile are left unacknowledged: the minion sends
   * them to the next server. Connections made after it resolves are served as usual.
   */
  close(code?: number, reason?: string, flushMs?: number): Promise<void>;
}

/** frames a client may send while its hello waits for the bindings (the agent sends none) */
const MAX_HELD_FRAMES = 1000;
const orderingKey = (report: MinionReport): string =>
  report.kind === 'jobReturn' ? `job:${report.tenant}:${report.jid}` : report.kind === 'stats' ? 'stats' : `proc:${report.tenant}:${report.processKey}`;

export function createMinionHub(options: MinionHubOptions): MinionHub {
  const { sink, verifyToken } = options;
  const logger = options.logger ?? silentLogger;
  const serverInfo = options.server ?? { version: '0.0.0', node: 'unknown' };
  const serverRange = options.protocol ?? { min: PROTOCOL_MIN, max: PROTOCOL_MAX };
  const maxInFlight = options.maxInFlightReports ?? 10_000;
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const bindings = options.bindings ?? memoryMinionBindings();
  const all = new Set<Connection>();
  const byId = new Map<string, Connection>();
  /** reports handed to the sink and not settled yet (what `close` waits for) */
  const recording = new Set<Promise<void>>();
  let closing = false;

  const upgrade = authenticatingUpgrade(verifyToken);

  function onHello(conn: Connection, hello: HelloFrame): void {
    if (conn.hello || conn.held) throw new ProtocolError('hello sent twice');
    const protocol = negotiateProtocol(hello.protocol, serverRange);
    const anyTenant = conn.grantedTenants.includes('*');
    let tenants: string[];
    if (anyTenant) {
      if (hello.tenants.length === 0 && !options.allTenants) {
        return end(conn, CLOSE_FORBIDDEN, "the token grants every tenant ('*'): name the tenants to serve with --tenant");
      }
      tenants = hello.tenants.length === 0 ? [...new Set(options.allTenants!())] : [...new Set(hello.tenants)];
    } else {
      tenants = hello.tenants.length === 0 ? conn.grantedTenants : hello.tenants.filter((t) => conn.grantedTenants.includes(t));
      tenants = [...new Set(tenants)];
      if (tenants.length === 0) {
        return end(conn, CLOSE_FORBIDDEN, `the token grants none of the requested tenants (${hello.tenants.join(', ')})`);
      }
    }
    if (conn.minionClaim !== null && conn.minionClaim !== hello.id) {
      return end(conn, CLOSE_FORBIDDEN, `the token is a minion token for ${conn.minionClaim}, not for ${hello.id}`);
    }
    conn.held = [];
    bindings.claim(hello.id, conn.credential).then(
      (claim) => {
        const held = conn.held ?? [];
        conn.held = null;
        if (!conn.open) return;
        if (!claim.accepted) {
          logger.warn({ minion: hello.id, subject: conn.subject, remote: conn.remoteAddress }, 'minion refused: its id is bound to another credential');
          return end(conn, CLOSE_ID_BOUND, claim.reason);
        }
        admit(conn, hello, protocol, anyTenant && hello.tenants.length === 0, tenants);
        for (const frame of held) if (conn.open) handleFrame(conn, frame);
      },
      (err: unknown) => {
        conn.held = null;
        logger.error({ err, minion: hello.id }, 'checking the minion id binding failed');
        end(conn, CLOSE_SINK_FAILED, 'the server could not check the minion id; reconnect');
      },
    );
  }

  /** The hello's credential owns its id: welcome it, replacing an older connection of that id. */
  function admit(conn: Connection, hello: HelloFrame, protocol: number, anyTenant: boolean, tenants: string[]): void {
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    conn.anyTenant = anyTenant;
    if (anyTenant && options.allTenants) tenants = [...new Set(options.allTenants())];
    conn.hello = hello;
    conn.tenants = tenants;
    conn.protocol = protocol;
    const older = byId.get(hello.id);
    byId.set(hello.id, conn);
    if (older && older !== conn) {
      older.replaced = true;
      end(older, CLOSE_REPLACED, `replaced by a newer connection of minion ${hello.id}`);
      const dropped = older.tenants.filter((t) => !tenants.includes(t));
      if (dropped.length > 0) void sink.minionDisconnected(hello.id, dropped, 'replaced').catch((err) => logger.error({ err }, 'minionDisconnected failed'));
    }
    send(conn, { t: 'welcome', protocol, server: serverInfo, id: hello.id, tenants: conn.anyTenant ? ['*'] : tenants });
    logger.info({ minion: hello.id, tenants, protocol, running: hello.running.length, remote: conn.remoteAddress }, 'minion connected');
    conn.registered = sink.minionConnected({
      id: hello.id,
      version: hello.version,
      protocol,
      grains: hello.grains,
      tenants,
      running: hello.running.filter((p) => tenants.includes(p.tenant)),
    });
    conn.registered.catch((err) => {
      logger.error({ err, minion: hello.id }, 'recording the minion connection failed');
      end(conn, CLOSE_SINK_FAILED, 'the server could not record the connection; reconnect');
    });
  }

  /** Handles one decoded frame; a protocol violation closes the connection with 4400. */
  function handleFrame(conn: Connection, frame: MinionFrame): void {
    try {
      if (conn.held && frame.t !== 'ping' && frame.t !== 'pong') {
        if (frame.t === 'hello') throw new ProtocolError('hello sent twice');
        if (conn.held.length >= MAX_HELD_FRAMES) throw new ProtocolError(`more than ${MAX_HELD_FRAMES} frames before the welcome`);
        conn.held.push(frame);
        return;
      }
      switch (frame.t) {
        case 'hello':
          return onHello(conn, frame);
        case 'report':
          return onReport(conn, frame.seq, frame.report);
        case 'ping':
          return send(conn, { t: 'pong', ts: frame.ts });
        case 'pong':
          return;
      }
    } catch (error) {
      protocolError(conn, error);
    }
  }

  function protocolError(conn: Connection, error: unknown): void {
    if (!(error instanceof ProtocolError)) logger.error({ err: error }, 'minion frame handling failed');
    logger.warn({ minion: conn.hello?.id, remote: conn.remoteAddress, error: (error as Error).message }, 'minion protocol error');
    end(conn, error instanceof ProtocolError ? error.closeCode : CLOSE_PROTOCOL_ERROR, (error as Error).message);
  }

  /** An any-tenant minion meets a tenant it was not registered in yet: register it there first. */
  function addTenant(conn: Connection, tenant: string): void {
    const hello = conn.hello;
    if (!hello || conn.tenants.includes(tenant)) return;
    conn.tenants = [...conn.tenants, tenant];
    const registration = sink.minionConnected({
      id: hello.id,
      version: hello.version,
      protocol: conn.protocol!,
      grains: hello.grains,
      tenants: [tenant],
      running: [],
    });
    conn.registered = Promise.all([conn.registered, registration]).then(() => {});
    conn.registered.catch(() => end(conn, CLOSE_SINK_FAILED, 'the server could not record the connection; reconnect'));
  }

  function onReport(conn: Connection, seq: number, report: MinionReport): void {
    const hello = conn.hello;
    if (!hello) throw new ProtocolError('report before hello');
    // closing: not recorded and not acknowledged, so the minion sends it to the next server
    if (closing) return;
    if (seq !== conn.lastSeq + 1) throw new ProtocolError(`report seq ${seq} after ${conn.lastSeq}: seqs must be contiguous from 1`);
    if (conn.anyTenant) addTenant(conn, report.tenant);
    if (!conn.tenants.includes(report.tenant)) {
      return end(conn, CLOSE_FORBIDDEN, `report for tenant ${report.tenant}, which this connection does not serve`);
    }
    if (report.kind === 'jobReturn' && report.minion !== hello.id) {
      throw new ProtocolError(`jobReturn names minion ${report.minion}, but this connection is minion ${hello.id}`);
    }
    conn.lastSeq = seq;
    if (seq - conn.ackedSeq > maxInFlight) return end(conn, 1008, `more than ${maxInFlight} unacknowledged reports`);
    const key = orderingKey(report);
    const previous = conn.chains.get(key) ?? conn.registered;
    const next = previous.then(() => (conn.open ? sink.report(hello.id, report) : Promise.reject(new Error('connection closed'))));
    conn.chains.set(key, next);
    const handled = next.then(
      () => {
        if (conn.chains.get(key) === next) conn.chains.delete(key);
        conn.done.add(seq);
        const before = conn.ackedSeq;
        while (conn.done.delete(conn.ackedSeq + 1)) conn.ackedSeq += 1;
        if (conn.ackedSeq !== before) scheduleAck(conn);
      },
      (err) => {
        if (!conn.open || closing) return;
        logger.error({ err, minion: hello.id, kind: report.kind }, 'recording a minion report failed');
        end(conn, CLOSE_SINK_FAILED, 'the server could not record a report; reconnect and resend');
      },
    );
    recording.add(handled);
    void handled.then(() => recording.delete(handled));
  }

  const port: MinionPort = {
    send(minionId: string, command: MinionCommand): boolean {
      const conn = byId.get(minionId);
      if (!conn || !conn.open || !conn.ws || !conn.hello) return false;
      if (conn.anyTenant) addTenant(conn, command.tenant);
      if (!conn.tenants.includes(command.tenant)) return false;
      const bytes = encodeFrame({ t: 'command', command });
      // The minion would refuse it and close the connection all its tenants share (jobs are
      // refused at creation for this; this guards every other command): not sent, the caller
      // treats the minion as unreachable for it.
      if (bytes.length > MAX_FRAME_BYTES) {
        logger.error({ minion: minionId, tenant: command.tenant, kind: command.kind, bytes, limit: MAX_FRAME_BYTES }, 'command over the minion frame limit: not sent');
        return false;
      }
      if (conn.pendingCommands.length === 0 && conn.ws.getBufferedAmount() < maxBuffered) {
        const ws = conn.ws;
        ws.cork(() => ws.send(bytes, true));
        return true;
      }
      if (conn.pendingCommands.length >= 10_000) return false;
      conn.pendingCommands.push(bytes);
      return true;
    },
    connected(tenant: string): ConnectedMinion[] {
      const out: ConnectedMinion[] = [];
      for (const [id, conn] of byId) {
        if (!conn.open || !conn.hello || !(conn.anyTenant || conn.tenants.includes(tenant))) continue;
        out.push({ id, tenant, key: `${tenant}:${id}`, version: conn.hello.version, protocol: conn.protocol!, grains: conn.hello.grains });
      }
      return out;
    },
  };

  return {
    port,
    attach(app: TemplatedApp, path = '/minion'): void {
      app.ws<Connection>(path, {
        maxPayloadLength: MAX_FRAME_BYTES,
        idleTimeout: options.idleTimeoutSeconds ?? 60,
        sendPingsAutomatically: true,
        maxBackpressure: 64 * 1024 * 1024,
        upgrade,
        open(ws) {
          const conn = ws.getUserData();
          conn.ws = ws;
          conn.open = true;
          all.add(conn);
          conn.helloTimer = setTimeout(() => end(conn, CLOSE_PROTOCOL_ERROR, `no hello within ${helloTimeoutMs} ms`), helloTimeoutMs);
        },
        message(ws, message, isBinary) {
          const conn = ws.getUserData();
          let frame: MinionFrame;
          try {
            if (!isBinary) throw new ProtocolError('text frame: the minion protocol uses binary msgpack frames');
            // Copy: uWS neuters the ArrayBuffer when this callback returns, and msgpackr may
            // hand out views of it (bin values).
            frame = decodeMinionFrame(Buffer.from(new Uint8Array(message)));
          } catch (error) {
            return protocolError(conn, error);
          }
          handleFrame(conn, frame);
        },
        drain(ws) {
          flushCommands(ws.getUserData(), maxBuffered);
        },
        close(ws, code, message) {
          const conn = ws.getUserData();
          conn.open = false;
          conn.ws = null;
          all.delete(conn);
          if (conn.helloTimer) clearTimeout(conn.helloTimer);
          const hello = conn.hello;
          if (!hello) return;
          const reason = `closed ${code}${message.byteLength ? ` ${Buffer.from(message).toString()}` : ''}`;
          logger.info({ minion: hello.id, code, replaced: conn.replaced }, 'minion disconnected');
          if (conn.replaced || byId.get(hello.id) !== conn) return;
          byId.delete(hello.id);
          void conn.registered
            .catch(() => {})
            .then(() => sink.minionDisconnected(hello.id, conn.tenants, reason))
            .catch((err) => logger.error({ err, minion: hello.id }, 'recording the minion disconnection failed'));
        },
      });
    },
    connections(): MinionConnectionInfo[] {
      return [...all].map((conn) => ({
        id: conn.hello?.id ?? null,
        subject: conn.subject,
        remoteAddress: conn.remoteAddress,
        tenants: conn.tenants,
        protocol: conn.protocol,
        version: conn.hello?.version ?? null,
        connectedAt: conn.connectedAt,
        lastSeq: conn.lastSeq,
        ackedSeq: conn.ackedSeq,
        bufferedBytes: conn.ws?.getBufferedAmount() ?? 0,
      }));
    },
    async close(code = CLOSE_GOING_AWAY, reason = 'server going away', flushMs = 1500): Promise<void> {
      closing = true;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, flushMs)));
      while (recording.size > 0) {
        const waited = await Promise.race([Promise.all([...recording]).then(() => true), deadline.then(() => false)]);
        if (!waited) {
          logger.warn({ reports: recording.size, flushMs }, 'closing the minion connections with reports still being recorded (the minions resend them)');
          break;
        }
      }
      clearTimeout(timer);
      for (const conn of [...all]) end(conn, code, reason);
      // the hub serves whoever connects next (the server closed its listen socket before, so
      // in a stopping server nobody does; tests reuse a hub to play a restarted server)
      closing = false;
    },
  };
}
