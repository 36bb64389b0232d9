import fc from 'fast-check';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import type { Change } from '../change.js';
import {
  compileFilter,
  compileSpecifier,
  isFilterSyntaxError,
  parseFilter,
  parseSpecifier,
  printFilter,
  printSpecifier,
  type FilterAst,
  type JsonValue,
  type Specifier,
} from './index.js';

// --- generators --------------------------------------------------------------------------

const segment = fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom(...'abcxyz_019-:é'.split('')) });
/** pointer segments may hold anything the field grammar allows, `/` and `~` escaped */
const pointerSegment = fc.string({ maxLength: 6, unit: fc.constantFrom(...'ab~/.:*[]{}é01'.split('')) });
const escapePointer = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');
const field = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('.')),
  fc.array(pointerSegment, { minLength: 1, maxLength: 3 }).map((s) => s.map((x) => `/${escapePointer(x)}`).join('')),
);
const value: fc.Arbitrary<JsonValue> = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>;
const pattern = fc.oneof(
  fc.constantFrom('^a', 'b$', '(?i)x|y', '[0-9]+', 'a.*b', '\\d{2,3}', ''),
  fc.string({ maxLength: 12 }).map((s) => RE2JS.quote(s)),
);

const filterAst: fc.Arbitrary<FilterAst> = fc.letrec<{ term: FilterAst }>((tie) => ({
  term: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ op: fc.constant('Exists' as const), field }),
    fc.record({ op: fc.constantFrom('Eq' as const, 'Ne' as const), field, value }),
    fc.record({ op: fc.constant('Re' as const), field, pattern }),
    fc.record({ op: fc.constantFrom('In' as const, 'Nin' as const), field, values: fc.array(value, { minLength: 1, maxLength: 4 }) }),
    fc.record({ op: fc.constant('Changed' as const), field, from: value, to: value }, { requiredKeys: ['op', 'field'] }),
    fc.record({ op: fc.constantFrom('And' as const, 'Or' as const), terms: fc.array(tie('term'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ op: fc.constant('Not' as const), term: tie('term') }),
  ),
})).term as fc.Arbitrary<FilterAst>;

const name = fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom(...'abz09_-:@$/+~'.split('')) });
const nameList: fc.Arbitrary<string[]> = fc.oneof(fc.constant<string[]>(['*']), fc.array(name, { minLength: 1, maxLength: 3 }));
const specifier: fc.Arbitrary<Specifier> = fc.record({
  types: nameList,
  actions: nameList,
  keys: nameList,
  filter: fc.option(filterAst, { nil: null }),
});

/** JSON's view of a tree: -0 becomes 0 and absent `from`/`to` stay absent, as in printed text */
const asJson = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

// --- laws --------------------------------------------------------------------------------

