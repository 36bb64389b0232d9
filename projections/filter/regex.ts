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

export const isPatternError = (error: unknown): error is PatternError =>
  typeof error === 'object' && error !== null && 'reason' in error && 'offset' in error && !(error instanceof Error);
