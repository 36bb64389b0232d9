import {
  ANY,
  AccessDeniedError,
  MaxAppendSizeExceededError,
  NO_STREAM,
  STREAM_EXISTS,
  StreamDeletedError,
  UnavailableError as KurrentUnavailableError,
  WrongExpectedVersionError,
  type RecordedEvent as KurrentRecordedEvent,
} from '@kurrent/kurrentdb-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CorruptStoreError,
  EventTooLargeError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  WrongExpectedRevisionError,
} from '../errors.js';
import { STREAM_PATTERN } from '../keys.js';
import type { EventToAppend } from '../types.js';
import { compileSelection, selectionMatches } from '../validation.js';
import { translateDriverError } from './driver-errors.js';
import { toCorralMetadata, withRetention, withTruncation } from './stream-metadata.js';
import {
  checkNamespace,
  compareKurrentPositions,
  eventTypeRegex,
  fromCurrentStreamState,
  fromKurrentEvent,
  fromKurrentStream,
  parseKurrentEventType,
  toKurrentEvent,
  toKurrentStream,
  toKurrentStreamPrefix,
  toServerFilter,
  toStreamState,
} from './mapping.js';

const corralStream = fc.stringMatching(/^[$a-z][a-zA-Z0-9_:.$-]{0,40}$/);
const namespace = fc.option(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,10}$/), { nil: undefined });

describe('stream names', () => {
  it('maps system-looking Corral streams out of KurrentDB\'s `$` namespace and back', () => {
    expect(toKurrentStream('$components', undefined)).toBe('_$components');
    expect(toKurrentStream('$leader', 'prod')).toBe('prod/_$leader');
    expect(toKurrentStream('tenant-acme', undefined)).toBe('tenant-acme');
    expect(toKurrentStream('process-acme:web:0', 'prod')).toBe('prod/process-acme:web:0');
    expect(fromKurrentStream('_$components', undefined)).toBe('$components');
    expect(fromKurrentStream('prod/_$leader', 'prod')).toBe('$leader');
  });

  it('round-trips every Corral stream name, with and without a namespace', () => {
    fc.assert(
      fc.property(corralStream, namespace, (stream, ns) => {
        const name = toKurrentStream(stream, ns);
        expect(name.startsWith('$')).toBe(false); // never a KurrentDB system stream
        expect(fromKurrentStream(name, ns)).toBe(stream);
      }),
    );
  });

  it('is injective: a KurrentDB name decodes only to the stream that encodes to it', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), namespace, (name, ns) => {
        const stream = fromKurrentStream(name, ns);
        if (stream !== undefined) expect(toKurrentStream(stream, ns)).toBe(name);
      }),
    );
  });

  it('does not claim KurrentDB system streams, metadata streams, other namespaces or other apps\' names', () => {
    for (const name of ['$all', '$settings', '$$tenant-acme', '$stats-127.0.0.1:2113', '_other', 'Orders-1', 'a/b']) {
      expect(fromKurrentStream(name, undefined)).toBeUndefined();
    }
    expect(fromKurrentStream('tenant-acme', 'prod')).toBeUndefined();
    expect(fromKurrentStream('test/tenant-acme', 'prod')).toBeUndefined();
    expect(fromKurrentStream('prod/$all', 'prod')).toBeUndefined();
  });

  it('maps stream prefixes so that the KurrentDB prefix selects a superset', () => {
    fc.assert(
      fc.property(corralStream, fc.string({ maxLength: 6 }), namespace, (stream, prefix, ns) => {
        const kurrentPrefix = toKurrentStreamPrefix(prefix, ns) ?? '';
        if (stream.startsWith(prefix)) expect(toKurrentStream(stream, ns).startsWith(kurrentPrefix)).toBe(true);
      }),
    );
    expect(toKurrentStreamPrefix('$comp', undefined)).toBe('_$comp');
    expect(toKurrentStreamPrefix(undefined, undefined)).toBeUndefined();
    expect(toKurrentStreamPrefix('', 'prod')).toBe('prod/');
  });

  it('validates namespaces', () => {
    expect(checkNamespace(undefined)).toBeUndefined();
    expect(checkNamespace('')).toBeUndefined();
    expect(checkNamespace('corral-test.1')).toBe('corral-test.1');
    for (const bad of ['$x', 'a/b', 'has space', '-x', 'x'.repeat(65), 42]) {
      expect(() => checkNamespace(bad)).toThrow(InvalidArgumentError);
    }
  });
});

