import type { Change } from '../change.js';
import type { Specifier } from './ast.js';
import { isAnyList } from './ast.js';
import { changeTypesOf, compileSpecifier, type ChangePredicate } from './compile.js';
import { parseSpecifier } from './parse.js';
import { printSpecifier } from './print.js';

/**
 * Sharing compiled specifiers. Subscriptions whose specifiers are the same after
 * canonicalisation share one compiled matcher, and `MatcherGroups.evaluate` runs each distinct
 * matcher once per change however many subscribers hang off it (docs/architecture.md "Filters and specifiers", issue 6's
 * fan-out: never evaluate per subscriber).
 */

export interface CompiledSpecifier {
  /** the canonical printed form: equal keys mean equal matching */
  readonly key: string;
  readonly specifier: Specifier;
  /** change types it can match (special types mapped to `jobs`/`processes`); null: any */
  readonly changeTypes: readonly string[] | null;
  readonly matches: ChangePredicate;
}

/**
 * Sorts and de-duplicates the type, action and key lists (their order never changes what
 * matches). The filter is kept as written: printing already removes whitespace and
 * normalises JSON, and And/Or order is the client's short-circuit choice.
 */
export function canonicalSpecifier(specifier: Specifier): Specifier {
  const canonicalList = (list: readonly string[]) => (isAnyList(list) ? ['*'] : [...new Set(list)].sort());
  return {
    types: canonicalList(specifier.types),
    actions: canonicalList(specifier.actions),
    keys: canonicalList(specifier.keys),
    filter: specifier.filter,
  };
}

