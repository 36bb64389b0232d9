import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Principal } from '../auth/index.js';
import { parseQuery } from './endpoint.js';
import { scopeOf, scopeTenants } from './scope.js';

describe('parseQuery', () => {
  it('gives what Object.fromEntries(new URLSearchParams(query)) gives', () => {
    // names and values from characters that matter to the form encoding, escapes included
    const piece = fc.array(fc.constantFrom('a', 'b', 'Z', '0', '-', '.', '_', '~', '=', '+', '%', '%2', '%20', '%3D', '%26', '%C3%A9', '%ZZ', '%E2%82', ':', ' '), { maxLength: 6 }).map((parts) => parts.join(''));
    const query = fc.array(piece, { maxLength: 6 }).map((pairs) => pairs.join('&'));
    fc.assert(
      fc.property(query, (text) => {
        const expected = Object.fromEntries(new URLSearchParams(text));
        delete (expected as Record<string, unknown>)['__proto__']; // a plain record drops it (never read)
        expect({ ...parseQuery(text) }).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the last of a repeated name and reads a JWT as written', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJlLV8';
    expect(parseQuery(`token=old&x&token=${jwt}`)).toEqual({ token: jwt, x: '' });
    expect(parseQuery('')).toEqual({});
  });
});

describe('scopeOf', () => {
  it('is one frozen scope per principal, listing its tenants sorted', () => {
    const principal = new Principal('ann', { beta: 'read', acme: 'operate' }, 'token');
    const scope = scopeOf(principal);
    expect(scopeOf(principal)).toBe(scope);
    expect(scope.key).toBe('acme,beta');
    expect([...scope.tenants]).toEqual(['acme', 'beta']);
    expect(scopeTenants(scope)).toEqual(['acme', 'beta']);
    expect(Object.isFrozen(scopeTenants(scope))).toBe(true);
    const other = scopeOf(new Principal('bob', { acme: 'read', beta: 'read' }, 'token'));
    expect(other.key).toBe(scope.key);
    expect(scopeTenants(scopeOf(new Principal('root', { '*': 'admin' }, 'token')))).toEqual(['*']);
  });
});
