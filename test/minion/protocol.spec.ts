import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES, MAX_JOB_ARGS, wireSizeBound, type MinionCommand, type MinionReport } from '../../actors/index.js';
import {
  decodeMinionFrame,
  decodeServerFrame,
  encodeFrame,
  negotiateProtocol,
  ProtocolError,
  type MinionFrame,
  type ServerFrame,
} from '../../gateway/minion/index.js';

const grains = { os: 'linux', arch: 'x64', hostname: 'h1', cpus: 2, memory: 1024, nodeVersion: '20.0.0', role: 'web', rack: 3, ssd: true };
const run = { tenant: 'acme', processKey: 'acme:web:0', runId: 'r1' };
const reports: MinionReport[] = [
  { kind: 'spawned', ...run, pid: 10, startedAt: 1700000000000 },
  { kind: 'spawnFailed', ...run, error: 'command not found: x' },
  { kind: 'ready', ...run, pid: 10 },
  { kind: 'exited', ...run, pid: 10, code: null, signal: 'SIGKILL', exitedAt: 1700000001000, durationMs: 1000, usage: { cpuUserMs: 5, cpuSystemMs: 1, maxRssBytes: 4096 } },
  { kind: 'exited', ...run, pid: 10, code: 0, signal: null, exitedAt: 1700000001000, durationMs: 1000, usage: null },
  { kind: 'output', ...run, pid: 10, lines: [{ fd: 'stdout', line: 'héllo' }, { fd: 'stderr', line: 'x', truncated: true }] },
  { kind: 'stats', tenant: 'acme', samples: [{ processKey: 'acme:web:0', runId: 'r1', pid: 10, cpu: 12.5, rss: 1 << 20 }] },
  { kind: 'jobReturn', tenant: 'acme', jid: '20260101120000000001', minion: 'h1', return: { stdout: 'hi\n', nested: [1, 'a', null] }, retcode: 0, success: true, durationMs: 3 },
];
const commands: MinionCommand[] = [
  { kind: 'spawn', ...run, cmd: 'sleep', args: ['300'], env: { A: 'b' }, cwd: null, ready: { kind: 'http', port: 80, path: '/health', timeoutMs: 5000 }, stopSignal: 'SIGTERM', stopWaitMs: 5000 },
  { kind: 'spawn', ...run, cmd: 'sleep', args: [], env: {}, cwd: '/tmp', ready: { kind: 'notify' }, stopSignal: 'SIGINT', stopWaitMs: 0 },
  { kind: 'stop', ...run, signal: 'SIGTERM', waitMs: 100 },
  { kind: 'signal', ...run, signal: 'SIGHUP' },
  { kind: 'runJob', tenant: 'acme', jid: '20260101120000000001', fun: 'cmd.run', args: ['echo hi'], timeoutMs: 1000 },
  { kind: 'cancelJob', tenant: 'acme', jid: '20260101120000000001' },
];

