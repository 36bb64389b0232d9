import { InvalidArgumentError } from '../../store/index.js';

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$/g;
const WHOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * `${NAME}` and `${NAME:-default}` in string values (never in keys); `$$` is a literal `$`.
 * An unset variable without a default is an error naming the variable and the field.
 * A value that is exactly one reference and expands to a number or boolean becomes one,
 * so `port: ${PORT:-8080}` is an integer like `port: 8080`.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path = ''): unknown {
  if (typeof value === 'string') return interpolateString(value, env, path);
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = interpolateEnv(inner, env, path ? `${path}.${key}` : key);
    return out;
  }
  return value;
}

function interpolateString(text: string, env: NodeJS.ProcessEnv, path: string): unknown {
  if (!text.includes('$')) return text;
  const expanded = text.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$$') return '$';
    const value = env[name!];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    throw new InvalidArgumentError(
      `${path || 'config'}: environment variable ${name} is not set (set it, or write \${${name}:-default})`,
      { field: path, variable: name },
    );
  });
  if (WHOLE_REFERENCE.test(text)) {
    if (/^-?\d+$/.test(expanded) && Number.isSafeInteger(Number(expanded))) return Number(expanded);
    if (expanded === 'true' || expanded === 'false') return expanded === 'true';
  }
  return expanded;
}
