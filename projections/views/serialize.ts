import { Packr } from 'msgpackr';
import { FOLDED_VIEW_NAMES, type ViewState } from './types.js';

const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * Canonical bytes of the folded views: views in a fixed order, objects sorted by key, object
 * fields sorted by name, recursively. Two states are the same views iff these bytes are
 * equal, whatever order they were built in (replay-determinism checks compare them).
 */
export function serializeViews(state: Pick<ViewState, 'tenants' | 'watchers' | 'processes' | 'minions' | 'jobs' | 'components' | 'leader'>): Buffer {
  const canonical: Record<string, unknown> = { leader: state.leader };
  for (const name of FOLDED_VIEW_NAMES) {
    const map = state[name] as Map<string, object>;
    const keys = [...map.keys()].sort();
    canonical[name] = keys.map((key) => canonicalize(map.get(key)));
  }
  return packr.pack(canonical);
}

function canonicalize(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(canonicalize);
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) sorted[key] = canonicalize(field);
  }
  return sorted;
}
