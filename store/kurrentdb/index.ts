// Placeholder until the KurrentDB adapter lands (owned by the KurrentDB engineer, who replaces this file).
import { UnavailableError } from '../errors.js';
import type { EventStore } from '../types.js';

export async function openKurrentDbStore(_options: { url: string; maxEventBytes?: number }): Promise<EventStore> {
  throw new UnavailableError('the kurrentdb store backend is not implemented yet');
}
