import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../store/index.js';
import { FilterSyntaxError, isFilterSyntaxError, parseFilter, parseSpecifier, printFilter, printSpecifier } from './index.js';

function syntaxError(run: () => unknown): FilterSyntaxError {
  try {
    run();
  } catch (error) {
    expect(isFilterSyntaxError(error)).toBe(true);
    return error as FilterSyntaxError;
  }
  throw new Error('expected a FilterSyntaxError');
}

describe('parseSpecifier', () => {
  it('reads type.action.key with wildcards and comma lists', () => {
    expect(parseSpecifier('*.*.*')).toEqual({ types: ['*'], actions: ['*'], keys: ['*'], filter: null });
    expect(parseSpecifier('processes,jobs.exit,complete.acme:web:0,acme:20261123153646699137')).toEqual({
      types: ['processes', 'jobs'],
      actions: ['exit', 'complete'],
      keys: ['acme:web:0', 'acme:20261123153646699137'],
      filter: null,
    });
    expect(parseSpecifier('minion_jobs,watcher_processes.*.acme:host1').types).toEqual(['minion_jobs', 'watcher_processes']);
  });

  it('takes everything after the third dot as the filter, dots and all', () => {
    const spec = parseSpecifier('minions.*.*.And(grains.os=Eq("linux.gnu"),/grains/a.b=Re("^x\\\\.y$"))');
    expect(spec.filter).toEqual({
      op: 'And',
      terms: [
        { op: 'Eq', field: 'grains.os', value: 'linux.gnu' },
        { op: 'Re', field: '/grains/a.b', pattern: '^x\\.y$' },
      ],
    });
  });

  it('rejects malformed heads with the position in the whole specifier', () => {
    const cases: [string, number, RegExp][] = [
      ['', 0, /type name or '\*'/],
      ['processes', 9, /'\.' after the type list/],
      ['processes.', 10, /action name or '\*'/],
      ['processes.*', 11, /'\.' after the action list/],
      ['processes.*.', 12, /key name or '\*'/],
      ['processes,.*.*', 10, /type name/],
      ['processes.*.*.', 14, /filter term/],
      ['processes.*x.*', 11, /wildcard stands alone/],
      ['a,*.b.c', 2, /type name/],
      ['processes.*.state=Eq("x")', 17, /',', '\.' \(before a filter\) or the end/],
      [' processes.*.*', 0, /type name or '\*'/],
      ['processes.*.acme:web:0 ', 22, /end of the specifier/],
    ];
    for (const [text, position, expected] of cases) {
      const error = syntaxError(() => parseSpecifier(text));
      expect(error.position, text).toBe(position);
      expect(error.expected, text).toMatch(expected);
    }
  });

  it('reports filter errors at their index in the whole specifier', () => {
    const error = syntaxError(() => parseSpecifier('processes.*.*.state=Eq("x"'));
    expect(error.position).toBe(26);
    expect(error.expected).toMatch(/'\)'/);
    expect(error.message).toBe(`filter: expected ')' (Eq takes one value) at character 26, found the end of the text: processes.*.*.state=Eq("x"^`);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.code).toBe('bad-request');
    expect(error.details).toEqual({ position: 26, expected: error.expected });
  });

  it('caps the text length', () => {
    const error = syntaxError(() => parseSpecifier(`*.*.*.a=Eq("${'x'.repeat(5000)}")`));
    expect(error.position).toBe(4096);
  });
});

