import { describe, expect, it } from 'vitest';
import type { MinionReport, RunJobCommand } from '../../actors/index.js';
import { collectGrains, parseGrainArguments, parseGrainValue } from '../../ops/minion/grains.js';
import { CMD_OUTPUT_CAP_BYTES, truncationMarker } from '../../ops/minion/job-functions.js';
import { MAX_JOB_RETURN_WIRE_BYTES, wireSizeBound } from '../../actors/index.js';
import { CANCELLED_RETCODE, FORGOTTEN_RETURN, JobRunner, TIMEOUT_RETCODE } from '../../ops/minion/jobs.js';
import { Supervisor } from '../../ops/minion/supervisor.js';
import { nodeSpawn, pidAlive, waitFor } from './helpers.js';

type JobReturn = Extract<MinionReport, { kind: 'jobReturn' }>;
let jidCounter = 0;
const job = (fun: string, args: unknown[] = [], timeoutMs = 0): RunJobCommand => ({
  kind: 'runJob',
  tenant: 'acme',
  jid: `2026010112000000${String(++jidCounter).padStart(4, '0')}`,
  fun,
  args,
  timeoutMs,
});

function runner(options: Partial<ConstructorParameters<typeof JobRunner>[0]> = {}) {
  const returns: JobReturn[] = [];
  const jobs = new JobRunner({
    minionId: 'host1',
    report: (r) => r.kind === 'jobReturn' && returns.push(r),
    grains: () => collectGrains({ role: 'web' }),
    ...options,
  });
  const result = (jid: string) => waitFor(() => returns.find((r) => r.jid === jid), `return of ${jid}`, 15_000);
  return { jobs, returns, result };
}

