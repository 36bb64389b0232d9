import { FilterSyntaxError } from './errors.js';
import { compileFieldGetter, splitField } from './field-path.js';

/**
 * The value at a dot path or JSON pointer, or undefined when there is none: the same lookup
 * the compiled filters use (for `select`, HTTP views and tests). Throws FilterSyntaxError
 * for a malformed field.
 */
export function resolveField(object: unknown, field: string): unknown {
  const segments = splitField(field);
  if (!Array.isArray(segments)) throw new FilterSyntaxError('filter', field, segments.offset, segments.expected);
  return compileFieldGetter(segments)(object);
}
