import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../store/index.js';
import { WATCHER_SPEC_DEFAULTS, diffWatcherSpecs, normalizeSignal, parseWatcherSpec } from './spec.js';

describe('parseWatcherSpec', () => {
  it('fills every default', () => {
    expect(parseWatcherSpec({ cmd: 'sleep' })).toEqual({ ...WATCHER_SPEC_DEFAULTS, cmd: 'sleep' });
  });

  it('names the field in errors, with or without a path prefix', () => {
    expect(() => parseWatcherSpec({ cmd: 'x', numprocesses: 1.5 })).toThrow('numprocesses: must be an integer >= 0');
    expect(() => parseWatcherSpec({ cmd: 'x', restart: { delayMs: -1 } }, 'body')).toThrow('body.restart.delayMs: must be an integer >= 0');
    expect(() => parseWatcherSpec({ cmd: 'x', restart: { delay: 1 } }, 'body')).toThrow('body.restart.delay: unknown field');
    expect(() => parseWatcherSpec({ cmd: 'x', env: { 'BAD-NAME': 'v' } })).toThrow('env.BAD-NAME: is not a valid environment variable name');
    expect(() => parseWatcherSpec({ cmd: 'x', env: { A: { nested: true } } })).toThrow('env.A: must be a string');
    expect(() => parseWatcherSpec({ cmd: 'x', args: 'a b' })).toThrow('args: must be a list of strings');
    expect(() => parseWatcherSpec({ cmd: 'x', minion: 'Host:1' })).toThrow('minion: must be a minion id');
    expect(() => parseWatcherSpec({ cmd: 'x', active: 'yes' })).toThrow('active: must be true or false');
    expect(() => parseWatcherSpec({ cmd: 'x', ready: { kind: 'http', port: 80, path: 'health' } })).toThrow('ready.path: must be a URL path');
    expect(() => parseWatcherSpec({ cmd: 'x', ready: { kind: 'delay' } })).toThrow('ready.delayMs: is required');
    expect(() => parseWatcherSpec({ cmd: 'x', logs: { maxLines: 0 } })).toThrow('logs.maxLines: must be an integer >= 1');
    expect(() => parseWatcherSpec(null, 'w')).toThrow('w: must be an object');
    expect(() => parseWatcherSpec({ cmd: 'x', stopSignal: 'SIGNOPE' })).toThrow(InvalidArgumentError);
  });

  it('refuses what the minion would refuse in its spawn command (actors/minion/limits.ts), naming the limit', () => {
    const at = 'tenants.acme.watchers.web';
    expect(() => parseWatcherSpec({ cmd: 'x', args: Array.from({ length: 10_001 }, () => 'a') }, at)).toThrow(`${at}.args: at most 10000 arguments (got 10001)`);
    expect(() => parseWatcherSpec({ cmd: 'x', args: ['a', 'b'.repeat(65_537)] }, at)).toThrow(`${at}.args[1]: at most 65536 characters (got 65537)`);
    expect(() => parseWatcherSpec({ cmd: 'c'.repeat(4097) }, at)).toThrow(`${at}.cmd: at most 4096 characters (got 4097)`);
    expect(() => parseWatcherSpec({ cmd: 'x', cwd: '/'.repeat(4097) }, at)).toThrow(`${at}.cwd: at most 4096 characters`);
    expect(() => parseWatcherSpec({ cmd: 'x', env: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`V${i}`, ''])) }, at)).toThrow(`${at}.env: at most 1000 variables (got 1001)`);
    expect(() => parseWatcherSpec({ cmd: 'x', env: { A: 'v'.repeat(65_537) } }, at)).toThrow(`${at}.env.A: at most 65536 characters`);
    expect(() => parseWatcherSpec({ cmd: 'x', env: { ['N'.repeat(257)]: '1' } }, at)).toThrow(/name of at most 256 characters \(got 257\)/);
    expect(() => parseWatcherSpec({ cmd: 'x', ready: { kind: 'http', port: 80, path: `/${'p'.repeat(2048)}` } }, at)).toThrow(`${at}.ready.path: at most 2048 characters`);
    expect(() => parseWatcherSpec({ cmd: 'x', args: Array.from({ length: 20 }, () => 'z'.repeat(60_000)) }, at)).toThrow(
      `${at}: cmd, args, env and cwd take more than 1032192 bytes in a minion frame: over what the minion frame limit of 1048576 bytes leaves for them`,
    );
    // at the limits: accepted
    expect(parseWatcherSpec({ cmd: 'x', args: Array.from({ length: 10_000 }, () => 'a') }).args).toHaveLength(10_000);
  });

  it('normalizes signals and readiness shorthands', () => {
    expect(normalizeSignal('hup')).toBe('SIGHUP');
    expect(normalizeSignal('SIGKILL')).toBe('SIGKILL');
    expect(parseWatcherSpec({ cmd: 'x', ready: 'notify' }).ready).toEqual({ kind: 'notify' });
    expect(parseWatcherSpec({ cmd: 'x', ready: { kind: 'http', port: 8080, path: '/health', timeoutMs: 500 } }).ready).toEqual({
      kind: 'http',
      port: 8080,
      path: '/health',
      timeoutMs: 500,
    });
  });

  it('applies a partial update over a base spec (PATCH), merging nested restart fields', () => {
    const base = parseWatcherSpec({ cmd: 'node', args: ['a.js'], numprocesses: 3, restart: { delayMs: 10 } });
    const patched = parseWatcherSpec({ numprocesses: 5, restart: { maxRetries: 0 } }, '', base);
    expect(patched).toEqual({ ...base, numprocesses: 5, restart: { delayMs: 10, minAliveMs: 5000, maxRetries: 0 } });
    expect(diffWatcherSpecs(base, patched)).toEqual(['numprocesses', 'restart']);
    expect(() => parseWatcherSpec({ cmd: '' }, '', base)).toThrow('cmd: is required');
  });

  it('never shares nested objects with the defaults or the base', () => {
    const spec = parseWatcherSpec({ cmd: 'x' });
    spec.restart.delayMs = 1;
    spec.args.push('y');
    expect(WATCHER_SPEC_DEFAULTS.restart.delayMs).toBe(1000);
    expect(WATCHER_SPEC_DEFAULTS.args).toEqual([]);
  });
});

