/**
 * Fields: a dot path (`grains.os`, `minions.0`) or an RFC 6901 JSON pointer
 * (`/minions/host1/retcode`, `~1` for `/`, `~0` for `~`). Both resolve the same way: object
 * members by own property only (so `constructor` or `__proto__` never leak in from the
 * prototype), array elements by canonical decimal index. Missing is `undefined`; a present
 * JSON `null` is a value.
 */

export interface FieldError {
  /** offset inside the field text */
  offset: number;
  expected: string;
}

/** Splits a field into its segments, or says where it is malformed. */
export function splitField(field: string): string[] | FieldError {
  if (field.length === 0) return { offset: 0, expected: 'a field (a dot path or a /json/pointer)' };
  if (field.charCodeAt(0) === 0x2f /* / */) return splitPointer(field);
  const segments = field.split('.');
  let offset = 0;
  for (const segment of segments) {
    if (segment.length === 0) return { offset, expected: 'a field name between dots' };
    offset += segment.length + 1;
  }
  return segments;
}

function splitPointer(pointer: string): string[] | FieldError {
  const segments: string[] = [];
  let offset = 1;
  for (const raw of pointer.slice(1).split('/')) {
    let tilde = raw.indexOf('~');
    while (tilde !== -1) {
      const next = raw[tilde + 1];
      if (next !== '0' && next !== '1') return { offset: offset + tilde, expected: "'~0' or '~1' (a JSON pointer escape)" };
      tilde = raw.indexOf('~', tilde + 2);
    }
    // Order matters (RFC 6901 §4): ~1 first, so that "~01" decodes to "~1", not "/".
    segments.push(raw.includes('~') ? raw.replaceAll('~1', '/').replaceAll('~0', '~') : raw);
    offset += raw.length + 1;
  }
  return segments;
}

/** A canonical array index ("0", "17"; not "01", "-1", "1e3"), or -1. */
function arrayIndexOf(segment: string): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(segment)) return -1;
  return Number(segment);
}

const hasOwn = Object.prototype.hasOwnProperty;

export type FieldGetter = (root: unknown) => unknown;

/** Compiles segments into a getter; segment parsing (array indexes) happens here, once. */
export function compileFieldGetter(segments: readonly string[]): FieldGetter {
  const names = segments.slice();
  const indexes = names.map(arrayIndexOf);
  const step = (value: unknown, i: number): unknown => {
    if (value === null || typeof value !== 'object') return undefined;
    if (Array.isArray(value)) {
      const index = indexes[i]!;
      return index >= 0 && index < value.length ? value[index] : undefined;
    }
    const name = names[i]!;
    return hasOwn.call(value, name) ? (value as Record<string, unknown>)[name] : undefined;
  };
  // The common shapes (`state`, `grains.os`) get straight-line getters.
  if (names.length === 1 && indexes[0] === -1) {
    const name = names[0]!;
    // Views are plain objects: a name Object.prototype does not have can only be an own
    // member, so the hasOwnProperty call is needed just for names like `constructor`.
    if (!(name in Object.prototype)) {
      return (root) =>
        root !== null && typeof root === 'object' && !Array.isArray(root) ? (root as Record<string, unknown>)[name] : undefined;
    }
    return (root) =>
      root !== null && typeof root === 'object' && !Array.isArray(root) && hasOwn.call(root, name)
        ? (root as Record<string, unknown>)[name]
        : undefined;
  }
  if (names.length === 1) return (root) => step(root, 0);
  if (names.length === 2) return (root) => step(step(root, 0), 1);
  return (root) => {
    let value = root;
    for (let i = 0; i < names.length && value !== undefined; i++) value = step(value, i);
    return value;
  };
}
