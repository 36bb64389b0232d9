import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob, matchTargets } from '../../actors/index.js';
import type { Grains } from '../../actors/index.js';
import { isInvalidArgumentError } from '../../store/index.js';

const minion = (id: string, grains: Record<string, unknown> = {}) => ({
  id,
  grains: { os: 'linux', arch: 'x64', hostname: id, cpus: 2, memory: 1, nodeVersion: 'v20', ...grains } as Grains,
});

const fleet = [
  minion('web1', { roles: ['web', 'frontend'], location: { dc: 'eu-west' }, osrelease: '22.04' }),
  minion('web2', { roles: ['web'], location: { dc: 'us-east' } }),
  minion('web10', { os: 'Linux' }),
  minion('db1', { os: 'freebsd', roles: ['db'], ssd: true, cpus: 16 }),
  minion('build-a', { os: 'darwin' }),
];

/** Python's fnmatch.translate as a reference oracle (a regex, so only for short inputs). */
function fnmatchOracle(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i++] as string;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) out += '\\[';
      else {
        let stuff = pattern.slice(i, j);
        const negated = stuff.startsWith('!');
        if (negated) stuff = stuff.slice(1);
        const parts: string[] = [];
        for (let k = 0; k < stuff.length; ) {
          const lo = stuff[k] as string;
          if (stuff[k + 1] === '-' && k + 2 < stuff.length) {
            const hi = stuff[k + 2] as string;
            if (lo <= hi) parts.push(`\\u${lo.charCodeAt(0).toString(16).padStart(4, '0')}-\\u${hi.charCodeAt(0).toString(16).padStart(4, '0')}`);
            k += 3;
          } else {
            parts.push(`\\u${lo.charCodeAt(0).toString(16).padStart(4, '0')}`);
            k += 1;
          }
        }
        const body = parts.join('');
        out += negated ? (body === '' ? '[\\s\\S]' : `[^${body}]`) : body === '' ? '(?!)' : `[${body}]`;
        i = j + 1;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^(?:${out})$`, 's');
}

describe('glob targets (Salt fnmatch over minion ids)', () => {
  it.each([
    ['*', ['web1', 'web2', 'web10', 'db1', 'build-a']],
    ['web*', ['web1', 'web2', 'web10']],
    ['web?', ['web1', 'web2']],
    ['web[12]', ['web1', 'web2']],
    ['web[!1]', ['web2']],
    ['web[0-9]*', ['web1', 'web2', 'web10']],
    ['*1', ['web1', 'db1']],
    ['*b*', ['web1', 'web2', 'web10', 'db1', 'build-a']],
    ['db1', ['db1']],
    ['nothing*', []],
    ['**', ['web1', 'web2', 'web10', 'db1', 'build-a']],
    ['web[]1]', ['web1']],
  ])('%s', (tgt, expected) => {
    expect(matchTargets(tgt, 'glob', fleet)).toEqual(expected);
  });

  it('defaults to glob when no type is given', () => {
    expect(matchTargets('web?', undefined, fleet)).toEqual(['web1', 'web2']);
  });
});

describe('list targets', () => {
  it.each([
    ['web1,db1', ['web1', 'db1']],
    [' web1 , db1 ', ['web1', 'db1']],
    ['web1,ghost', ['web1']],
    ['db1', ['db1']],
    ['db1,db1', ['db1']],
  ])('%s', (tgt, expected) => {
    expect(matchTargets(tgt, 'list', fleet)).toEqual(expected);
  });
});

describe('grain targets', () => {
  it.each([
    ['os:linux', ['web1', 'web2', 'web10']], // case-insensitive like Salt
    ['os:LIN*', ['web1', 'web2', 'web10']],
    ['os:freebsd', ['db1']],
    ['roles:web', ['web1', 'web2']], // arrays match if any element matches
    ['roles:front*', ['web1']],
    ['location:dc:eu-*', ['web1']], // nested keys with ':'
    ['location:*', ['web1', 'web2']], // a dict value matches '*'
    ['location:dc', ['web1', 'web2']], // ...or one of its keys
    ['cpus:16', ['db1']],
    ['ssd:true', ['db1']],
    ['osrelease:22.04', ['web1']],
    ['missing:x', []],
  ])('%s', (tgt, expected) => {
    expect(matchTargets(tgt, 'grain', fleet)).toEqual(expected);
  });
});

describe('bad targets are clear errors', () => {
  it.each([
    ['', 'glob', /empty glob target/],
    ['   ', 'list', /empty list target/],
    ['web[1', 'glob', /unclosed '\[' at position 3/],
    ['web 1', 'glob', /whitespace or control character at position 3/],
    ['web1,web2', 'glob', /use tgtType "list"/],
    ['web1,,web2', 'list', /entry 2 is empty/],
    ['web1,Web2', 'list', /entry 2 "Web2" is not a minion id/],
    ['linux', 'grain', /expected key:value/],
    [':linux', 'grain', /grain key before ':' is empty/],
    ['os:', 'grain', /value after the last ':' is empty/],
    ['*', 'pcre', /unknown target type "pcre": expected one of glob, list, grain/],
    ['*', 42, /unknown target type number/],
    [null, 'glob', /target must be a string/],
    ['x'.repeat(2000), 'glob', /over the limit of 1024/],
  ])('%j as %j', (tgt, tgtType, message) => {
    let caught: unknown;
    try {
      matchTargets(tgt, tgtType, fleet);
    } catch (error) {
      caught = error;
    }
    expect(isInvalidArgumentError(caught)).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});

const idArbitrary = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/);
const globAlphabet = fc.constantFrom('a', 'b', 'c', '*', '?', '[', ']', '!', '-');

describe('target properties', () => {
  it('glob "*" matches every minion', () => {
    fc.assert(
      fc.property(fc.uniqueArray(idArbitrary, { maxLength: 30 }), (ids) => {
        expect(matchTargets('*', 'glob', ids.map((id) => minion(id)))).toEqual(ids);
      }),
    );
  });

  it('list matching equals set membership', () => {
    fc.assert(
      fc.property(fc.uniqueArray(idArbitrary, { maxLength: 20 }), fc.array(idArbitrary, { minLength: 1, maxLength: 10 }), (ids, listed) => {
        const matched = matchTargets(listed.join(' , '), 'list', ids.map((id) => minion(id)));
        expect(matched).toEqual(ids.filter((id) => listed.includes(id)));
      }),
    );
  });

  it('the linear glob matcher agrees with fnmatch (a regex oracle)', () => {
    fc.assert(
      fc.property(fc.array(globAlphabet, { maxLength: 10 }).map((chars) => chars.join('')), fc.stringMatching(/^[abc\-\]!\[]{0,10}$/), (pattern, text) => {
        expect(compileGlob(pattern).matches(text)).toBe(fnmatchOracle(pattern).test(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('the matcher never throws except InvalidArgumentError, on any input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.constantFrom('glob', 'list', 'grain', 'bogus', ''), (tgt, tgtType) => {
        try {
          matchTargets(tgt, tgtType, fleet);
        } catch (error) {
          expect(isInvalidArgumentError(error)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('hostile patterns run in linear time (no backtracking blow-up)', () => {
    // `a*a*a*...b` against `aaaa...`: exponential for a naive backtracking matcher.
    const pattern = `${'a*'.repeat(500)}b`;
    const text = 'a'.repeat(1000);
    const glob = compileGlob(pattern);
    const started = performance.now();
    expect(glob.matches(text)).toBe(false);
    expect(compileGlob(`*${'a'.repeat(20)}b*`).matches(`${'a'.repeat(5000)}x`)).toBe(false);
    expect(compileGlob(`${'*a'.repeat(300)}*`).matches('ab'.repeat(299))).toBe(false);
    expect(compileGlob(`${'*a'.repeat(300)}*`).matches('ab'.repeat(300))).toBe(true);
    const hostile = matchTargets(`${'*a'.repeat(40)}*b`, 'glob', [minion('a'.repeat(63))]);
    expect(hostile).toEqual([]);
    // generous bound: about |pattern| x |text| simple steps, milliseconds on any machine
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