describe('diffWatcherSpecs', () => {
  it('lists changed top-level fields, comparing deeply', () => {
    const a = parseWatcherSpec({ cmd: 'x', env: { A: '1' } });
    expect(diffWatcherSpecs(a, parseWatcherSpec({ cmd: 'x', env: { A: '1' } }))).toEqual([]);
    expect(diffWatcherSpecs(a, parseWatcherSpec({ cmd: 'y', env: { A: '2' }, ready: { kind: 'notify' } }))).toEqual(['cmd', 'env', 'ready']);
  });
});

describe('laws', () => {
  const specInput = fc.record(
    {
      cmd: fc.string({ minLength: 1 }).filter((s) => s.trim() !== '' && !s.includes('\0')),
      args: fc.array(fc.string().filter((s) => !s.includes('\0')), { maxLength: 4 }),
      env: fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), fc.string().filter((s) => !s.includes('\0')), { maxKeys: 3 }),
      numprocesses: fc.integer({ min: 0, max: 10_000 }),
      restart: fc.record({ delayMs: fc.nat(100_000), minAliveMs: fc.nat(100_000), maxRetries: fc.nat(50) }, { requiredKeys: [] }),
      ready: fc.oneof(
        fc.constant({ kind: 'none' }),
        fc.record({ kind: fc.constant('tcp'), port: fc.integer({ min: 1, max: 65535 }) }),
        fc.record({ kind: fc.constant('delay'), delayMs: fc.nat(60_000) }),
      ),
      stopSignal: fc.constantFrom('SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGKILL'),
      active: fc.boolean(),
    },
    { requiredKeys: ['cmd'] },
  );

  it('parsing is idempotent: a parsed spec parses to itself and differs from itself nowhere', () => {
    fc.assert(
      fc.property(specInput, (input) => {
        const once = parseWatcherSpec(input);
        const twice = parseWatcherSpec(once);
        expect(twice).toEqual(once);
        expect(diffWatcherSpecs(once, twice)).toEqual([]);
      }),
    );
  });

  it('any negative count is rejected, naming the field', () => {
    fc.assert(
      fc.property(fc.integer({ max: -1 }), fc.constantFrom('numprocesses', 'stopWaitMs'), (value, field) => {
        expect(() => parseWatcherSpec({ cmd: 'x', [field]: value }, 'w')).toThrow(`w.${field}: must be an integer >= 0`);
      }),
    );
  });
});
