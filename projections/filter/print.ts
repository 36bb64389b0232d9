import type { FilterAst, JsonValue, Specifier } from './ast.js';

/**
 * Canonical text: no whitespace, values as `JSON.stringify` writes them. The parser reads
 * this back to an equal tree (`parse(print(x))` equals `x`), which is what makes the printed
 * form usable as a grouping key.
 */
export function printFilter(filter: FilterAst): string {
  switch (filter.op) {
    case 'And':
    case 'Or':
      return `${filter.op}(${filter.terms.map(printFilter).join(',')})`;
    case 'Not':
      return `Not(${printFilter(filter.term)})`;
    case 'Exists':
      return `${filter.field}=Exists()`;
    case 'Eq':
    case 'Ne':
      return `${filter.field}=${filter.op}(${printValue(filter.value)})`;
    case 'Re':
      return `${filter.field}=Re(${JSON.stringify(filter.pattern)})`;
    case 'In':
    case 'Nin':
      return `${filter.field}=${filter.op}(${filter.values.map(printValue).join(',')})`;
    case 'Changed': {
      const from = filter.from === undefined ? '' : printValue(filter.from);
      const to = filter.to === undefined ? '' : `,${printValue(filter.to)}`;
      return `${filter.field}=Changed(${from}${to})`;
    }
  }
}

export function printSpecifier(specifier: Specifier): string {
  const head = `${specifier.types.join(',')}.${specifier.actions.join(',')}.${specifier.keys.join(',')}`;
  return specifier.filter === null ? head : `${head}.${printFilter(specifier.filter)}`;
}

export const printValue = (value: JsonValue): string => JSON.stringify(value);
