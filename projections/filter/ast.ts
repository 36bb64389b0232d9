/**
 * The syntax trees of subscription specifiers and filters (docs/architecture.md "Filters and specifiers"). Plain data: the
 * printer turns them back into canonical text, the compiler into closures.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A field is kept exactly as written: a dot path (`grains.os`, `minions.0`) or an RFC 6901
 * pointer (`/minions/host1/retcode`, with `~0` for `~` and `~1` for `/`). The compiler splits it.
 */
export type FilterAst =
  | { op: 'And'; terms: FilterAst[] }
  | { op: 'Or'; terms: FilterAst[] }
  | { op: 'Not'; term: FilterAst }
  | { op: 'Exists'; field: string }
  | { op: 'Eq'; field: string; value: JsonValue }
  | { op: 'Ne'; field: string; value: JsonValue }
  | { op: 'Re'; field: string; pattern: string }
  | { op: 'In'; field: string; values: JsonValue[] }
  | { op: 'Nin'; field: string; values: JsonValue[] }
  /** `from`/`to` absent (undefined) means "not specified"; JSON `null` is a specified value. */
  | { op: 'Changed'; field: string; from?: JsonValue; to?: JsonValue };

export type FilterOp = FilterAst['op'];
export type FieldOp = Exclude<FilterOp, 'And' | 'Or' | 'Not'>;

export const FIELD_OPS: readonly FieldOp[] = ['Exists', 'Eq', 'Ne', 'Re', 'In', 'Nin', 'Changed'];

/** The wildcard list: `*` in the type, action or key position. */
export const ANY = '*';

/** Jobs that target the minion named by the key (`acme:host1`). */
export const MINION_JOBS = 'minion_jobs';
/** Processes of the watcher named by the key (`acme:web`). */
export const WATCHER_PROCESSES = 'watcher_processes';

/**
 * `type.action.key[.filter]`. Each list is either `['*']` or one or more names, in the order
 * written (the parser never reorders, so `parse(print(s))` equals `s`; see `canonicalSpecifier`).
 */
export interface Specifier {
  types: string[];
  actions: string[];
  keys: string[];
  filter: FilterAst | null;
}

export const isAnyList = (list: readonly string[]): boolean => list.length === 1 && list[0] === ANY;