describe('revisions and positions', () => {
  it('maps expected revisions onto KurrentDB stream states', () => {
    expect(toStreamState('any')).toBe(ANY);
    expect(toStreamState('noStream')).toBe(NO_STREAM);
    expect(toStreamState('streamExists')).toBe(STREAM_EXISTS);
    expect(toStreamState(0)).toBe(0n);
    expect(toStreamState(41)).toBe(41n);
  });

  it('maps KurrentDB current states back to revisions (no stream is -1)', () => {
    expect(fromCurrentStreamState(NO_STREAM)).toBe(-1);
    expect(fromCurrentStreamState(7n)).toBe(7);
  });

  it('orders positions by commit, then prepare', () => {
    expect(compareKurrentPositions({ commit: 1n, prepare: 9n }, { commit: 2n, prepare: 0n })).toBe(-1);
    expect(compareKurrentPositions({ commit: 2n, prepare: 3n }, { commit: 2n, prepare: 2n })).toBe(1);
    expect(compareKurrentPositions({ commit: 2n, prepare: 2n }, { commit: 2n, prepare: 2n })).toBe(0);
  });
});

describe('driver error translation', () => {
  it('turns a wrong expected version into a conflict that names both revisions', () => {
    const error = translateDriverError(
      new WrongExpectedVersionError(undefined, { streamName: 'ns/cc', expected: 5n, current: 0n }),
      { stream: 'cc', expected: 5 },
    );
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(error).toMatchObject({ code: 'conflict', stream: 'cc', expected: 5, actual: 0 });
    expect(error.message).toBe('stream cc: expected revision 5, found revision 0');
    const missing = translateDriverError(
      new WrongExpectedVersionError(undefined, { streamName: 'cc', expected: STREAM_EXISTS, current: NO_STREAM }),
      { stream: 'cc', expected: 'streamExists' },
    );
    expect(missing.message).toBe('stream cc: expected revision streamExists, found no stream');
  });

  it('turns connection problems into UnavailableError, whatever shape the client reports them in', () => {
    const grpcUnavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
    const deadline = Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 });
    for (const driverError of [new KurrentUnavailableError(), grpcUnavailable, deadline, new Error('connect ECONNREFUSED 127.0.0.1:2113')]) {
      const error = translateDriverError(driverError, { operation: 'append to x' });
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.message).toMatch(/^append to x: KurrentDB is unavailable/);
      expect(error.cause).toBe(driverError);
    }
    expect(translateDriverError(new AccessDeniedError())).toBeInstanceOf(UnavailableError);
  });

  it('maps size refusals, deleted streams and unknown errors', () => {
    const tooLarge = translateDriverError(MaxAppendSizeExceededError.fromMaxAppendSize(1000), { size: 2000 });
    expect(tooLarge).toBeInstanceOf(EventTooLargeError);
    expect(tooLarge.message).toBe('event of 2000 bytes exceeds the limit of 1000 bytes');
    expect(translateDriverError(StreamDeletedError.fromStreamName('x'), { stream: 'x' })).toBeInstanceOf(NotFoundError);
    const unknown = translateDriverError(new Error('boom'));
    expect(unknown).toMatchObject({ code: 'internal' });
    expect(unknown.message).toMatch(/unexpected KurrentDB error: boom/);
    const ours = new InvalidArgumentError('already ours');
    expect(translateDriverError(ours)).toBe(ours);
  });
});

/** What the client hands back for an event written by `toKurrentEvent` (it parses JSON metadata). */
function asRecorded(stream: string, event: EventToAppend, revision: bigint, commit: bigint, parseMetadata = true): KurrentRecordedEvent {
  const prepared = toKurrentEvent(event, 1024 * 1024).event;
  const metadata = prepared.metadata as Uint8Array;
  return {
    streamId: stream,
    id: prepared.id,
    isJson: false,
    revision,
    type: prepared.type,
    created: new Date(1_750_000_000_123),
    data: prepared.data as Uint8Array,
    metadata: parseMetadata ? JSON.parse(Buffer.from(metadata).toString('utf8')) : metadata,
    position: { commit, prepare: commit },
  } as KurrentRecordedEvent;
}

