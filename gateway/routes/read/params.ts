import { InvalidArgumentError, assertJid, assertName, type EventStore } from '../../../store/index.js';
import {
  compileFilter,
  isFilterSyntaxError,
  parseFilter,
  parseSpecifier,
  type Change,
  type ChangePredicate,
  type Specifier,
} from '../../../projections/index.js';
import type { Principal } from '../../auth/index.js';

/**
 * Query-parameter parsing shared by the read routes. Every failure is a 400 that names the
 * parameter and what was wrong with it, before anything is read.
 */

const INTEGER = /^-?\d{1,16}$/;
/** an ISO 8601 date or date-time, e.g. 2026-11-23 or 2026-11-23T15:36:46.699Z */
const ISO_TIME = /^\d{4}-\d\d-\d\d([T ][\d:.]+(Z|[+-]\d\d:?\d\d)?)?$/;

const shown = (text: string): string => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

/** A point in the log: a position, or a time to be turned into one. */
export type LogPoint = { kind: 'position'; position: number } | { kind: 'time'; ms: number; text: string };

/** `at`/`from`: a log position (integer >= 0) or an ISO 8601 time. */
export function parseLogPoint(parameter: string, text: string): LogPoint {
  const trimmed = text.trim();
  if (INTEGER.test(trimmed)) {
    const position = Number(trimmed);
    if (position < 0) {
      throw new InvalidArgumentError(`${parameter} ${position} is before the start of the log (positions start at 0)`, { parameter });
    }
    return { kind: 'position', position };
  }
  // An unencoded `+01:00` offset arrives as ` 01:00` (a query string's `+` is a space).
  const time = trimmed.replace(/(T[\d:.]+) (\d\d:?\d\d)$/, '$1+$2');
  const ms = ISO_TIME.test(time) ? Date.parse(time) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new InvalidArgumentError(
      `invalid ${parameter} ${shown(text)}: expected a log position (an integer >= 0) or an ISO 8601 time such as 2026-11-23T15:36:46Z`,
      { parameter },
    );
  }
  return { kind: 'time', ms, text: time };
}

/** A time in the future is beyond the head of the log (a view "then" would silently be the view "now"). */
export function checkTimeNotFuture(parameter: string, point: { ms: number; text: string }): void {
  const now = Date.now();
  if (point.ms > now + 1_000) {
    throw new InvalidArgumentError(
      `${parameter} ${point.text} is beyond the head of the log: it is in the future (now is ${new Date(now).toISOString()})`,
      { parameter },
    );
  }
}

/**
 * Checks a time against the log: not in the future, and not before the first stored event
 * (there is no view to show then). An empty log accepts any past time (position 0).
 */
export async function checkTimeInLog(parameter: string, point: { ms: number; text: string }, store: EventStore): Promise<void> {
  checkTimeNotFuture(parameter, point);
  const [first] = await store.readAll({ after: 0, limit: 1, excludeTypes: ['logs'] });
  if (first && point.ms < first.time) {
    throw new InvalidArgumentError(
      `${parameter} ${point.text} is before the start of the log (the first event was appended at ${new Date(first.time).toISOString()})`,
      { parameter, start: new Date(first.time).toISOString() },
    );
  }
}

/** `limit`: an integer from 1 to `max`. */
export function parseLimit(text: string | undefined, defaultLimit: number, max: number, hint = ''): number {
  if (text === undefined) return defaultLimit;
  const trimmed = text.trim();
  if (!/^\d{1,16}$/.test(trimmed) || Number(trimmed) < 1) {
    throw new InvalidArgumentError(`invalid limit ${shown(text)}: expected an integer from 1 to ${max}`, { parameter: 'limit' });
  }
  const limit = Number(trimmed);
  if (limit > max) throw new InvalidArgumentError(`limit ${limit} exceeds the maximum of ${max}${hint}`, { parameter: 'limit', max });
  return limit;
}

/** `model`: an integer; whether this node serves it is checked by the projection engine. */
export function parseModel(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,6}$/.test(text.trim())) {
    throw new InvalidArgumentError(`invalid model ${shown(text)}: expected a model API version (an integer)`, { parameter: 'model' });
  }
  return Number(text.trim());
}

/** Re-labels a parse error with the parameter it came from; keeps its position. */
function relabel(parameter: string, error: unknown): never {
  if (isFilterSyntaxError(error)) {
    throw new InvalidArgumentError(`invalid ${parameter}: ${error.message}`, { parameter, position: error.position, expected: error.expected });
  }
  throw error;
}

export function parseSelect(text: string): Specifier {
  try {
    return parseSpecifier(text);
  } catch (error) {
    relabel('select', error);
  }
}

/** `?filter=` compiled to a predicate over changes (null when absent or blank). */
export function parseFilterParameter(text: string | undefined): ChangePredicate | null {
  if (text === undefined || text.trim() === '') return null;
  try {
    return compileFilter(parseFilter(text));
  } catch (error) {
    relabel('filter', error);
  }
}

/**
 * A view object seen by the filter language as a change that created it: fields resolve
 * against `object`; with no `original`, `Changed(from,to)` holds iff `to` is absent or
 * equals the object's value (the rule for creates in the filter semantics).
 */
export function objectMatches(predicate: ChangePredicate, view: string, object: object): boolean {
  const record = object as Record<string, unknown>;
  const probe: Change = {
    position: 0,
    time: 0,
    id: '',
    stream: '',
    revision: -1,
    type: view,
    action: 'get',
    key: typeof record.key === 'string' ? record.key : '',
    tenant: typeof record.tenant === 'string' ? record.tenant : undefined,
    schema: 0,
    data: null,
    object: record,
    original: null,
  };
  return predicate(probe);
}

/** The tenants a principal may see, in the engine's query form (`['*']` = all). */
export function visibleTenantsOf(principal: Principal): string[] {
  if (principal.tenants['*'] !== undefined) return ['*'];
  return Object.keys(principal.tenants);
}

// Path ids are keys without the tenant (README "HTTP").
export const watcherPathKey = (tenant: string, id: string): string => `${tenant}:${assertName('watcher', id)}`;
export const minionPathKey = (tenant: string, id: string): string => `${tenant}:${assertName('minion', id)}`;
export const jobPathKey = (tenant: string, id: string): string => `${tenant}:${assertJid(id)}`;
export function processPathKey(tenant: string, id: string): string {
  const match = /^([^:]+):(\d{1,4})$/.exec(id);
  if (!match) {
    throw new InvalidArgumentError(`invalid process id ${shown(id)}: expected <watcher>:<slot>, e.g. web:0`, { parameter: 'process' });
  }
  return `${tenant}:${assertName('watcher', match[1])}:${Number(match[2])}`;
}
