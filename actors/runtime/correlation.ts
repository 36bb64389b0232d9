import { AsyncLocalStorage } from 'node:async_hooks';
import { InvalidArgumentError } from '../../store/index.js';

/**
 * The correlation id the commands issued inside `work` record in their events' meta (README,
 * "Correlation ids"): a client's `X-Correlation-Id`, or one made by the node that first took
 * the command, so a forwarded command keeps the id it had on the follower. Carried by async
 * context rather than by every command's arguments.
 */
const current = new AsyncLocalStorage<string>();

export function withCorrelation<T>(id: string, work: () => T): T {
  return current.run(id, work);
}

export function currentCorrelation(): string | undefined {
  return current.getStore();
}

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A client-supplied id, checked: 1 to 128 of A-Z a-z 0-9 . _ : - */
export function parseCorrelationId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !CORRELATION_ID.test(value)) {
    throw new InvalidArgumentError(`${field} must be 1 to 128 letters, digits or . _ : - (got ${JSON.stringify(String(value)).slice(0, 60)})`, { field });
  }
  return value;
}