describe('job functions', () => {
  it('test.ping, test.echo, grains.items return their values', async () => {
    const { jobs, result } = runner();
    const ping = job('test.ping');
    const echo = job('test.echo', ['hello']);
    const grains = job('grains.items');
    for (const command of [ping, echo, grains]) jobs.run(command);
    expect(await result(ping.jid)).toMatchObject({ return: true, retcode: 0, success: true, minion: 'host1', tenant: 'acme' });
    expect((await result(echo.jid)).return).toBe('hello');
    expect((await result(grains.jid)).return).toMatchObject({ os: process.platform, role: 'web', cpus: expect.any(Number) });
  });

  it('cmd.run returns stdout, stderr and retcode', async () => {
    const { jobs, result } = runner();
    const command = job('cmd.run', ['echo hi; echo err >&2; exit 3']);
    jobs.run(command);
    const ret = await result(command.jid);
    expect(ret.return).toEqual({ stdout: 'hi\n', stderr: 'err\n', retcode: 3 });
    expect(ret).toMatchObject({ retcode: 3, success: false });
    const good = job('cmd.run', ['echo hi']);
    jobs.run(good);
    expect(await result(good.jid)).toMatchObject({ return: { stdout: 'hi\n', stderr: '', retcode: 0 }, success: true });
  });

  it('cmd.run cuts its output to fit one minion frame, marked truncated with the original sizes', async () => {
    const { jobs, result } = runner();
    const command = job('cmd.run', ['head -c 3000000 /dev/zero | tr "\\0" a']);
    jobs.run(command);
    const ret = (await result(command.jid)).return as { stdout: string; stderr: string; retcode: number; truncated: boolean; originalBytes: unknown };
    expect(ret.retcode).toBe(0);
    expect(ret.truncated).toBe(true);
    expect(ret.originalBytes).toEqual({ stdout: 3_000_000, stderr: 0 });
    expect(ret.stdout.length).toBe(CMD_OUTPUT_CAP_BYTES + truncationMarker(CMD_OUTPUT_CAP_BYTES, 3_000_000).length);
    expect(ret.stdout.endsWith(`\n[corral: output truncated at ${CMD_OUTPUT_CAP_BYTES} of 3000000 bytes]`)).toBe(true);
    expect(wireSizeBound(ret)).toBeLessThanOrEqual(MAX_JOB_RETURN_WIRE_BYTES);
  });

  it('cmd.run shares the cap between stdout and stderr; invalid UTF-8 still fits', async () => {
    const { jobs, result } = runner();
    const both = job('cmd.run', ['head -c 900000 /dev/zero | tr "\\0" a; head -c 900000 /dev/zero | tr "\\0" b >&2']);
    jobs.run(both);
    const ret = (await result(both.jid)).return as { stdout: string; stderr: string; truncated: boolean; originalBytes: unknown };
    expect(ret.truncated).toBe(true);
    expect(ret.originalBytes).toEqual({ stdout: 900_000, stderr: 900_000 });
    expect(ret.stdout.startsWith('aaa') && ret.stderr.startsWith('bbb')).toBe(true);
    expect(wireSizeBound(ret)).toBeLessThanOrEqual(MAX_JOB_RETURN_WIRE_BYTES);
    // a small stderr is kept whole next to a big stdout
    const small = job('cmd.run', ['echo oops >&2; head -c 2000000 /dev/zero | tr "\\0" a']);
    jobs.run(small);
    const smallRet = (await result(small.jid)).return as { stderr: string; truncated: boolean };
    expect(smallRet).toMatchObject({ stderr: 'oops\n', truncated: true });
    // 0xff bytes decode to 3-byte replacement characters: cut by their encoded size
    const binary = job('cmd.run', ['head -c 1000000 /dev/zero | tr "\\0" "\\377"']);
    jobs.run(binary);
    const binaryRet = (await result(binary.jid)).return as { stdout: string; truncated: boolean };
    expect(binaryRet.truncated).toBe(true);
    expect(wireSizeBound(binaryRet)).toBeLessThanOrEqual(MAX_JOB_RETURN_WIRE_BYTES);
    // output within the cap is returned as before: no truncated field
    const fits = job('cmd.run', ['head -c 500000 /dev/zero | tr "\\0" a']);
    jobs.run(fits);
    const fitsRet = (await result(fits.jid)).return as Record<string, unknown>;
    expect(Object.keys(fitsRet).sort()).toEqual(['retcode', 'stderr', 'stdout']);
    expect((fitsRet.stdout as string).length).toBe(500_000);
  });

  it('any other function whose return does not fit a frame returns {truncated, originalBytes, head}', async () => {
    const { jobs, result } = runner({ functions: { 'big.list': async () => ({ return: Array.from({ length: 300_000 }, (_, i) => i), retcode: 0, success: true }) } });
    const command = job('big.list');
    jobs.run(command);
    const ret = await result(command.jid);
    const value = ret.return as { truncated: boolean; originalBytes: number; head: string };
    expect(ret).toMatchObject({ success: true, retcode: 0 });
    expect(value.truncated).toBe(true);
    expect(value.originalBytes).toBe(JSON.stringify(Array.from({ length: 300_000 }, (_, i) => i)).length);
    expect(value.head.startsWith('[0,1,2,3')).toBe(true);
    expect(wireSizeBound(value)).toBeLessThanOrEqual(MAX_JOB_RETURN_WIRE_BYTES);
  });

  it('cmd.run kills the command group at its timeout', async () => {
    const { jobs, result } = runner();
    const command = job('cmd.run', ['echo started; sleep 30 & echo $! ; wait', 'timeout=0.5']);
    const started = Date.now();
    jobs.run(command);
    const ret = await result(command.jid);
    expect(Date.now() - started).toBeLessThan(5000);
    const value = ret.return as { stdout: string; timedOut: string; retcode: number };
    expect(ret.success).toBe(false);
    expect(value.timedOut).toMatch(/killed after 500 ms/);
    const sleeper = Number(value.stdout.split('\n')[1]);
    await waitFor(() => !pidAlive(sleeper), 'background sleep killed', 3000);
  });

  it('unknown functions and bad arguments are clear failed returns', async () => {
    const { jobs, result } = runner();
    const unknown = job('no.such');
    const badSleep = job('test.sleep', ['soon']);
    const badCmd = job('cmd.run', []);
    for (const command of [unknown, badSleep, badCmd]) jobs.run(command);
    expect(await result(unknown.jid)).toMatchObject({ success: false, return: expect.stringMatching(/^'no.such' is not available/) });
    expect((await result(badSleep.jid)).return).toMatch(/test.sleep: seconds \(argument 1\) must be a non-negative number, got "soon"/);
    expect((await result(badCmd.jid)).return).toMatch(/cmd.run: argument 1 must be a non-empty command string/);
  });

  it('proc.list lists the supervised processes of the job tenant', async () => {
    const supervisor = new Supervisor({ report: () => {}, statsIntervalMs: 0 });
    const mine = nodeSpawn('setTimeout(() => {}, 30000)');
    const theirs = nodeSpawn('setTimeout(() => {}, 30000)', { tenant: 'other', processKey: 'other:web:0' });
    supervisor.spawn(mine);
    supervisor.spawn(theirs);
    try {
      const { jobs, result } = runner({ supervisor });
      const command = job('proc.list');
      jobs.run(command);
      const list = (await result(command.jid)).return as { processKey: string; pid: number }[];
      expect(list.map((p) => p.processKey)).toEqual([mine.processKey]);
      expect(list[0]!.pid).toBeGreaterThan(0);
    } finally {
      await supervisor.stopAll();
      supervisor.close();
    }
  });
});

