/**
 * The filter language (docs/architecture.md "Filters and specifiers"): Digital Rebar's subscription specifiers and filter
 * terms, parsed with positioned errors, printed canonically, compiled once to closures, and
 * grouped so identical specifiers are evaluated once per change.
 *
 * Grammar (whitespace is allowed between filter tokens, never in `type.action.key`):
 *   specifier := list '.' list '.' list [ '.' term ]        (the filter is everything after the 3rd dot)
 *   list      := '*' | name { ',' name }                    name: [A-Za-z0-9_:@$/+~-]+, no '.' or ','
 *   term      := 'And(' term {',' term} ')' | 'Or(' term {',' term} ')' | 'Not(' term ')'
 *              | field '=' ( 'Exists()' | 'Eq(' json ')' | 'Ne(' json ')' | 'Re(' json-string ')'
 *                          | 'In(' json {',' json} ')' | 'Nin(' json {',' json} ')'
 *                          | 'Changed(' [json] [',' [json]] ')' )
 *   field     := dot path (`grains.os`, `minions.0`) | RFC 6901 pointer (`/minions/host1/retcode`)
 *                (a field cannot contain `= ( ) , "` or whitespace)
 *
 * Decisions where Digital Rebar's document is silent:
 * - `Changed()` / `Changed(from)` / `Changed(from,to)` / `Changed(,to)`: an empty slot is
 *   "not specified"; `null` is the JSON value null.
 * - `Ne(v)` is exactly `Not(Eq(v))` (true when the field is missing), as `Nin` is `Not(In)`.
 * - `Re` is an unanchored RE2 search (Go `regexp.MatchString`); numbers and booleans are
 *   matched against their JSON text; null, arrays, objects and missing fields never match.
 * - `Exists()` is true for a present JSON null.
 * - `minion_jobs` keys are minion keys (`acme:host1`); a key without a tenant (`host1`) names
 *   that minion id in any tenant. Keys with dots (connection `<ip>:<port>`) cannot be written
 *   in a key list; filter on `key=Eq("...")` instead.
 * - Limits (FILTER_LIMITS): 4096 characters, 32 nesting levels, 256 list items, 1 KiB patterns.
 */
export type { FilterAst, FilterOp, FieldOp, JsonValue, Specifier } from './ast.js';
export { ANY, MINION_JOBS, WATCHER_PROCESSES, FIELD_OPS, isAnyList } from './ast.js';
export { FilterSyntaxError, isFilterSyntaxError, FILTER_LIMITS } from './errors.js';
export { parseSpecifier, parseFilter } from './parse.js';
export { printSpecifier, printFilter } from './print.js';
export { compileSpecifier, compileFilter, changeTypesOf, type ChangePredicate } from './compile.js';
export { jsonEqual } from './json-value.js';
export { resolveField } from './resolve-field.js';
export {
  canonicalSpecifier,
  SpecifierCache,
  internSpecifier,
  MatcherGroups,
  type CompiledSpecifier,
  type MatcherGroup,
} from './groups.js';
