import { describe, expect, it } from 'vitest';
import { assertName, isValidName, InvalidArgumentError } from '../store/index.js';

describe('names', () => {
  it('accepts valid names (docs/architecture.md, Events) and rejects the separators the subscription syntax splits on', () => {
    expect(isValidName('acme')).toBe(true);
    expect(isValidName('web_1-a')).toBe(true);
    for (const bad of ['', 'Acme', 'a.b', 'a:b', 'a,b', 'a/b', '-a', 'a'.repeat(64)]) expect(isValidName(bad)).toBe(false);
    expect(() => assertName('tenant', 'a:b')).toThrow(InvalidArgumentError);
  });
});
