import type { Change } from '../change.js';
import type { FilterAst, JsonValue, Specifier } from './ast.js';
import { isAnyList, MINION_JOBS, WATCHER_PROCESSES } from './ast.js';
import { compileFieldGetter, splitField, type FieldGetter } from './field-path.js';
import { isJsonPrimitive, jsonEqual } from './json-value.js';
import { parseFilter, parseSpecifier } from './parse.js';
import { compileStringTest } from './regex.js';

/**
 * Compiles trees into closures once: fields are pre-split into getters, regular expressions
 * compiled, In/Nin lists turned into sets. Evaluating a change walks no tree and parses nothing.
 *
 * Semantics (Digital Rebar's client filter language, seeds/002):
 * - Fields resolve against `change.object` (the view after the event); missing is "no value".
 * - `Exists()`: a value is present (JSON `null` counts as present).
 * - `Eq(v)`: deep JSON equality; false when missing. `Ne(v)` is exactly `Not(Eq(v))`, so it is
 *   true when the field is missing, as `Nin` is exactly `Not(In(...))`.
 * - `Re(p)`: unanchored RE2 search (Go `regexp.MatchString`) on a string value; numbers and
 *   booleans are matched against their JSON text; null, arrays, objects and missing: false.
 * - `Changed(from,to)`: with both `object` and `original` present: false if the field is missing
 *   in either or equal in both, false if `from` is given and not Eq the original's value, false
 *   if `to` is given and not Eq the object's value, otherwise true. Without that pair (a
 *   create, a destroy, or a type without views): true iff `to` is not given or Eq(to) holds
 *   on `object`.
 */

export type ChangePredicate = (change: Change) => boolean;

const always: ChangePredicate = () => true;
const alwaysTrue = (): boolean => true;

export function compileFilter(filter: FilterAst | string): ChangePredicate {
  return compileTerm(typeof filter === 'string' ? parseFilter(filter) : filter);
}

function getterFor(field: string): FieldGetter {
  const segments = splitField(field);
  if (!Array.isArray(segments)) throw new TypeError(`invalid field in a filter tree: ${JSON.stringify(field)}`);
  return compileFieldGetter(segments);
}

/** `(value) => value Eq expected`, specialised for primitives. */
function equalsTo(expected: JsonValue): (value: unknown) => boolean {
  return isJsonPrimitive(expected) ? (value) => value === expected : (value) => jsonEqual(value, expected);
}

/** `(value) => value Eq any of values`: primitives through one Set lookup. */
function inAny(values: readonly JsonValue[]): (value: unknown) => boolean {
  const primitives = new Set<unknown>(values.filter(isJsonPrimitive));
  const structured = values.filter((v) => !isJsonPrimitive(v));
  if (structured.length === 0) return (value) => primitives.has(value);
  return (value) => {
    if (value === null || typeof value !== 'object') return primitives.has(value);
    for (const candidate of structured) if (jsonEqual(value, candidate)) return true;
    return false;
  };
}

function compileTerm(ast: FilterAst): ChangePredicate {
  switch (ast.op) {
    case 'And': {
      const terms = ast.terms.map(compileTerm);
      if (terms.length === 1) return terms[0]!;
      if (terms.length === 2) {
        const [a, b] = terms as [ChangePredicate, ChangePredicate];
        return (c) => a(c) && b(c);
      }
      return (c) => {
        for (const term of terms) if (!term(c)) return false;
        return true;
      };
    }
    case 'Or': {
      const terms = ast.terms.map(compileTerm);
      if (terms.length === 1) return terms[0]!;
      if (terms.length === 2) {
        const [a, b] = terms as [ChangePredicate, ChangePredicate];
        return (c) => a(c) || b(c);
      }
      return (c) => {
        for (const term of terms) if (term(c)) return true;
        return false;
      };
    }
    case 'Not': {
      const term = compileTerm(ast.term);
      return (c) => !term(c);
    }
    case 'Exists': {
      const get = getterFor(ast.field);
      return (c) => get(c.object) !== undefined;
    }
    case 'Eq': {
      const get = getterFor(ast.field);
      const eq = equalsTo(ast.value);
      return (c) => eq(get(c.object));
    }
    case 'Ne': {
      const get = getterFor(ast.field);
      const eq = equalsTo(ast.value);
      return (c) => !eq(get(c.object));
    }
    case 'In': {
      const get = getterFor(ast.field);
      const member = inAny(ast.values);
      return (c) => member(get(c.object));
    }
    case 'Nin': {
      const get = getterFor(ast.field);
      const member = inAny(ast.values);
      return (c) => !member(get(c.object));
    }
    case 'Re': {
      const get = getterFor(ast.field);
      const test = compileStringTest(ast.pattern);
      return (c) => {
        const value = get(c.object);
        if (typeof value === 'string') return test(value);
        if (typeof value === 'number' || typeof value === 'boolean') return test(String(value));
        return false;
      };
    }
    case 'Changed':
      return compileChanged(ast.field, ast.from, ast.to);
  }
}

function compileChanged(field: string, from: JsonValue | undefined, to: JsonValue | undefined): ChangePredicate {
  const get = getterFor(field);
  const fromOk = from === undefined ? alwaysTrue : equalsTo(from);
  const toOk = to === undefined ? alwaysTrue : equalsTo(to);
  return (c) => {
    const { object, original } = c;
    if (object != null && original != null) {
      const after = get(object);
      const before = get(original);
      if (after === undefined || before === undefined || jsonEqual(before, after)) return false;
      return fromOk(before) && toOk(after);
    }
    return to === undefined || toOk(get(object));
  };
}

