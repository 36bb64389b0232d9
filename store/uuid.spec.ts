import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UUID_PATTERN, uuidv7, uuidv7Time } from './uuid.js';

describe('uuidv7', () => {
  it('has the version 7 and RFC 9562 variant bits and carries its millisecond', () => {
    const now = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const id = uuidv7(now);
    expect(id).toMatch(UUID_PATTERN);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
    expect(uuidv7Time(id)).toBeGreaterThanOrEqual(now);
  });

  it('is strictly increasing within one process, even when the clock stalls or goes backwards', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 3000 }), (steps) => {
        let clock = Date.now() + 10_000_000;
        let previous = uuidv7(clock);
        for (const step of steps) {
          clock += step;
          const next = uuidv7(clock);
          if (!(next > previous)) return false;
          previous = next;
        }
        return true;
      }),
      { numRuns: 50 },
    );
  });
});
