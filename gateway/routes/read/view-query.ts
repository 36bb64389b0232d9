import { InvalidArgumentError, NotFoundError, type EventStore } from '../../../store/index.js';
import { FOLDED_VIEW_NAMES, type ProjectionEngine } from '../../../projections/index.js';
import { HttpReply, type RequestContext } from '../../http/index.js';
import { checkTimeInLog, objectMatches, parseFilterParameter, parseLogPoint, parseModel } from './params.js';

export interface ReadDeps {
  engine: ProjectionEngine;
  store: EventStore;
}

/**
 * The list envelope of every view route:
 * `{"view", "items": [...objects sorted by key], "position": P, "model": M}` where P is the
 * log position the objects reflect (the live views' position, or the resolved `at`) and M
 * the model API the objects are shaped at. `?at=P` with this P returns the same items.
 */
export interface ViewListBody {
  view: string;
  items: object[];
  position: number;
  model: number;
}

/** Which objects a route may return: one tenant's, or (tenant list, components) those the principal sees. */
export type ViewScope = { tenant: string } | { tenants: readonly string[] };

const byKey = (a: object, b: object): number => {
  const x = (a as { key: string }).key;
  const y = (b as { key: string }).key;
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Checks the view name before anything else (400 for unknown or history-less views). */
export function assertServableView(name: string): string {
  if ((FOLDED_VIEW_NAMES as readonly string[]).includes(name)) return name;
  if (name === 'connections') {
    throw new InvalidArgumentError('the connections view is live only and cluster-wide: use GET /api/v1/connections', { parameter: 'view', value: name });
  }
  throw new InvalidArgumentError(`unknown view ${JSON.stringify(name.slice(0, 80))}: expected one of ${FOLDED_VIEW_NAMES.join(', ')}`, {
    parameter: 'view',
    value: name.slice(0, 80),
  });
}

/** `?at=`: a position (checked against the head) or an ISO time (turned into the position of the log then). */
export async function resolveAt(text: string | undefined, deps: ReadDeps): Promise<number | undefined> {
  if (text === undefined || text.trim() === '') return undefined;
  const point = parseLogPoint('at', text);
  if (point.kind === 'time') {
    await checkTimeInLog('at', point, deps.store);
    return deps.engine.positionAtTime(point.ms);
  }
  const head = Math.max(deps.engine.position, await deps.store.headPosition());
  if (point.position > head) {
    throw new InvalidArgumentError(`at ${point.position} is beyond the head of the log (${head})`, { parameter: 'at', head });
  }
  return point.position;
}

/** A view list for `scope`, honouring `?filter=`, `?model=` and `?at=`. */
export async function listView(ctx: RequestContext, deps: ReadDeps, view: string, scope: ViewScope): Promise<HttpReply> {
  assertServableView(view);
  const predicate = parseFilterParameter(ctx.query.filter);
  const model = parseModel(ctx.query.model) ?? deps.engine.ownModel;
  const at = await resolveAt(ctx.query.at, deps);
  // Read synchronously with the call: a live view() reads the current state before its first await.
  const livePosition = deps.engine.position;
  const objects = await deps.engine.view(view, { ...scope, model, ...(at === undefined ? {} : { at }) });
  const items = predicate === null ? objects.slice() : objects.filter((object) => objectMatches(predicate, view, object));
  items.sort(byKey);
  const position = at ?? livePosition;
  const body: ViewListBody = { view, items, position, model };
  return HttpReply.json(body, 200, { 'x-corral-position': String(position) });
}

/** One object by key, now or (`?at=`) as it was then; a 404 naming what was not found. */
export async function getViewObject(ctx: RequestContext, deps: ReadDeps, view: string, key: string, what: string): Promise<HttpReply> {
  const model = parseModel(ctx.query.model);
  const at = await resolveAt(ctx.query.at, deps);
  let position: number;
  let object: object | null;
  if (at === undefined) {
    position = deps.engine.position;
    object = deps.engine.get(view, key, model === undefined ? {} : { model });
  } else {
    position = at;
    const objects = await deps.engine.view(view, { at, ...(model === undefined ? {} : { model }) });
    object = objects.find((candidate) => (candidate as { key: string }).key === key) ?? null;
  }
  if (object === null) throw new NotFoundError(`${what} not found (as of log position ${position})`, { view, key });
  return HttpReply.json(object, 200, { 'x-corral-position': String(position) });
}
