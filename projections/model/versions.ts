import { InvalidArgumentError, type RecordedEvent } from '../../store/index.js';
import type { ModelApiRange } from '../../actors/component/events.js';
import type { ProcessExitedV1, ProcessExitedV2 } from '../../actors/process/events.js';
import type { Change } from '../change.js';
import type { ProcessView, ViewName } from '../views/types.js';

/**
 * Model-API versioning (docs/operations.md "Rolling restart on one machine"). An event's `schema` is the model API its data was
 * written at. Readers upcast to their own model; writers downcast to the system model API.
 * Each model step that changes a shape names the old and new types and ships both
 * directions; event kinds a step does not touch have the same data at every model.
 *
 * Model API 2: `processes.exit` gains `durationMs` and `usage` (crash loops and memory
 * blow-ups become diagnosable from history), and the processes view gains `lastExit`.
 */
export const MODEL_API: Readonly<ModelApiRange> = Object.freeze({ min: 1, max: 2 });

/** The model the views are folded at internally: the newest this code knows. */
export const INTERNAL_MODEL = MODEL_API.max;

interface EventShapeStep {
  /** the model API that introduced the new shape */
  model: number;
  type: string;
  action: string;
  upcast(data: unknown): unknown;
  downcast(data: unknown): unknown;
}

const EVENT_STEPS: readonly EventShapeStep[] = [
  {
    model: 2,
    type: 'processes',
    action: 'exit',
    // explicit copy: object spread is slow on hot paths (every model-1 exit read by a model-2 node)
    upcast: (data): ProcessExitedV2 => {
      const v1 = data as ProcessExitedV1;
      const v2: ProcessExitedV2 = { pid: v1.pid, runId: v1.runId, code: v1.code, signal: v1.signal, exitedAt: v1.exitedAt, durationMs: null, usage: null };
      if (v1.lost !== undefined) v2.lost = v1.lost;
      return v2;
    },
    downcast: (data): ProcessExitedV1 => {
      const { durationMs: _durationMs, usage: _usage, ...v1 } = data as ProcessExitedV2;
      return v1;
    },
  },
];

interface ViewShapeStep {
  model: number;
  view: ViewName;
  downcast(object: Record<string, unknown>): Record<string, unknown>;
}

const VIEW_STEPS: readonly ViewShapeStep[] = [
  {
    model: 2,
    view: 'processes',
    downcast: (object) => {
      const { lastExit: _lastExit, ...v1 } = object as unknown as ProcessView;
      return v1 as unknown as Record<string, unknown>;
    },
  },
];

/** type -> action -> steps (ascending model): lets the hot path skip untouched kinds with two lookups. */
const STEPS_BY_KIND = new Map<string, Map<string, EventShapeStep[]>>();
for (const step of EVENT_STEPS) {
  let byAction = STEPS_BY_KIND.get(step.type);
  if (!byAction) STEPS_BY_KIND.set(step.type, (byAction = new Map()));
  const steps = byAction.get(step.action) ?? [];
  steps.push(step);
  steps.sort((a, b) => a.model - b.model);
  byAction.set(step.action, steps);
}
const VIEWS_WITH_STEPS = new Set(VIEW_STEPS.map((step) => step.view));

export function assertModel(model: unknown, range: ModelApiRange = MODEL_API, where = 'model'): number {
  if (typeof model !== 'number' || !Number.isInteger(model) || model < range.min || model > range.max) {
    throw new InvalidArgumentError(
      `unknown ${where} ${JSON.stringify(model)}: this node serves model API ${range.min}..${range.max}`,
      { field: where, value: model, min: range.min, max: range.max },
    );
  }
  return model;
}

/** Converts event data between model APIs (either direction). Returns `data` itself when nothing changes. */
export function convertEventData(type: string, action: string, data: unknown, fromModel: number, toModel: number): unknown {
  if (fromModel === toModel) return data;
  const steps = STEPS_BY_KIND.get(type)?.get(action);
  if (!steps) return data;
  let converted = data;
  if (fromModel < toModel) {
    for (const step of steps) if (step.model > fromModel && step.model <= toModel) converted = step.upcast(converted);
  } else {
    for (let i = steps.length - 1; i >= 0; i--) {
      const step = steps[i]!;
      if (step.model <= fromModel && step.model > toModel) converted = step.downcast(converted);
    }
  }
  return converted;
}

/** Write side: data produced at `fromModel` (usually this code's newest) as it must be stored at `toModel`. */
export function downcastEventData(type: string, action: string, data: unknown, fromModel: number, toModel: number): unknown {
  if (toModel > fromModel) throw new InvalidArgumentError(`cannot downcast ${type}.${action} from model ${fromModel} up to ${toModel}`);
  return convertEventData(type, action, data, fromModel, toModel);
}

/** Read side: the event with its data at `toModel` (and `schema` saying so); the same object when unchanged. */
export function upcastEvent<E extends RecordedEvent>(event: E, toModel: number): E {
  if (event.schema === toModel) return event;
  const data = convertEventData(event.type, event.action, event.data, event.schema, toModel);
  return data === event.data ? event : { ...event, data, schema: toModel };
}

/** A view object as a client at `model` sees it; the same object when the shape did not change. */
export function downcastView<T extends object>(name: string, object: T, model: number): T {
  if (model >= INTERNAL_MODEL || !VIEWS_WITH_STEPS.has(name as ViewName)) return object;
  let converted = object as unknown as Record<string, unknown>;
  for (let i = VIEW_STEPS.length - 1; i >= 0; i--) {
    const step = VIEW_STEPS[i]!;
    if (step.view === name && step.model > model) converted = step.downcast(converted);
  }
  return converted as unknown as T;
}

/**
 * A change as a subscriber at `model` sees it (the gateway applies this once per
 * subscription group). Input changes are at `fromModel` (the engine's own model).
 */
export function downcastChange(change: Change, model: number, fromModel: number = INTERNAL_MODEL): Change {
  if (model >= fromModel) return change;
  const data = convertEventData(change.type, change.action, change.data, fromModel, model);
  const object = change.object && downcastView(change.type, change.object, model);
  const original = change.original && downcastView(change.type, change.original, model);
  if (data === change.data && object === change.object && original === change.original) return change;
  return { ...change, data, object, original, schema: Math.min(change.schema, model) };
}
