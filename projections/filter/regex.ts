import { RE2JS, RE2JSException } from 're2js';
import { FILTER_LIMITS } from './errors.js';

/**
 * `Re` patterns run on re2js (RE2 semantics: linear-time matching, no backreferences or
 * lookaround), so no pattern a client sends can stall the server. The syntax is Go's
 * `regexp` (what Digital Rebar uses), including inline flags such as `(?i)`.
 */

export type PatternError = { offset: number | null; reason: string };

const compiled = new Map<string, RE2JS>();
const CACHE_LIMIT = 1024;

/** Compiles (or reuses) a pattern; throws `PatternError` (a plain object) when it is not acceptable. */
export function compilePattern(pattern: string): RE2JS {
  const cached = compiled.get(pattern);
  if (cached !== undefined) return cached;
  if (pattern.length > FILTER_LIMITS.maxPatternLength) {
    throw { offset: FILTER_LIMITS.maxPatternLength, reason: `at most ${FILTER_LIMITS.maxPatternLength} characters` } satisfies PatternError;
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    const fragment = (error as { input?: string | null }).input;
    const at = typeof fragment === 'string' && fragment.length > 0 ? pattern.indexOf(fragment) : -1;
    const reason = (error as { error?: string }).error ?? error.message;
    throw { offset: at >= 0 ? at : null, reason } satisfies PatternError;
  }
  if (re.programSize() > FILTER_LIMITS.maxPatternProgramSize) {
    throw {
      offset: null,
      reason: `a smaller pattern (its program size ${re.programSize()} is over ${FILTER_LIMITS.maxPatternProgramSize})`,
    } satisfies PatternError;
  }
  // A bounded cache: patterns repeat across subscribers; the bound keeps hostile churn cheap.
  if (compiled.size >= CACHE_LIMIT) compiled.clear();
  compiled.set(pattern, re);
  return re;
}

/** A string test equivalent to the pattern's unanchored RE2 search. */
export type StringTest = (input: string) => boolean;

const META = new Set('\\.+*?()|[]{}^$'.split(''));

/**
 * Most patterns clients send are literals, perhaps anchored, perhaps alternated (`^acme:`,
 * `ERROR|WARN`, `\\.log$`). Those run as `startsWith`/`endsWith`/`includes`, which give the
 * same answers as RE2 (whose `^`/`$` without `(?m)` anchor at the text's ends only) without
 * running the automaton. Anything else goes to re2js.
 */
export function compileStringTest(pattern: string): StringTest {
  const literals = literalAlternatives(pattern);
  const re = compilePattern(pattern); // validates and caps even when a literal path is used
  if (literals === null) return (input) => re.test(input);
  if (literals.length === 1) return literalTest(literals[0]!);
  const tests = literals.map(literalTest);
  return (input) => {
    for (const test of tests) if (test(input)) return true;
    return false;
  };
}

interface Literal {
  text: string;
  atStart: boolean;
  atEnd: boolean;
}

function literalTest({ text, atStart, atEnd }: Literal): StringTest {
  if (atStart && atEnd) return (input) => input === text;
  if (atStart) return (input) => input.startsWith(text);
  if (atEnd) return (input) => input.endsWith(text);
  return (input) => input.includes(text);
}

/** The alternatives of a pattern made only of (escaped) literal characters, or null. */
export function literalAlternatives(pattern: string): Literal[] | null {
  const literals: Literal[] = [];
  let text = '';
  let atStart = false;
  let atEnd = false;
  for (let i = 0; i <= pattern.length; i++) {
    const ch = pattern[i];
    if (ch === undefined || ch === '|') {
      literals.push({ text, atStart, atEnd });
      text = '';
      atStart = false;
      atEnd = false;
      continue;
    }
    if (atEnd) return null; // something after '$'
    if (ch === '^' && text === '' && !atStart) atStart = true;
    else if (ch === '$' && (pattern[i + 1] === undefined || pattern[i + 1] === '|')) atEnd = true;
    else if (ch === '\\') {
      const next = pattern[i + 1];
      // Only escaped punctuation is a literal; \d, \b, \pL and friends are classes or assertions.
      if (next === undefined || !/[!-\/:-@[-`{-~]/.test(next)) return null;
      text += next;
      i++;
    } else if (META.has(ch)) return null;
    else text += ch;
  }
  return literals;
}

export const isPatternError = (error: unknown): error is PatternError =>
  typeof error === 'object' && error !== null && 'reason' in error && 'offset' in error && !(error instanceof Error);