export function compileCanonical(specifier: Specifier): CompiledSpecifier {
  // Frozen through and through: one compiled specifier is shared by every subscriber.
  const canonical = deepFreeze(structuredClone(canonicalSpecifier(specifier)));
  return Object.freeze({
    key: printSpecifier(canonical),
    specifier: canonical,
    changeTypes: Object.freeze(changeTypesOf(canonical)),
    matches: compileSpecifier(canonical),
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/**
 * A bounded cache from specifier text (as sent) and canonical key to the compiled matcher.
 * Least recently used entries go first, so a client cycling random specifiers cannot grow it.
 */
export class SpecifierCache {
  private readonly byText = new Map<string, CompiledSpecifier>();
  private readonly byKey = new Map<string, CompiledSpecifier>();
  private readonly maxEntries: number;

  constructor({ maxEntries = 10_000 }: { maxEntries?: number } = {}) {
    this.maxEntries = maxEntries;
  }

  /** Parses (throwing FilterSyntaxError on bad input), canonicalises and shares. */
  intern(specifier: string | Specifier): CompiledSpecifier {
    if (typeof specifier === 'string') {
      const hit = this.byText.get(specifier);
      if (hit !== undefined) {
        this.touch(this.byText, specifier, hit);
        return hit;
      }
      const compiled = this.internParsed(parseSpecifier(specifier));
      this.remember(this.byText, specifier, compiled);
      return compiled;
    }
    return this.internParsed(specifier);
  }

  get size(): number {
    return this.byKey.size;
  }

  clear(): void {
    this.byText.clear();
    this.byKey.clear();
  }

  private internParsed(specifier: Specifier): CompiledSpecifier {
    const key = printSpecifier(canonicalSpecifier(specifier));
    const hit = this.byKey.get(key);
    if (hit !== undefined) {
      this.touch(this.byKey, key, hit);
      return hit;
    }
    const compiled = compileCanonical(specifier);
    this.remember(this.byKey, key, compiled);
    return compiled;
  }

  private touch(map: Map<string, CompiledSpecifier>, name: string, value: CompiledSpecifier): void {
    map.delete(name);
    map.set(name, value);
  }

  private remember(map: Map<string, CompiledSpecifier>, name: string, value: CompiledSpecifier): void {
    if (map.size >= this.maxEntries) map.delete(map.keys().next().value!);
    map.set(name, value);
  }
}

const sharedCache = new SpecifierCache();
const NO_GROUPS: readonly MatcherGroup<unknown>[] = Object.freeze([]);

/** The process-wide cache: the same text or canonical key gives the same object. */
export const internSpecifier = (specifier: string | Specifier): CompiledSpecifier => sharedCache.intern(specifier);

export interface MatcherGroup<S = undefined> {
  readonly key: string;
  readonly compiled: CompiledSpecifier;
  /** how many `add`s are not yet released */
  readonly refs: number;
  /** the owner's per-group data (e.g. the gateway's encoders and topics) */
  state: S;
}

interface MutableGroup<S> extends MatcherGroup<S> {
  refs: number;
}

/**
 * The live set of distinct specifiers, with reference counts, indexed by change type so a
 * change only meets the groups that could match it. `evaluate` calls each candidate group's
 * matcher exactly once.
 */
export class MatcherGroups<S = undefined> {
  private readonly groupsByKey = new Map<string, MutableGroup<S>>();
  /** groups whose type list is `*` */
  private readonly anyType: MutableGroup<S>[] = [];
  private readonly byType = new Map<string, MutableGroup<S>[]>();
  private readonly cache: SpecifierCache;
  private readonly createState: (compiled: CompiledSpecifier) => S;

  constructor({
    cache = sharedCache,
    createState = () => undefined as S,
  }: { cache?: SpecifierCache; createState?: (compiled: CompiledSpecifier) => S } = {}) {
    this.cache = cache;
    this.createState = createState;
  }

  /** Joins (or creates) the group for a specifier; throws FilterSyntaxError on bad input. */
  add(specifier: string | Specifier): MatcherGroup<S> {
    const compiled = this.cache.intern(specifier);
    const existing = this.groupsByKey.get(compiled.key);
    if (existing !== undefined) {
      existing.refs++;
      return existing;
    }
    const group: MutableGroup<S> = { key: compiled.key, compiled, refs: 1, state: this.createState(compiled) };
    this.groupsByKey.set(group.key, group);
    for (const bucket of this.bucketsOf(compiled, true)) bucket.push(group);
    return group;
  }

  /** Drops one reference; returns true when that was the last and the group is gone. */
  release(group: MatcherGroup<S>): boolean {
    const live = this.groupsByKey.get(group.key);
    if (live === undefined || live !== group) return false;
    if (--live.refs > 0) return false;
    this.groupsByKey.delete(live.key);
    for (const bucket of this.bucketsOf(live.compiled, false)) {
      const at = bucket.indexOf(live);
      if (at !== -1) bucket.splice(at, 1);
    }
    for (const type of live.compiled.changeTypes ?? []) if (this.byType.get(type)?.length === 0) this.byType.delete(type);
    return true;
  }

  get(key: string): MatcherGroup<S> | undefined {
    return this.groupsByKey.get(key);
  }

  get size(): number {
    return this.groupsByKey.size;
  }

  groups(): IterableIterator<MatcherGroup<S>> {
    return this.groupsByKey.values();
  }

  /** The groups that match a change, each evaluated once (a fresh array; empty ones shared). */
  evaluate(change: Change): MatcherGroup<S>[] {
    let matched: MatcherGroup<S>[] | undefined;
    for (const group of this.anyType) if (group.compiled.matches(change)) (matched ??= []).push(group);
    const typed = this.byType.get(change.type);
    if (typed !== undefined) for (const group of typed) if (group.compiled.matches(change)) (matched ??= []).push(group);
    return matched ?? (NO_GROUPS as MatcherGroup<S>[]);
  }

  /**
   * The hot-path form: writes the matching groups to `out[0..n)` and returns `n`. Entries past
   * `n` are stale; the array is never truncated (setting `length` costs a runtime call).
   */
  evaluateInto(change: Change, out: MatcherGroup<S>[]): number {
    let n = 0;
    for (const group of this.anyType) if (group.compiled.matches(change)) out[n++] = group;
    const typed = this.byType.get(change.type);
    if (typed !== undefined) for (const group of typed) if (group.compiled.matches(change)) out[n++] = group;
    return n;
  }

  /** How many matchers `evaluate` would run for a change of this type (for benchmarks). */
  candidateCount(type: string): number {
    return this.anyType.length + (this.byType.get(type)?.length ?? 0);
  }

  private bucketsOf(compiled: CompiledSpecifier, create: boolean): MutableGroup<S>[][] {
    if (compiled.changeTypes === null) return [this.anyType];
    const buckets: MutableGroup<S>[][] = [];
    for (const type of compiled.changeTypes) {
      let bucket = this.byType.get(type);
      if (bucket === undefined) {
        if (!create) continue;
        bucket = [];
        this.byType.set(type, bucket);
      }
      buckets.push(bucket);
    }
    return buckets;
  }
}
