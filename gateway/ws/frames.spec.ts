// The native JSON encoder writes its frames by hand (no intermediate object per event) and
// formats times with a per-second cache: both must stay byte-identical to JSON.stringify
// and Date#toISOString, which define the wire format.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Change } from '../../projections/index.js';
import { EncodeTurn, iso, NativeEventFormat } from './frames.js';

const json = fc.jsonValue();
const optional = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arbitrary, { nil: undefined });

const change: fc.Arbitrary<Change> = fc
  .record({
    position: fc.nat(),
    time: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    type: fc.constantFrom('jobs', 'logs', 'processes', 'connections'),
    action: fc.string(),
    key: fc.string(),
    tenant: optional(fc.option(fc.string(), { nil: null })),
    data: optional(json),
    object: optional(fc.dictionary(fc.string(), json)),
    original: optional(fc.option(fc.dictionary(fc.string(), json), { nil: null })),
  })
  .map((record) => record as unknown as Change);

/**
 * The frame as README's native protocol defines it, built the obvious way: `logs` carry
 * `object` and `original` only with `"objects": true`.
 */
function reference(sub: string, c: Change, objects: boolean): string {
  const fields: Record<string, unknown> = { op: 'event', sub, pos: c.position, time: new Date(c.time).toISOString(), type: c.type, action: c.action, key: c.key };
  if (c.tenant !== undefined) fields.tenant = c.tenant;
  fields.data = c.data ?? null;
  if (objects || c.type !== 'logs') {
    fields.object = c.object;
    fields.original = c.original;
  }
  return JSON.stringify(fields);
}

describe('native JSON frames', () => {
  it('equal JSON.stringify of the event object, single and batched, with and without objects', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(change, { maxLength: 5 }), (sub, changes) => {
        // one turn for all four formats: the memo must keep their bodies apart
        const turn = new EncodeTurn(2);
        for (const objects of [false, true]) {
          const single = new NativeEventFormat(sub, 'json', 2, false, objects).encode(changes, turn);
          expect(single).toEqual(changes.map((c) => reference(sub, c, objects)));
          const batched = new NativeEventFormat(sub, 'json', 2, true, objects).encode(changes, turn);
          expect(batched).toEqual([`[${changes.map((c) => reference(sub, c, objects)).join(',')}]`]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('iso() equals Date#toISOString, including runs within one second and fractional times', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 253_402_300_799_999 }), fc.double({ min: 0, max: 4e12, noNaN: true })), { maxLength: 20 }), (times) => {
        for (const t of times) {
          expect(iso(t)).toBe(new Date(t).toISOString());
          expect(iso(Math.floor(t) + 1)).toBe(new Date(Math.floor(t) + 1).toISOString());
        }
      }),
    );
  });
});