describe('envelope <-> KurrentDB event', () => {
  const full: EventToAppend = {
    id: '0190e7c4-1d2b-7c3a-8f00-0123456789ab',
    type: 'processes',
    action: 'exit',
    key: 'acme:web:0',
    tenant: 'acme',
    schema: 2,
    data: { code: 1, signal: null, list: [1, 'two', { deep: true }], big: 2 ** 40, text: 'ü€' },
    meta: { principal: 'admin', correlationId: 'corr-1', causationId: 'cause-1', node: 'host:42' },
  };

  it('writes `<type>.<action>`, binary MessagePack data and the envelope as JSON metadata', () => {
    const { event, id, size } = toKurrentEvent(full, 1024 * 1024);
    expect(id).toBe(full.id);
    expect(event.type).toBe('processes.exit');
    expect(event.contentType).toBe('application/octet-stream');
    const metadata = JSON.parse(Buffer.from(event.metadata as Uint8Array).toString('utf8'));
    expect(metadata).toEqual({
      corral: 1, key: 'acme:web:0', tenant: 'acme', schema: 2,
      meta: full.meta, $correlationId: 'corr-1', $causationId: 'cause-1',
    });
    expect(size).toBe((event.data as Uint8Array).length + (event.metadata as Uint8Array).length);
  });

  it('round-trips the whole envelope (metadata parsed by the client or left as bytes)', () => {
    for (const parse of [true, false]) {
      const recorded = fromKurrentEvent(asRecorded('prod/process-acme:web:0', full, 3n, 123_456n, parse), 'prod', undefined);
      expect(recorded).toEqual({
        id: full.id, stream: 'process-acme:web:0', type: 'processes', action: 'exit', key: 'acme:web:0', tenant: 'acme',
        schema: 2, revision: 3, position: 123_456, time: 1_750_000_000_123, data: full.data, meta: full.meta,
      });
    }
  });

  it('round-trips arbitrary payloads and optional fields', () => {
    // `__proto__` members are refused by the shared validation before any backend encodes (store/validation.ts)
    const payload = fc
      .jsonValue()
      .filter((v) => v !== undefined && !JSON.stringify(v).includes('"__proto__":'))
      .map((v) => JSON.parse(JSON.stringify(v)) as unknown);
    fc.assert(
      fc.property(corralStream, payload, fc.option(fc.constant('acme'), { nil: undefined }), fc.integer({ min: 1, max: 9 }), (stream, data, tenant, schema) => {
        const event: EventToAppend = { type: 'jobs', action: 'return', key: 'acme:1', data, schema, ...(tenant === undefined ? {} : { tenant }) };
        const recorded = fromKurrentEvent(asRecorded(toKurrentStream(stream, undefined), event, 0n, 99n), undefined, undefined)!;
        expect(recorded.stream).toBe(stream);
        expect(recorded.data).toEqual(data);
        expect(recorded.tenant).toBe(tenant);
        expect(recorded.schema).toBe(schema);
        expect(recorded.meta).toEqual({});
        expect(recorded.id[14]).toBe('7'); // a generated UUIDv7
      }),
      { numRuns: 200 },
    );
  });

  it('rejects oversized events and non-UUID ids before anything is sent', () => {
    const big: EventToAppend = { type: 'logs', action: 'line', key: 'k', data: { line: 'x'.repeat(2000) } };
    expect(() => toKurrentEvent(big, 1000)).toThrow(EventTooLargeError);
    expect(() => toKurrentEvent(big, 1000)).toThrow(/exceeds the limit of 1000 bytes/);
    expect(toKurrentEvent(big, 1024 * 1024).size).toBeGreaterThan(2000);
    expect(() => toKurrentEvent({ ...big, id: 'not-a-uuid' }, 1024 * 1024)).toThrow(/needs a UUID/);
  });

  it('skips events that are not Corral\'s and refuses broken ones', () => {
    const ok = asRecorded('tenant-acme', { type: 'tenants', action: 'create', key: 'acme', data: {} }, 0n, 10n);
    expect(fromKurrentEvent({ ...ok, type: '$metadata' }, undefined, undefined)).toBeUndefined();
    expect(fromKurrentEvent({ ...ok, streamId: '$settings' }, undefined, undefined)).toBeUndefined();
    expect(fromKurrentEvent({ ...ok, type: 'OrderPlaced' }, undefined, undefined)).toBeUndefined();
    expect(fromKurrentEvent({ ...ok, metadata: { foreign: true } }, undefined, undefined)).toBeUndefined();
    expect(fromKurrentEvent(ok, 'prod', undefined)).toBeUndefined(); // outside the namespace
    expect(() => fromKurrentEvent({ ...ok, data: new Uint8Array([0x93, 0x01]) } as KurrentRecordedEvent, undefined, undefined)).toThrow(CorruptStoreError);
    expect(() => fromKurrentEvent({ ...ok, metadata: { corral: 1, key: 3 } }, undefined, undefined)).toThrow(CorruptStoreError);
    // servers before 22.6 give stream reads no position: refuse rather than invent one
    const old = { ...ok, position: { commit: 18446744073709551615n, prepare: 18446744073709551615n } };
    expect(() => fromKurrentEvent(old, undefined, undefined)).toThrow(UnavailableError);
  });

  it('parses `<type>.<action>` event types', () => {
    expect(parseKurrentEventType('processes.spawn')).toEqual({ type: 'processes', action: 'spawn' });
    for (const bad of ['nodot', '.x', 'x.', '$stats.collected']) expect(parseKurrentEventType(bad)).toBeUndefined();
  });
});

