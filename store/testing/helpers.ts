import type { Observable, Subscription } from 'rxjs';
import type { EventToAppend, RecordedEvent, StoreNotice } from '../types.js';

/** A running subscription that records everything it receives, for tests. */
export interface Recorder {
  events: RecordedEvent[];
  notices: StoreNotice[];
  caughtUp: boolean;
  error: unknown;
  subscription: Subscription;
}

export function record(observable: Observable<StoreNotice>): Recorder {
  const recorder: Recorder = { events: [], notices: [], caughtUp: false, error: undefined, subscription: undefined as unknown as Subscription };
  recorder.subscription = observable.subscribe({
    next: (notice) => {
      recorder.notices.push(notice);
      if (notice.kind === 'events') recorder.events.push(...notice.events);
      else recorder.caughtUp = true;
    },
    error: (error: unknown) => {
      recorder.error = error;
    },
  });
  return recorder;
}

/** Polls `condition` until it holds or the deadline passes (then throws with `what`). */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export function event(type: string, action: string, key: string, data: unknown = {}): EventToAppend {
  return { type, action, key, data };
}

let runCounter = 0;
/** A stream-name prefix no other test uses, so tests can share one store. */
export function uniquePrefix(label: string): string {
  runCounter++;
  return `t${label}${process.pid}x${runCounter}x${Math.floor(Math.random() * 1e6)}-`;
}
