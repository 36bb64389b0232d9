/**
 * The `/minion` websocket protocol (docs/architecture.md "Websocket protocols"): one msgpack map per binary frame, its
 * type in `t`.
 *
 * minion -> server
 *   hello   {t, protocol: {min, max}, id, version, grains, tenants, running}  first frame, once
 *   report  {t, seq, report}   seq = 1, 2, 3... per connection, contiguous
 *   ping    {t, ts} / pong {t, ts}
 * server -> minion
 *   welcome {t, protocol, server: {version, node}, id, tenants}   answer to hello
 *   command {t, command}       a MinionCommand
 *   ack     {t, seq}           every report up to seq is durable (cumulative)
 *   ping    {t, ts} / pong {t, ts}
 *
 * Reliability: the minion keeps reliable reports (everything but `stats`) until acked and
 * resends unacked ones, renumbered, after a reconnect; the server's handling is idempotent
 * per runId/jid. Output lines are numbered per run (`report.firstSeq`, optional, the number
 * of the report's first line; 1, 2, 3... for the run's life, across reconnects), so a resent
 * output report stores nothing twice. On a graceful close the server stops taking reports and
 * acknowledges those it completed before closing. The token travels in the upgrade request
 * (`Authorization: Bearer`).
 *
 * Versioning: the minion sends the range it speaks, the server picks the highest version
 * both speak, or closes with 4400 and a message naming both ranges.
 *
 * Size: a frame is at most MAX_FRAME_BYTES (1 MiB) encoded, both ways (actors/minion/limits.ts).
 * The server refuses at creation a job whose runJob frame could exceed it; the minion
 * truncates job returns to fit, splits output reports, and answers a jobReturn it still cannot
 * encode within the limit with an error return instead (ops/minion/outbox.ts): a frame over
 * the limit would close the connection, and resending it would close every reconnect too.
 * A runJob that fails validation on the minion is answered the same way (refusedJobOf).
 *
 * Close codes: 4001 bad token, 4003 no tenant granted, 4400 protocol error, 4426 no common
 * protocol version, 4403 the id is bound to another credential, 4409 replaced by a
 * newer connection of the same minion id, 1011 the server could not record a report (the
 * minion reconnects and resends), 1012 server restarting, 1001 going away.
 */
import { Packr, Unpackr } from 'msgpackr';
import { MAX_FRAME_BYTES, type Grains, type MinionCommand, type MinionReport, type RunningProcess } from '../../actors/index.js';
import * as v from './validate.js';
import { ProtocolError } from './validate.js';

export { ProtocolError } from './validate.js';

export const PROTOCOL_MIN = 1;
export const PROTOCOL_MAX = 1;
// one definition for the server's job validation, the hub and the minion (actors/minion/limits.ts)
export { MAX_FRAME_BYTES };

export const CLOSE_UNAUTHENTICATED = 4001;
export const CLOSE_FORBIDDEN = 4003;
export const CLOSE_PROTOCOL_ERROR = 4400;
/** minion and server share no protocol version: the minion gives up (no retry can help) */
export const CLOSE_INCOMPATIBLE = 4426;
export const CLOSE_REPLACED = 4409;
/** the minion id is bound to another credential (docs/security.md, "Minion identity"): not fatal, retried later */
export const CLOSE_ID_BOUND = 4403;
export const CLOSE_SINK_FAILED = 1011;
export const CLOSE_RESTARTING = 1012;
export const CLOSE_GOING_AWAY = 1001;

export interface ProtocolRange {
  min: number;
  max: number;
}

export interface HelloFrame {
  t: 'hello';
  protocol: ProtocolRange;
  id: string;
  version: string;
  grains: Grains;
  /** tenants the minion wants to serve; empty: every tenant its token grants */
  tenants: string[];
  running: RunningProcess[];
}
export interface ReportFrame {
  t: 'report';
  seq: number;
  report: MinionReport;
}
export interface PingFrame {
  t: 'ping';
  ts: number;
}
export interface PongFrame {
  t: 'pong';
  ts: number;
}
export type MinionFrame = HelloFrame | ReportFrame | PingFrame | PongFrame;

export interface WelcomeFrame {
  t: 'welcome';
  protocol: number;
  server: { version: string; node: string };
  /** the minion id as the server knows it */
  id: string;
  /** the tenants this connection serves */
  tenants: string[];
}
export interface CommandFrame {
  t: 'command';
  command: MinionCommand;
}
export interface AckFrame {
  t: 'ack';
  seq: number;
}
export type ServerFrame = WelcomeFrame | CommandFrame | AckFrame | PingFrame | PongFrame;

const packr = new Packr({ useRecords: false });
// mapsAsObjects: plain objects; msgpackr renames a `__proto__` key, so no prototype pollution.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export function encodeFrame(frame: MinionFrame | ServerFrame): Buffer {
  return packr.pack(frame);
}