describe('parseFilter', () => {
  it('reads every term', () => {
    const text =
      'Or(Not(a=Exists()),b.c=Eq({"x":[1,2.5e3,true,null]}),d=Ne(null),e=Re("^r"),f=In(1,"2",[3]),g=Nin(false),' +
      'h=Changed(),i=Changed("a"),j=Changed(,"b"),k=Changed(1,2))';
    expect(parseFilter(text)).toEqual({
      op: 'Or',
      terms: [
        { op: 'Not', term: { op: 'Exists', field: 'a' } },
        { op: 'Eq', field: 'b.c', value: { x: [1, 2500, true, null] } },
        { op: 'Ne', field: 'd', value: null },
        { op: 'Re', field: 'e', pattern: '^r' },
        { op: 'In', field: 'f', values: [1, '2', [3]] },
        { op: 'Nin', field: 'g', values: [false] },
        { op: 'Changed', field: 'h' },
        { op: 'Changed', field: 'i', from: 'a' },
        { op: 'Changed', field: 'j', to: 'b' },
        { op: 'Changed', field: 'k', from: 1, to: 2 },
      ],
    });
    expect(printFilter(parseFilter(text))).toBe(text.replace('2.5e3', '2500'));
  });

  it('reads the Changed slots: empty means unspecified, null is a value', () => {
    expect(parseFilter('s=Changed("a",)')).toEqual({ op: 'Changed', field: 's', from: 'a' });
    expect(parseFilter('s=Changed(,)')).toEqual({ op: 'Changed', field: 's' });
    expect(parseFilter('s=Changed(null,null)')).toEqual({ op: 'Changed', field: 's', from: null, to: null });
    expect(printFilter(parseFilter('s=Changed( "a" , )'))).toBe('s=Changed("a")');
  });

  it('accepts whitespace between tokens and prints it away', () => {
    const ast = parseFilter(' And( state = Eq( "running" ) ,\n\tpid=In( 1 , 2 ) , x=Changed( , 3 ) ) ');
    expect(printFilter(ast)).toBe('And(state=Eq("running"),pid=In(1,2),x=Changed(,3))');
  });

  it('keeps commas, parentheses, quotes and escapes inside JSON strings and structures', () => {
    const ast = parseFilter('And(a=Eq("x,y)(z\\"q\\\\"),b=In({"k,(":")"},["],["]),c=Eq("\\u00e9\\n"))');
    expect(ast).toEqual({
      op: 'And',
      terms: [
        { op: 'Eq', field: 'a', value: 'x,y)(z"q\\' },
        { op: 'In', field: 'b', values: [{ 'k,(': ')' }, ['],[']] },
        { op: 'Eq', field: 'c', value: 'é\n' },
      ],
    });
    expect(parseFilter(printFilter(ast))).toEqual(ast);
  });

  it('reads JSON pointers with ~0 and ~1 escapes', () => {
    expect(parseFilter('/minions/host~01~1x/retcode=Eq(0)')).toEqual({ op: 'Eq', field: '/minions/host~01~1x/retcode', value: 0 });
    expect(syntaxError(() => parseFilter('/a/b~2=Eq(0)')).position).toBe(4);
  });

  it('keeps a member named __proto__ as data', () => {
    const ast = parseFilter('a=Eq({"__proto__":{"x":1}})') as { value: Record<string, unknown> };
    expect(Object.getPrototypeOf(ast.value)).toBe(Object.prototype);
    expect(Object.keys(ast.value)).toEqual(['__proto__']);
    expect(printFilter(ast as never)).toBe('a=Eq({"__proto__":{"x":1}})');
  });

  it('says what was expected and where, for many malformed filters', () => {
    const cases: [string, number, RegExp][] = [
      ['', 0, /filter term/],
      ['state', 5, /'=' after the field "state"/],
      ['state=', 6, /an operator \(Exists, Eq, Ne, Re, In, Nin, Changed\)/],
      ['state=Equals("x")', 6, /an operator/],
      ['state=Eq', 8, /'\(' after Eq/],
      ['state=Eq(', 9, /JSON value/],
      ['state=Eq(running)', 9, /strings need double quotes/],
      ['state=Eq("x"', 12, /'\)'/],
      ['state=Eq("x",1)', 12, /Eq takes one value/],
      ['state=Eq("x"))', 13, /end of the filter/],
      ['state=Exists(1)', 13, /Exists takes no value/],
      ['state=In()', 9, /JSON value/],
      ['state=In(1,)', 11, /JSON value/],
      ['state=In(1 2)', 11, /',' or '\)' closing In\(/],
      ['state=Re(1)', 9, /JSON string holding the regular expression/],
      ['state=Re("(a")', 10, /valid RE2 regular expression \(missing closing \)\)/],
      ['state=Re("a)")', 10, /unexpected \)/],
      ['state=Re("x\\\\1")', 9, /invalid escape/],
      ['state=Re("(?=x)")', 10, /valid RE2/],
      ['state=Changed(1,2,3)', 17, /at most a from and a to/],
      ['And()', 4, /filter term/],
      ['And(a=Exists(),)', 15, /filter term/],
      ['And(a=Exists()', 14, /',' or '\)' closing And\(/],
      ['Not(a=Exists(),b=Exists())', 14, /Not\( \(it takes one term\)/],
      ['Eq(1)', 2, /'=' and an operator after the field "Eq"/],
      ['a..b=Eq(1)', 2, /field name between dots/],
      ['.a=Eq(1)', 0, /field name between dots/],
      ['=Eq(1)', 0, /filter term/],
      ['a=Eq(01)', 6, /'\)'/],
      ['a=Eq(1.)', 7, /a digit/],
      ['a=Eq(-)', 6, /a digit/],
      ['a=Eq(1e)', 7, /a digit/],
      ['a=Eq(1e999)', 5, /range of a double/],
      ['a=Eq(tru)', 5, /JSON value/],
      ['a=Eq("abc)', 10, /'"' closing the string/],
      ['a=Eq("a\tb")', 7, /control character/],
      ['a=Eq("\\x")', 7, /an escape/],
      ['a=Eq("\\u12g4")', 8, /four hex digits/],
      ['a=Eq([1,2)', 9, /',' or '\]'/],
      ['a=Eq({"a" 1})', 10, /':' after a member name/],
      ['a=Eq({a:1})', 6, /member name/],
      ['a=Eq({"a":1,})', 12, /member name/],
      ['a=Eq({"a":1]', 11, /',' or '\}'/],
    ];
    for (const [text, position, expected] of cases) {
      const error = syntaxError(() => parseFilter(text));
      expect(error.position, text).toBe(position);
      expect(error.expected, text).toMatch(expected);
      expect(error.message, text).toContain(`at character ${position}`);
    }
  });

  it('caps nesting of terms and of JSON values', () => {
    const deepTerms = `${'Not('.repeat(40)}a=Exists()${')'.repeat(40)}`;
    expect(syntaxError(() => parseFilter(deepTerms)).expected).toMatch(/at most 32 nested terms/);
    expect(() => parseFilter(`${'Not('.repeat(31)}a=Exists()${')'.repeat(31)}`)).not.toThrow();
    const deepJson = `a=Eq(${'['.repeat(40)}${']'.repeat(40)})`;
    expect(syntaxError(() => parseFilter(deepJson)).expected).toMatch(/nested JSON/);
  });

  it('caps list lengths', () => {
    const many = `a=In(${Array.from({ length: 300 }, (_, i) => i).join(',')})`;
    expect(syntaxError(() => parseFilter(many)).expected).toMatch(/at most 256 values in In/);
    const names = `${Array.from({ length: 300 }, (_, i) => `t${i}`).join(',')}.*.*`;
    expect(syntaxError(() => parseSpecifier(names)).expected).toMatch(/at most 256 names in the type list/);
  });

  it('limits Re patterns in length and program size', () => {
    expect(syntaxError(() => parseFilter(`a=Re("${'x'.repeat(1100)}")`)).expected).toMatch(/at most 1024 characters/);
    expect(syntaxError(() => parseFilter('a=Re("[\\\\s\\\\S]{1000}x{500}")')).expected).toMatch(/program size/);
  });
});

describe('printSpecifier', () => {
  it('round-trips written specifiers', () => {
    for (const text of [
      '*.*.*',
      'processes.exit.acme:web:0',
      'minion_jobs,jobs.*.acme:host1.state=Changed("pending","complete")',
      'watcher_processes.spawn,exit.acme:web./minions/a~1b=Exists()',
    ]) {
      expect(printSpecifier(parseSpecifier(text))).toBe(text);
    }
  });
});
