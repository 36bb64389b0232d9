// The filter language (DESIGN.md §5): Digital Rebar's `type.action.key[.filter]` specifiers and
// filter terms, parsed with positioned errors, printed canonically, compiled to closures, and
// grouped so identical specifiers are evaluated once per change.
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