describe('minion protocol frames', () => {
  it('round-trips every minion frame', () => {
    const frames: MinionFrame[] = [
      { t: 'hello', protocol: { min: 1, max: 1 }, id: 'host1', version: '0.1.0', grains, tenants: ['acme'], running: [{ ...run, pid: 3, startedAt: 1, ready: true }] },
      ...reports.map((report, i): MinionFrame => ({ t: 'report', seq: i + 1, report })),
      { t: 'ping', ts: 123 },
      { t: 'pong', ts: 123.5 },
    ];
    for (const frame of frames) expect(decodeMinionFrame(encodeFrame(frame))).toEqual(frame);
  });

  it('round-trips every server frame', () => {
    const frames: ServerFrame[] = [
      { t: 'welcome', protocol: 1, server: { version: '0.1.0', node: 'n1' }, id: 'host1', tenants: ['acme', 'beta'] },
      ...commands.map((command): ServerFrame => ({ t: 'command', command })),
      { t: 'ack', seq: 42 },
      { t: 'ping', ts: 1 },
    ];
    for (const frame of frames) expect(decodeServerFrame(encodeFrame(frame))).toEqual(frame);
  });

  it('rejects bad frames with errors that name the field', () => {
    const packr = new Packr({ useRecords: false });
    const bad = (value: unknown, message: RegExp, decode: (b: Uint8Array) => unknown = decodeMinionFrame) => {
      expect(() => decode(packr.pack(value))).toThrow(ProtocolError);
      expect(() => decode(packr.pack(value))).toThrow(message);
    };
    bad({ t: 'nope' }, /frame.t: unknown frame type "nope"/);
    bad([1, 2], /frame: expected a map/);
    bad({ t: 'report', seq: 0, report: reports[0] }, /frame.seq: 0 is outside 1\.\./);
    bad({ t: 'report', seq: 1, report: { ...reports[0], pid: 'x' } }, /frame.report.pid: expected an integer, got "x"/);
    bad({ t: 'report', seq: 1, report: { ...reports[5], lines: [{ fd: 'stdin', line: 'x' }] } }, /frame.report.lines\[0\].fd: expected "stdout" or "stderr"/);
    bad({ t: 'report', seq: 1, report: { kind: 'boom' } }, /frame.report.kind: expected one of spawned/);
    bad({ t: 'hello', protocol: { min: 2, max: 1 }, id: 'h', version: '1', grains, tenants: [], running: [] }, /min 2 is above max 1/);
    bad({ t: 'hello', protocol: { min: 1, max: 1 }, id: 'Bad.Host', version: '1', grains, tenants: [], running: [] }, /frame.id: "Bad.Host" is not a valid name/);
    bad({ t: 'hello', protocol: { min: 1, max: 1 }, id: 'h', version: '1', grains: { ...grains, deep: { x: 1 } }, tenants: [], running: [] }, /frame.grains.deep: expected a string, number, boolean or null/);
    bad({ t: 'command', command: { ...commands[0], ready: { kind: 'tcp', port: 70000 } } }, /frame.command.ready.port: 70000 is outside 1..65535/, decodeServerFrame);
    bad({ t: 'command', command: { ...commands[0], env: { A: 1 } } }, /frame.command.env.A: expected a string/, decodeServerFrame);
    expect(() => decodeMinionFrame(new Uint8Array(0))).toThrow(/empty frame/);
    expect(() => decodeMinionFrame(new Uint8Array(1024 * 1024 + 1))).toThrow(/exceeds/);
  });

  it('the decoders throw nothing but ProtocolError on random bytes', () => {
    const only = (decode: (b: Uint8Array) => unknown) => (bytes: Uint8Array) => {
      try {
        decode(bytes);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), only(decodeMinionFrame)), { numRuns: 5000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), only(decodeServerFrame)), { numRuns: 5000 });
    // mutated valid frames reach deeper into the validators
    const valid = [...reports.map((report, i) => encodeFrame({ t: 'report', seq: i + 1, report })), ...commands.map((command) => encodeFrame({ t: 'command', command }))];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (index, flips) => {
        const bytes = Buffer.from(valid[index]!);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        only(decodeMinionFrame)(bytes);
        only(decodeServerFrame)(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it('negotiates the highest common version or explains the mismatch', () => {
    expect(negotiateProtocol({ min: 1, max: 3 }, { min: 1, max: 2 })).toBe(2);
    expect(negotiateProtocol({ min: 1, max: 1 }, { min: 1, max: 1 })).toBe(1);
    expect(() => negotiateProtocol({ min: 3, max: 4 }, { min: 1, max: 2 })).toThrow(/minion speaks 3..4, server speaks 1..2; upgrade the server/);
    expect(() => negotiateProtocol({ min: 1, max: 1 }, { min: 2, max: 2 })).toThrow(/upgrade the minion/);
  });
});

describe('frame limits (actors/minion/limits.ts)', () => {
  it('wireSizeBound never underestimates the encoded size', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string({ unit: 'binary' }),
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 6 }),
        fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), tie('value'), { maxKeys: 6 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        const frame = { t: 'report' as const, seq: Number.MAX_SAFE_INTEGER, report: { kind: 'jobReturn' as const, tenant: 'acme', jid: 'j', minion: 'm', return: value, retcode: 0, success: true, durationMs: 1 } };
        expect(wireSizeBound(frame)).toBeGreaterThanOrEqual(encodeFrame(frame).length);
      }),
      { numRuns: 500 },
    );
  });

  it('the minion refuses more job args than the server accepts, and frames over the limit', () => {
    const command = (args: unknown[]) => encodeFrame({ t: 'command', command: { kind: 'runJob', tenant: 'acme', jid: 'j1', fun: 'test.echo', args, timeoutMs: 1 } });
    expect(decodeServerFrame(command(Array.from({ length: MAX_JOB_ARGS }, () => 1))).t).toBe('command');
    expect(() => decodeServerFrame(command(Array.from({ length: MAX_JOB_ARGS + 1 }, () => 1)))).toThrow(/frame.command.args: more than 10000 items/);
    expect(() => decodeServerFrame(command(['x'.repeat(MAX_FRAME_BYTES)]))).toThrow(/exceeds 1048576/);
  });
});