describe('server-side filters', () => {
  const typeName = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);

  it('selects by event-type regex exactly what the selection selects (and never `$` types)', () => {
    fc.assert(
      fc.property(
        fc.option(fc.uniqueArray(typeName, { maxLength: 3 }), { nil: undefined }),
        fc.option(fc.uniqueArray(typeName, { maxLength: 3 }), { nil: undefined }),
        typeName,
        typeName,
        (types, excludeTypes, type, action) => {
          const selection = compileSelection({ ...(types ? { types } : {}), ...(excludeTypes ? { excludeTypes } : {}) });
          const regex = new RegExp(eventTypeRegex(selection.types, selection.excludeTypes));
          expect(regex.test(`${type}.${action}`)).toBe(selectionMatches(selection, type, 'any-stream'));
          expect(regex.test(`$${type}.${action}`)).toBe(false);
        },
      ),
    );
  });

  it('picks the event-type filter for type selections and the stream-name filter otherwise', () => {
    expect(toServerFilter(compileSelection({ excludeTypes: ['logs'], streamPrefix: 'log-' }), 'prod')).toMatchObject({
      filterOn: 'eventType', regex: '^(?!\\$)(?!(?:logs)\\.)',
    });
    expect(toServerFilter(compileSelection({ streamPrefix: '$comp' }), 'prod')).toMatchObject({ filterOn: 'streamName', prefixes: ['prod/_$comp'] });
    expect(toServerFilter(compileSelection({}), 'prod')).toMatchObject({ filterOn: 'streamName', prefixes: ['prod/'] });
    expect(toServerFilter(compileSelection({}), undefined)).toMatchObject({ filterOn: 'eventType', regex: '^[^$]' });
  });
});

describe('stream metadata', () => {
  it('reports the exact retention age while KurrentDB\'s seconds still agree with it', () => {
    expect(toCorralMetadata({ maxCount: 10 })).toEqual({ maxCount: 10 });
    expect(toCorralMetadata({ maxAge: 2, corralMaxAgeMs: 1500 })).toEqual({ maxAgeMs: 1500 });
    expect(toCorralMetadata({ maxAge: 60, corralMaxAgeMs: 1500 })).toEqual({ maxAgeMs: 60_000 }); // changed by another tool
    expect(toCorralMetadata({ truncateBefore: 4 })).toEqual({});
  });

  it('replaces retention but keeps truncation, ACLs and other tools\' fields', () => {
    const current = { truncateBefore: 4, maxCount: 5, acl: { readRoles: ['ops'] }, owner: 'billing' };
    expect(withRetention(current, { maxAgeMs: 1500 })).toEqual({ truncateBefore: 4, maxAge: 2, corralMaxAgeMs: 1500, acl: { readRoles: ['ops'] }, owner: 'billing' });
    expect(withRetention(current, {})).toEqual({ truncateBefore: 4, acl: { readRoles: ['ops'] }, owner: 'billing' });
    expect(toCorralMetadata(withRetention({}, { maxCount: 10, maxAgeMs: 60_000 }))).toEqual({ maxCount: 10, maxAgeMs: 60_000 });
  });

  it('only ever moves truncation forwards', () => {
    expect(withTruncation({ maxCount: 5 }, 3)).toEqual({ maxCount: 5, truncateBefore: 3 });
    expect(withTruncation({ truncateBefore: 7 }, 3)).toBeUndefined();
    expect(withTruncation({ truncateBefore: 7 }, 7)).toBeUndefined();
    expect(withTruncation({}, 0)).toBeUndefined();
  });
});

it('stream names produced for KurrentDB never match Corral\'s own pattern with a namespace separator', () => {
  // the `/` of a namespace is what keeps namespaced names out of Corral's name space
  expect(STREAM_PATTERN.test('prod/tenant-acme')).toBe(false);
});
