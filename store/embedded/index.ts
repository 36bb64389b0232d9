import { UnavailableError } from '../errors.js';
import type { EventStore } from '../types.js';

export async function openEmbeddedStore(_options: { dataDir: string; maxEventBytes?: number }): Promise<EventStore> {
  throw new UnavailableError('the embedded store is being built; use kind memory for now');
}