describe('round trip', () => {
  it('parseFilter(printFilter(ast)) equals ast', () => {
    fc.assert(
      fc.property(filterAst, (ast) => {
        const tree = asJson(ast);
        const text = printFilter(tree);
        expect(parseFilter(text)).toEqual(tree);
        expect(printFilter(parseFilter(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('parseSpecifier(printSpecifier(spec)) equals spec', () => {
    fc.assert(
      fc.property(specifier, (spec) => {
        const tree = asJson(spec);
        expect(parseSpecifier(printSpecifier(tree))).toEqual(tree);
      }),
      { numRuns: 300 },
    );
  });
});

// Small pools so that equalities actually happen.
const poolValue = fc.constantFrom<JsonValue>(0, 1, 'a', 'b', true, null, [1], { k: 'a' }, [], {});
const poolField = fc.constantFrom('x', 'y', 'o.k', '/arr/0');
const poolObject = fc.record(
  { x: poolValue, y: poolValue, o: fc.record({ k: poolValue }, { requiredKeys: [] }), arr: fc.array(poolValue, { maxLength: 2 }) },
  { requiredKeys: [] },
);
const poolChange = fc.record({ object: fc.option(poolObject, { nil: null }), original: fc.option(poolObject, { nil: null }) }).map(
  ({ object, original }): Change => ({
    position: 1,
    time: 0,
    id: 'x',
    stream: 'processes-acme:web:0',
    revision: 0,
    type: 'processes',
    action: 'stats',
    key: 'acme:web:0',
    tenant: 'acme',
    schema: 1,
    data: {},
    object: object as Record<string, unknown> | null,
    original: original as Record<string, unknown> | null,
  }),
);

describe('equivalences Digital Rebar states', () => {
  it('In(a,b,...) evaluates as Or(Eq(a),Eq(b),...)', () => {
    fc.assert(
      fc.property(poolField, fc.array(poolValue, { minLength: 1, maxLength: 4 }), poolChange, (f, values, c) => {
        const viaIn = compileFilter({ op: 'In', field: f, values });
        const viaOr = compileFilter({ op: 'Or', terms: values.map((v) => ({ op: 'Eq' as const, field: f, value: v })) });
        expect(viaIn(c)).toBe(viaOr(c));
      }),
      { numRuns: 1000 },
    );
  });

  it('Nin(...) evaluates as Not(In(...)), and Ne as Not(Eq)', () => {
    fc.assert(
      fc.property(poolField, fc.array(poolValue, { minLength: 1, maxLength: 4 }), poolChange, (f, values, c) => {
        expect(compileFilter({ op: 'Nin', field: f, values })(c)).toBe(compileFilter({ op: 'Not', term: { op: 'In', field: f, values } })(c));
        expect(compileFilter({ op: 'Ne', field: f, value: values[0]! })(c)).toBe(!compileFilter({ op: 'Eq', field: f, value: values[0]! })(c));
      }),
      { numRuns: 1000 },
    );
  });

  it('compiling parsed text and the tree agree on random changes', () => {
    fc.assert(
      fc.property(filterAst, poolChange, (ast, c) => {
        const tree = asJson(ast);
        expect(compileFilter(printFilter(tree))(c)).toBe(compileFilter(tree)(c));
      }),
      { numRuns: 300 },
    );
  });
});

describe('Re literal fast path', () => {
  // Patterns from an alphabet rich in anchors, alternation and escapes, so many of them are
  // literal alternatives (run as startsWith/endsWith/includes) and some are real regexps.
  const patternPart = fc.constantFrom('a', 'b', 'ab', '^', '$', '|', '\\.', '\\|', '\\$', '.', '\\d', ':', '-', '*', '');
  const literalish = fc.array(patternPart, { maxLength: 6 }).map((p) => p.join(''));
  const input = fc.string({ maxLength: 8, unit: fc.constantFrom('a', 'b', '.', '|', '$', ':', '1', '\n') });

  it('answers exactly as an unanchored RE2 search', () => {
    fc.assert(
      fc.property(literalish, input, (pattern, text) => {
        let re: RE2JS;
        try {
          re = RE2JS.compile(pattern);
        } catch {
          return; // not a pattern at all: the parser rejects it
        }
        const filter = compileFilter({ op: 'Re', field: 'v', pattern });
        expect(filter({ ...sample, object: { v: text } }), `${pattern} on ${JSON.stringify(text)}`).toBe(re.test(text));
      }),
      { numRuns: 3000 },
    );
  });
});

// --- hostile input -----------------------------------------------------------------------

const tokens = [
  'And(', 'Or(', 'Not(', ')', '(', ',', '=', 'Exists()', 'Eq(', 'Ne(', 'Re(', 'In(', 'Nin(', 'Changed(', '"', '\\', '\\u',
  '"a,b)"', '[', ']', '{', '}', ':', 'null', 'true', '-', '1e9', '0.5', 'a', 'b.c', '/x~1y', '~', '~2', '.', '*', ' ',
  'processes', 'minion_jobs', 'acme:host1', '"(a+)+$"', '"\\\\1"', '"(?=x)"', '\u0000', '\ud800', '😀',
];
const tokenSoup = fc.array(fc.constantFrom(...tokens), { maxLength: 40 }).map((t) => t.join(''));
const hostile = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ maxLength: 80, unit: 'binary' }),
  tokenSoup,
  tokenSoup.map((t) => `*.*.*.${t}`),
  tokenSoup.map((t) => `processes.exit.acme:web:0.state=${t}`),
  fc.tuple(tokenSoup, fc.integer({ min: 1, max: 200 })).map(([t, n]) => t.repeat(n)),
);

const sample: Change = {
  position: 1, time: 0, id: 'x', stream: 's', revision: 0, type: 'processes', action: 'exit', key: 'acme:web:0',
  tenant: 'acme', schema: 1, data: {}, object: { state: 'exited', a: 1, b: { c: 'x' } }, original: { state: 'running', a: 1 },
};

function onlySyntaxErrors(run: () => unknown, text: string): void {
  try {
    run();
  } catch (error) {
    if (!isFilterSyntaxError(error)) throw error;
    expect(error.position).toBeGreaterThanOrEqual(0);
    expect(error.position).toBeLessThanOrEqual(text.length);
  }
}

describe('hostile input', () => {
  it('never throws anything but FilterSyntaxError, and what parses round-trips and evaluates', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        onlySyntaxErrors(() => {
          const ast = parseFilter(text);
          expect(parseFilter(printFilter(ast))).toEqual(ast);
          compileFilter(ast)(sample);
        }, text);
        onlySyntaxErrors(() => {
          const spec = parseSpecifier(text);
          expect(parseSpecifier(printSpecifier(spec))).toEqual(spec);
          compileSpecifier(spec)(sample);
        }, text);
      }),
      { numRuns: 3000 },
    );
  });

  it('parses worst-case input in linear time', () => {
    // Deep nesting up to the cap, long lists and long strings, all at the 4 KiB limit.
    const inputs = [
      `${'Not('.repeat(31)}a=In(${'1,'.repeat(200)}1)${')'.repeat(31)}`,
      `a=Eq("${'\\"'.repeat(2000)}")`,
      `Or(${'a=Exists(),'.repeat(250)}a=Exists())`,
      `a=Eq(${'['.repeat(32)}${']'.repeat(32)})`,
      '('.repeat(4096),
      `*.*.*.${'And('.repeat(1000)}`,
    ];
    const started = performance.now();
    for (let i = 0; i < 100; i++) for (const text of inputs) onlySyntaxErrors(() => parseFilter(text), text);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
