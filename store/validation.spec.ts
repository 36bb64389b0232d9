// Payloads with a `__proto__` member cannot round-trip (msgpackr renames the key when it
// decodes), so an append carrying one is refused with the path, and nothing is written.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openMemoryStore } from './index.js';
import { InvalidArgumentError } from './errors.js';

describe('append validation: __proto__ members', () => {
  it('refuses data or meta holding one, at any depth, with its path; writes nothing', async () => {
    const store = openMemoryStore();
    const hostile = JSON.parse('{"a":[1,{"b":{"__proto__":{"polluted":true}}}]}');
    await expect(store.append('jobs-x', [{ type: 'jobs', action: 'create', key: 'k', data: hostile }])).rejects.toThrow(
      /invalid data: a member named "__proto__" at data\.a\[1\]\.b\.__proto__ cannot be stored/,
    );
    await expect(store.append('jobs-x', [{ type: 'jobs', action: 'create', key: 'k', data: null, meta: JSON.parse('{"__proto__":1}') }])).rejects.toThrow(
      InvalidArgumentError,
    );
    expect(await store.readAll({})).toEqual([]);
    // a value (not a key) named __proto__ is fine
    await store.append('jobs-x', [{ type: 'jobs', action: 'create', key: 'k', data: { v: '__proto__', list: ['__proto__'] } }]);
    expect((await store.readAll({})).length).toBe(1);
    await store.close();
  });

  it('stores every JSON payload without a __proto__ member unchanged (round trip)', async () => {
    const store = openMemoryStore();
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v ?? null)) as unknown),
        async (data) => {
          const refused = JSON.stringify(data).includes('"__proto__":');
          const appended = store.append('jobs-x', [{ type: 'jobs', action: 'create', key: 'k', data }]);
          if (refused) return void (await expect(appended).rejects.toThrow(InvalidArgumentError));
          const { positions } = await appended;
          const [event] = await store.readAll({ after: positions[0]! - 1, limit: 1 });
          expect(event!.data).toEqual(data);
        },
      ),
      { numRuns: 300 },
    );
    await store.close();
  });
});
