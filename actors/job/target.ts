import { InvalidArgumentError, isValidName } from '../../store/index.js';
import type { ConnectedMinion } from '../minion/port.js';
import type { TargetType } from './events.js';
import { compileGlob, GlobSyntaxError, type CompiledGlob } from './glob.js';

/**
 * Salt's targeting: which connected minions a job goes to.
 * - `glob`: fnmatch over minion ids (`*`, `web*`, `web?`, `web[12]`), case-sensitive as on POSIX.
 * - `list`: a comma list of minion ids (`web1, web2`).
 * - `grain`: `key:value` where value is a glob, matched case-insensitively as Salt's
 *   `subdict_match` does; nested keys use `:` too (`roles:web`, `location:dc:eu*`), and every
 *   split of the expression into a key path and a pattern is tried, like Salt. A grain whose
 *   value is an array matches if any element matches; a dict value matches `*` or a key.
 */
export const TARGET_TYPES: readonly TargetType[] = ['glob', 'list', 'grain'];
export const MAX_TARGET_LENGTH = 1024;

export interface CompiledTarget {
  readonly tgt: string;
  readonly tgtType: TargetType;
  matches(minion: Pick<ConnectedMinion, 'id' | 'grains'>): boolean;
}

const describe = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : typeof value;

// Whitespace and control characters never occur in ids and usually mean a shell quoting slip.
const FORBIDDEN_CHARACTER = /[\s\p{Cc}]/u;

function assertTargetText(tgt: unknown, tgtType: TargetType): string {
  if (typeof tgt !== 'string') throw new InvalidArgumentError(`target must be a string, got ${describe(tgt)}`, { field: 'tgt' });
  if (tgt.trim() === '') throw new InvalidArgumentError(`empty ${tgtType} target: say which minions (e.g. "*")`, { field: 'tgt' });
  if (tgt.length > MAX_TARGET_LENGTH) {
    throw new InvalidArgumentError(`target is ${tgt.length} characters long, over the limit of ${MAX_TARGET_LENGTH}`, { field: 'tgt' });
  }
  return tgt;
}

function compileIdGlob(tgt: string): CompiledGlob {
  const bad = FORBIDDEN_CHARACTER.exec(tgt);
  if (bad) {
    throw new InvalidArgumentError(
      `malformed glob target ${describe(tgt)}: whitespace or control character at position ${bad.index}`,
      { field: 'tgt' },
    );
  }
  if (tgt.includes(',')) {
    throw new InvalidArgumentError(`malformed glob target ${describe(tgt)}: ',' never occurs in minion ids; use tgtType "list" for a comma list`, {
      field: 'tgt',
    });
  }
  try {
    return compileGlob(tgt, { unclosedBracket: 'error' });
  } catch (error) {
    if (error instanceof GlobSyntaxError) {
      throw new InvalidArgumentError(`malformed glob target ${describe(tgt)}: ${error.message}`, { field: 'tgt', position: error.position });
    }
    throw error;
  }
}

function compileList(tgt: string): Set<string> {
  const ids = new Set<string>();
  const entries = tgt.split(',');
  entries.forEach((entry, index) => {
    const id = entry.trim();
    if (id === '') {
      throw new InvalidArgumentError(`malformed list target ${describe(tgt)}: entry ${index + 1} is empty`, { field: 'tgt' });
    }
    if (!isValidName(id)) {
      throw new InvalidArgumentError(
        `malformed list target ${describe(tgt)}: entry ${index + 1} ${describe(id)} is not a minion id (lowercase letters, digits, '_' and '-')`,
        { field: 'tgt' },
      );
    }
    ids.add(id);
  });
  return ids;
}

interface GrainSplit {
  path: string[];
  pattern: CompiledGlob;
}

function compileGrain(tgt: string): GrainSplit[] {
  const parts = tgt.split(':');
  if (parts.length < 2) {
    throw new InvalidArgumentError(`malformed grain target ${describe(tgt)}: expected key:value (e.g. "os:linux")`, { field: 'tgt' });
  }
  if ((parts[0] as string).trim() === '') {
    throw new InvalidArgumentError(`malformed grain target ${describe(tgt)}: the grain key before ':' is empty`, { field: 'tgt' });
  }
  if ((parts[parts.length - 1] as string) === '') {
    throw new InvalidArgumentError(`malformed grain target ${describe(tgt)}: the value after the last ':' is empty`, { field: 'tgt' });
  }
  const splits: GrainSplit[] = [];
  for (let keyParts = 1; keyParts < parts.length; keyParts += 1) {
    const path = parts.slice(0, keyParts);
    if (path.some((key) => key === '')) continue;
    splits.push({ path, pattern: compileGlob(parts.slice(keyParts).join(':').toLowerCase()) });
  }
  return splits;
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

function grainValueMatches(value: unknown, pattern: CompiledGlob): boolean {
  if (Array.isArray(value)) {
    return value.some((element) => {
      const text = scalarText(element);
      return text !== undefined && pattern.matches(text.toLowerCase());
    });
  }
  if (value !== null && typeof value === 'object') {
    return pattern.pattern === '*' || Object.keys(value).some((key) => pattern.matches(key.toLowerCase()));
  }
  const text = scalarText(value);
  return text !== undefined && pattern.matches(text.toLowerCase());
}

function lookupGrain(grains: unknown, path: readonly string[]): unknown {
  let value = grains;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Validates a target and compiles it once; throws InvalidArgumentError saying what is wrong. */
export function compileTarget(tgt: unknown, tgtType: unknown = 'glob'): CompiledTarget {
  if (typeof tgtType !== 'string' || !(TARGET_TYPES as readonly string[]).includes(tgtType)) {
    throw new InvalidArgumentError(`unknown target type ${describe(tgtType)}: expected one of ${TARGET_TYPES.join(', ')}`, { field: 'tgtType' });
  }
  const type = tgtType as TargetType;
  const text = assertTargetText(tgt, type);
  switch (type) {
    case 'glob': {
      const glob = compileIdGlob(text);
      return { tgt: text, tgtType: type, matches: (minion) => glob.matches(minion.id) };
    }
    case 'list': {
      const ids = compileList(text);
      return { tgt: text, tgtType: type, matches: (minion) => ids.has(minion.id) };
    }
    case 'grain': {
      const splits = compileGrain(text);
      return {
        tgt: text,
        tgtType: type,
        matches: (minion) => splits.some(({ path, pattern }) => grainValueMatches(lookupGrain(minion.grains, path), pattern)),
      };
    }
  }
}

/** The ids of the minions `tgt` selects, in the order given, each once. */
export function matchTargets(tgt: unknown, tgtType: unknown, minions: readonly Pick<ConnectedMinion, 'id' | 'grains'>[]): string[] {
  const target = compileTarget(tgt, tgtType);
  const matched = new Set<string>();
  for (const minion of minions) if (target.matches(minion)) matched.add(minion.id);
  return [...matched];
}
