import type { AppendOptions, AppendResult, EventStore, EventToAppend } from '../../store/index.js';
import { MODEL_API, downcastEventData } from './versions.js';

/**
 * Write side of §12: a store whose `append` writes every event at the model API
 * `writeModel()` returns (the system model API), downcasting data produced at this code's
 * newest model. Events that name their own `schema` are converted from that one.
 * Everything else is the underlying store, untouched.
 */
export function withWriteModel(store: EventStore, writeModel: () => number): EventStore {
  const append = (stream: string, events: readonly EventToAppend[], options?: AppendOptions): Promise<AppendResult> => {
    const target = writeModel();
    const converted = events.map((event) => {
      const from = event.schema ?? MODEL_API.max;
      if (from === target && event.schema !== undefined) return event;
      const data = from > target ? downcastEventData(event.type, event.action, event.data, from, target) : event.data;
      return { ...event, data, schema: from > target ? target : from };
    });
    return store.append(stream, converted, options);
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'append') return append;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