describe('JobRunner', () => {
  it('runs at most maxConcurrent functions at once and queues the rest', async () => {
    let running = 0;
    let peak = 0;
    const { jobs, returns } = runner({
      maxConcurrent: 3,
      functions: {
        'test.busy': async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 50));
          running -= 1;
          return { return: true, retcode: 0, success: true };
        },
      },
    });
    for (let i = 0; i < 12; i++) jobs.run(job('test.busy'));
    await waitFor(() => returns.length === 12, '12 returns');
    expect(peak).toBe(3);
  });

  it('default concurrency is 8', async () => {
    const { jobs, returns } = runner();
    const sleeps = Array.from({ length: 10 }, () => job('test.sleep', [30]));
    for (const command of sleeps) jobs.run(command);
    expect(jobs.list().filter((j) => j.state === 'running')).toHaveLength(8);
    expect(jobs.list().filter((j) => j.state === 'queued')).toHaveLength(2);
    jobs.cancelAll();
    await waitFor(() => returns.length === 10, 'all cancelled');
    expect(returns.every((r) => r.retcode === CANCELLED_RETCODE && !r.success)).toBe(true);
  });

  it('cancel ends a running test.sleep and a running cmd.run early', async () => {
    const { jobs, result } = runner();
    const sleep = job('test.sleep', ['60']);
    const cmd = job('cmd.run', ['sleep 60']);
    jobs.run(sleep);
    jobs.run(cmd);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    jobs.cancel({ kind: 'cancelJob', tenant: 'acme', jid: sleep.jid });
    jobs.cancel({ kind: 'cancelJob', tenant: 'acme', jid: cmd.jid });
    expect(await result(sleep.jid)).toMatchObject({ success: false, retcode: CANCELLED_RETCODE, return: `job ${sleep.jid} was cancelled` });
    expect(await result(cmd.jid)).toMatchObject({ success: false, retcode: CANCELLED_RETCODE });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a job past its timeoutMs is stopped with a timeout return', async () => {
    const { jobs, result } = runner();
    const sleep = job('test.sleep', [5], 300);
    jobs.run(sleep);
    expect(await result(sleep.jid)).toMatchObject({ success: false, retcode: TIMEOUT_RETCODE, return: expect.stringMatching(/timed out after 300 ms/) });
  });

  it('a repeated jid runs once; after it finished the same return is reported again', async () => {
    let calls = 0;
    const { jobs, returns } = runner({ functions: { 'test.count': async () => ({ return: ++calls, retcode: 0, success: true }) } });
    const command = job('test.count');
    jobs.run(command);
    jobs.run(command);
    await waitFor(() => returns.length === 1, 'first return');
    jobs.run(command);
    expect(returns).toHaveLength(2);
    expect(returns[1]).toEqual(returns[0]);
    expect(calls).toBe(1);
  });
});

describe('JobRunner memory', () => {
  it('remembers a large return only as a note (the full return was delivered once)', async () => {
    const { jobs, returns } = runner();
    const big = job('test.echo', ['x'.repeat(100_000)]);
    jobs.run(big);
    await waitFor(() => returns.length === 1, 'first return');
    expect(returns[0]!.return).toHaveLength(100_000);
    jobs.run(big);
    expect(returns[1]!.return).toBe(FORGOTTEN_RETURN);
    expect(returns[1]!.retcode).toBe(returns[0]!.retcode);
  });
});

describe('grains', () => {
  it('collects host facts and custom grains with parsed values', () => {
    const custom = parseGrainArguments(['role=web', 'rack=12', 'ssd=true', 'ratio=0.5', 'version=1.2.3', 'zip=007']);
    expect(custom).toEqual({ role: 'web', rack: 12, ssd: true, ratio: 0.5, version: '1.2.3', zip: '007' });
    const grains = collectGrains(custom);
    expect(grains).toMatchObject({ os: process.platform, arch: process.arch, nodeVersion: process.versions.node, role: 'web' });
    expect(grains.cpus).toBeGreaterThan(0);
    expect(grains.memory).toBeGreaterThan(0);
    expect(typeof grains.hostname).toBe('string');
    expect(parseGrainValue('false')).toBe(false);
    expect(parseGrainValue('-3')).toBe(-3);
    expect(parseGrainValue('99999999999999999999')).toBe('99999999999999999999');
  });

  it('rejects malformed --grain arguments with the argument in the message', () => {
    expect(() => parseGrainArguments(['novalue'])).toThrow(/--grain "novalue": expected key=value/);
    expect(() => parseGrainArguments(['=x'])).toThrow(/expected key=value/);
    expect(() => parseGrainArguments(['bad key=x'])).toThrow(/--grain "bad key=x": grain names/);
  });
});