function unpackFrame(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.byteLength === 0) throw new ProtocolError('empty frame');
  if (bytes.byteLength > MAX_FRAME_BYTES) throw new ProtocolError(`frame of ${bytes.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`);
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (error) {
    throw new ProtocolError(`frame is not valid msgpack: ${(error as Error)?.message ?? String(error)}`);
  }
  return v.obj(value, 'frame');
}

const seqOf = (value: unknown): number => v.int(value, 'frame.seq', 1);
const tsOf = (value: unknown): number => v.num(value, 'frame.ts');

/** Decodes and validates a frame a minion sent; throws ProtocolError saying what was wrong. */
export function decodeMinionFrame(bytes: Uint8Array): MinionFrame {
  const frame = unpackFrame(bytes);
  switch (frame.t) {
    case 'hello': {
      const range = v.obj(frame.protocol, 'frame.protocol');
      const protocol = { min: v.int(range.min, 'frame.protocol.min', 1), max: v.int(range.max, 'frame.protocol.max', 1) };
      if (protocol.min > protocol.max) throw new ProtocolError(`frame.protocol: min ${protocol.min} is above max ${protocol.max}`);
      return {
        t: 'hello',
        protocol,
        id: v.name(frame.id, 'frame.id'),
        version: v.str(frame.version, 'frame.version', 64),
        grains: v.grains(frame.grains, 'frame.grains'),
        tenants: v.arr(frame.tenants, 'frame.tenants', 1000).map((t, i) => v.name(t, `frame.tenants[${i}]`)),
        running: v.arr(frame.running, 'frame.running', v.MAX_RUNNING).map((p, i) => v.runningProcess(p, `frame.running[${i}]`)),
      };
    }
    case 'report':
      return { t: 'report', seq: seqOf(frame.seq), report: v.report(frame.report, 'frame.report') };
    case 'ping':
    case 'pong':
      return { t: frame.t, ts: tsOf(frame.ts) };
    default:
      throw new ProtocolError(`frame.t: unknown frame type ${JSON.stringify(frame.t)} (expected hello, report, ping or pong)`);
  }
}

/** Decodes and validates a frame the server sent (used by the minion agent). */
export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  const frame = unpackFrame(bytes);
  switch (frame.t) {
    case 'welcome': {
      const server = v.obj(frame.server, 'frame.server');
      return {
        t: 'welcome',
        protocol: v.int(frame.protocol, 'frame.protocol', 1),
        server: { version: v.str(server.version, 'frame.server.version', 64), node: v.str(server.node, 'frame.server.node') },
        id: v.name(frame.id, 'frame.id'),
        // '*': the connection serves every tenant (token granting `*`, no --tenant)
        tenants: v.arr(frame.tenants, 'frame.tenants', 1000).map((t, i) => (t === '*' ? t : v.name(t, `frame.tenants[${i}]`))),
      };
    }
    case 'command':
      return { t: 'command', command: v.command(frame.command, 'frame.command') };
    case 'ack':
      return { t: 'ack', seq: v.int(frame.seq, 'frame.seq', 0) };
    case 'ping':
    case 'pong':
      return { t: frame.t, ts: tsOf(frame.ts) };
    default:
      throw new ProtocolError(`frame.t: unknown frame type ${JSON.stringify(frame.t)} (expected welcome, command, ack, ping or pong)`);
  }
}

/**
 * For a server frame the minion refused: the job it was meant to run, if it is a `runJob`
 * command whose tenant and jid are themselves valid. The minion answers that job with a
 * failed return instead of closing the connection its other tenants share (a server that
 * resent the job at every reconnect would keep closing it).
 */
export function refusedJobOf(bytes: Uint8Array): { tenant: string; jid: string } | null {
  try {
    const frame = v.obj(unpackr.unpack(bytes), 'frame');
    if (frame.t !== 'command') return null;
    const command = v.obj(frame.command, 'frame.command');
    if (command.kind !== 'runJob') return null;
    return { tenant: v.name(command.tenant, 'frame.command.tenant'), jid: v.str(command.jid, 'frame.command.jid', 64, 1) };
  } catch {
    return null;
  }
}

/** The highest version both sides speak; ProtocolError naming both ranges when there is none. */
export function negotiateProtocol(minion: ProtocolRange, server: ProtocolRange = { min: PROTOCOL_MIN, max: PROTOCOL_MAX }): number {
  const chosen = Math.min(minion.max, server.max);
  if (chosen < Math.max(minion.min, server.min)) {
    const advice = minion.max < server.min ? 'upgrade the minion' : 'upgrade the server';
    throw new ProtocolError(
      `incompatible minion protocol: minion speaks ${minion.min}..${minion.max}, server speaks ${server.min}..${server.max}; ${advice}`,
      CLOSE_INCOMPATIBLE,
    );
  }
  return chosen;
}

/** Reports the minion must not lose (kept until acked); stats are best-effort. */
export const isReliableReport = (report: MinionReport): boolean => report.kind !== 'stats';