// --- specifiers ------------------------------------------------------------------------------

export function compileSpecifier(specifier: Specifier | string): ChangePredicate {
  const spec = typeof specifier === 'string' ? parseSpecifier(specifier) : specifier;
  // Only the checks that can fail are chained, so `*.*.*` costs nothing and a typical
  // `processes.*.*.filter` is one comparison and the filter.
  const checks: ChangePredicate[] = [];
  const action = fieldMatcher(spec.actions, 'action');
  if (action !== null) checks.push(action);
  const typeAndKey = compileTypeAndKey(spec.types, spec.keys);
  if (typeAndKey !== null) checks.push(typeAndKey);
  if (spec.filter !== null) checks.push(compileTerm(spec.filter));
  return allOf(checks);
}

function allOf(checks: readonly ChangePredicate[]): ChangePredicate {
  switch (checks.length) {
    case 0:
      return always;
    case 1:
      return checks[0]!;
    case 2: {
      const [a, b] = checks as [ChangePredicate, ChangePredicate];
      return (c) => a(c) && b(c);
    }
    default: {
      const [a, b, d] = checks as [ChangePredicate, ChangePredicate, ChangePredicate];
      return (c) => a(c) && b(c) && d(c);
    }
  }
}

/** A check of one envelope field against a name list; null for `*`. Written out per field so
 * each closure reads its property directly (no shared accessor call site to go megamorphic). */
function fieldMatcher(list: readonly string[], field: 'type' | 'action' | 'key'): ChangePredicate | null {
  if (isAnyList(list)) return null;
  if (list.length === 1) {
    const only = list[0];
    if (field === 'type') return (c) => c.type === only;
    if (field === 'action') return (c) => c.action === only;
    return (c) => c.key === only;
  }
  const names = new Set(list);
  if (field === 'type') return (c) => names.has(c.type);
  if (field === 'action') return (c) => names.has(c.action);
  return (c) => names.has(c.key);
}

/**
 * Each entry of the type list brings its own key rule: a plain type matches `change.key`
 * against the key list; `minion_jobs` reads the keys as minions a job targets;
 * `watcher_processes` reads them as watchers whose processes (`<watcher>:<slot>`) match.
 */
function compileTypeAndKey(types: readonly string[], keys: readonly string[]): ChangePredicate | null {
  const keyOk = fieldMatcher(keys, 'key');
  if (isAnyList(types)) return keyOk;
  const plainTypes = types.filter((t) => t !== MINION_JOBS && t !== WATCHER_PROCESSES);
  const rules: ChangePredicate[] = [];
  if (plainTypes.length > 0) {
    const typeOk = fieldMatcher(plainTypes, 'type')!;
    rules.push(keyOk === null ? typeOk : (c) => typeOk(c) && keyOk(c));
  }
  if (types.includes(MINION_JOBS)) {
    const targets = minionJobsMatcher(keys);
    rules.push((c) => c.type === 'jobs' && targets(c));
  }
  if (types.includes(WATCHER_PROCESSES)) {
    const ofWatcher = watcherProcessesMatcher(keys);
    rules.push((c) => c.type === 'processes' && ofWatcher(c.key));
  }
  if (rules.length === 1) return rules[0]!;
  return (c) => {
    for (const rule of rules) if (rule(c)) return true;
    return false;
  };
}

/**
 * `acme:host1`: a job of tenant `acme` whose view lists `host1` among its minions, or whose
 * `dispatch`/`return` data names it. A key without a tenant (`host1`) matches that minion id
 * in any tenant the subscriber can see.
 */
function minionJobsMatcher(keys: readonly string[]): ChangePredicate {
  if (isAnyList(keys)) return always;
  const targets = keys.map((key) => {
    const colon = key.indexOf(':');
    return colon === -1 ? { tenant: null, minion: key } : { tenant: key.slice(0, colon), minion: key.slice(colon + 1) };
  });
  return (c) => {
    const tenant = c.tenant ?? tenantOfKey(c.key);
    const job = c.object ?? c.original;
    const minions = job?.['minions'];
    const data = c.data as { minions?: unknown; minion?: unknown } | null | undefined;
    for (const target of targets) {
      if (target.tenant !== null && target.tenant !== tenant) continue;
      if (minions !== null && typeof minions === 'object' && Object.prototype.hasOwnProperty.call(minions, target.minion)) return true;
      if (data !== null && typeof data === 'object') {
        if (Array.isArray(data.minions) && data.minions.includes(target.minion)) return true;
        if (data.minion === target.minion) return true;
      }
    }
    return false;
  };
}

const tenantOfKey = (key: string): string => {
  const colon = key.indexOf(':');
  return colon === -1 ? key : key.slice(0, colon);
};

/** `acme:web`: process keys `acme:web:<slot>`, a slot being anything without a further ':'. */
function watcherProcessesMatcher(keys: readonly string[]): (key: string) => boolean {
  if (isAnyList(keys)) return alwaysTrue;
  const prefixes = keys.map((key) => `${key}:`);
  return (key) => {
    for (const prefix of prefixes) {
      if (key.length > prefix.length && key.startsWith(prefix) && key.indexOf(':', prefix.length) === -1) return true;
    }
    return false;
  };
}

/** Change types a specifier can match, for pre-indexing; null means any type. */
export function changeTypesOf(specifier: Specifier): string[] | null {
  if (isAnyList(specifier.types)) return null;
  const types = new Set<string>();
  for (const type of specifier.types) {
    types.add(type === MINION_JOBS ? 'jobs' : type === WATCHER_PROCESSES ? 'processes' : type);
  }
  return [...types];
}
