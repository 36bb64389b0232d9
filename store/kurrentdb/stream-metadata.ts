import { NO_STREAM, type KurrentDBClient, type StreamMetadata as KurrentStreamMetadata } from '@kurrent/kurrentdb-client';
import type { StreamMetadata } from '../types.js';
import { isMissingStream, translateDriverError } from './driver-errors.js';

/**
 * Corral's retention and truncation live in KurrentDB's own stream metadata (`$maxCount`,
 * `$maxAge`, `$tb`), so the server enforces them on every read and scavenges the rest.
 * A write replaces the whole metadata document, so every change is a read-modify-write
 * that keeps the fields it does not own (ACLs, other tools' custom fields).
 */

/** Custom field keeping the exact retention age: KurrentDB's `maxAge` is in whole seconds. */
export const MAX_AGE_MS_FIELD = 'corralMaxAgeMs';
const METADATA_RETRIES = 5;

export interface StoredMetadata {
  current: KurrentStreamMetadata;
  /** revision of the metadata stream (`$$<stream>`), undefined when it has none yet */
  revision: bigint | undefined;
}

export async function readStreamMetadata(client: KurrentDBClient, kurrentStream: string, stream: string): Promise<StoredMetadata> {
  try {
    const result = await client.getStreamMetadata(kurrentStream);
    return { current: result.metadata ?? {}, revision: result.metastreamRevision };
  } catch (error) {
    if (isMissingStream(error)) return { current: {}, revision: undefined };
    throw translateDriverError(error, { stream, operation: `read metadata of ${stream}` });
  }
}

/**
 * Applies `change` optimistically on the metadata stream's revision, retrying when another
 * writer changed the metadata in between. `change` returns undefined for "nothing to do".
 */
export async function updateStreamMetadata(
  client: KurrentDBClient,
  kurrentStream: string,
  stream: string,
  change: (current: KurrentStreamMetadata) => KurrentStreamMetadata | undefined,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { current, revision } = await readStreamMetadata(client, kurrentStream, stream);
    const next = change(current);
    if (next === undefined) return;
    try {
      await client.setStreamMetadata(kurrentStream, next, { expectedRevision: revision ?? NO_STREAM });
      return;
    } catch (error) {
      const isConflict = (error as { type?: unknown } | null)?.type === 'wrong-expected-version';
      if (!isConflict || attempt >= METADATA_RETRIES) throw translateDriverError(error, { stream, operation: `write metadata of ${stream}` });
    }
  }
}

/** Replaces the retention fields; absent fields remove that limit. */
export function withRetention(current: KurrentStreamMetadata, retention: StreamMetadata): KurrentStreamMetadata {
  const next: KurrentStreamMetadata = { ...current };
  delete next.maxCount;
  delete next.maxAge;
  delete next[MAX_AGE_MS_FIELD];
  if (retention.maxCount !== undefined) next.maxCount = retention.maxCount;
  if (retention.maxAgeMs !== undefined) {
    next.maxAge = Math.max(1, Math.ceil(retention.maxAgeMs / 1000));
    next[MAX_AGE_MS_FIELD] = retention.maxAgeMs;
  }
  return next;
}

/** Raises `truncateBefore` to `beforeRevision`; truncation never moves backwards. */
export function withTruncation(current: KurrentStreamMetadata, beforeRevision: number): KurrentStreamMetadata | undefined {
  const existing = truncateBeforeOf(current);
  return beforeRevision > existing ? { ...current, truncateBefore: beforeRevision } : undefined;
}

export const truncateBeforeOf = (metadata: KurrentStreamMetadata): number =>
  typeof metadata.truncateBefore === 'number' ? metadata.truncateBefore : 0;

/** KurrentDB stream metadata -> Corral retention. */
export function toCorralMetadata(metadata: KurrentStreamMetadata): StreamMetadata {
  const out: StreamMetadata = {};
  if (typeof metadata.maxCount === 'number') out.maxCount = metadata.maxCount;
  const exactMs = metadata[MAX_AGE_MS_FIELD];
  if (typeof metadata.maxAge === 'number') {
    // the exact value is used only while it still agrees with what KurrentDB enforces
    out.maxAgeMs = typeof exactMs === 'number' && Math.max(1, Math.ceil(exactMs / 1000)) === metadata.maxAge ? exactMs : metadata.maxAge * 1000;
  }
  return out;
}
