import { InvalidArgumentError } from '../../store/index.js';

/** Small validators for the config file: every failure names the field by its path. */

export function fail(path: string, why: string): never {
  throw new InvalidArgumentError(`${path}: ${why}`, { field: path });
}

export const join = (path: string, field: string): string => (path ? `${path}.${field}` : field);

export function object(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be a mapping (key: value)');
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) fail(join(path, key), `unknown field (allowed: ${allowed.join(', ')})`);
  }
  return input;
}

/** A mapping with arbitrary keys (tenant names, user names...). null or absent -> {}. */
export function mapping(value: unknown, path: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(path, 'must be a mapping (key: value)');
  return value as Record<string, unknown>;
}

export function string(value: unknown, path: string, options: { nonEmpty?: boolean; pattern?: RegExp; patternText?: string } = {}): string {
  if (typeof value !== 'string') fail(path, `must be a string (got ${describe(value)})`);
  if ((options.nonEmpty ?? true) && value.trim() === '') fail(path, 'must not be empty');
  if (options.pattern && !options.pattern.test(value)) fail(path, `must match ${options.patternText ?? options.pattern.source} (got ${JSON.stringify(value)})`);
  return value;
}

export function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `must be an integer >= ${min} and <= ${max} (got ${describe(value)})`);
  }
  return value;
}

export function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, `must be true or false (got ${describe(value)})`);
  return value;
}

export function oneOf<T extends string>(value: unknown, path: string, options: readonly T[]): T {
  if (typeof value !== 'string' || !options.includes(value as T)) fail(path, `must be one of ${options.join(', ')} (got ${describe(value)})`);
  return value as T;
}

export function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(path, `must be a list (got ${describe(value)})`);
  return value;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return String(value);
}
