import { CorralError, isValidName } from '../../store/index.js';
import { requestJson, type ServerTarget } from './client.js';
import { UsageError } from './usage.js';

/** `tenant`, `tenant:watcher` or `tenant:watcher:slot`, as written on the command line. */
export interface ProcessTarget {
  tenant: string;
  watcher?: string;
  slot?: number;
}

/** What a command accepts: the least and the most of `tenant:watcher:slot` it needs. */
export interface TargetShape {
  least: 'tenant' | 'watcher' | 'slot';
  most: 'tenant' | 'watcher' | 'slot';
}

const DEPTH = { tenant: 1, watcher: 2, slot: 3 } as const;
const FORMS = ['TENANT', 'TENANT:WATCHER', 'TENANT:WATCHER:SLOT'];

/** The watcher fields the commands read (GET .../watchers/{w}). */
export interface WatcherInfo {
  key: string;
  name: string;
  numprocesses: number;
  active: boolean;
}

export const targetKey = (target: ProcessTarget): string =>
  [target.tenant, target.watcher, target.slot].filter((part) => part !== undefined).join(':');

/** Parses a TARGET argument; a malformed one is a usage error that says which form was expected. */
export function parseTarget(text: string | undefined, shape: TargetShape): ProcessTarget {
  const forms = FORMS.slice(DEPTH[shape.least] - 1, DEPTH[shape.most]).join(' or ');
  if (text === undefined) throw new UsageError(`a target is needed: ${forms}`);
  const parts = text.split(':');
  if (parts.length < DEPTH[shape.least] || parts.length > DEPTH[shape.most]) {
    throw new UsageError(`target ${JSON.stringify(text)}: expected ${forms}`);
  }
  const [tenant, watcher, slot] = parts as [string, string | undefined, string | undefined];
  if (!isValidName(tenant)) throw new UsageError(`target ${JSON.stringify(text)}: ${JSON.stringify(tenant)} is not a valid tenant name`);
  if (watcher !== undefined && !isValidName(watcher)) throw new UsageError(`target ${JSON.stringify(text)}: ${JSON.stringify(watcher)} is not a valid watcher name`);
  if (slot !== undefined && !/^\d{1,4}$/.test(slot)) throw new UsageError(`target ${JSON.stringify(text)}: the slot must be a number (got ${JSON.stringify(slot)})`);
  return { tenant, ...(watcher === undefined ? {} : { watcher }), ...(slot === undefined ? {} : { slot: Number(slot) }) };
}

const isNotFound = (error: unknown): boolean => error instanceof CorralError && error.code === 'not-found';

/**
 * Checks that the target's tenant, watcher and slot exist, so that an error names the one
 * that does not (the process routes alone would answer an unknown tenant with an empty list).
 * Resolves with the watcher when the target names one.
 */
export async function checkTarget(server: ServerTarget, target: ProcessTarget): Promise<WatcherInfo | null> {
  const { tenant, watcher, slot } = target;
  try {
    await requestJson(server, 'GET', `/api/v1/tenants/${tenant}`);
  } catch (error) {
    if (isNotFound(error)) throw new CorralError('not-found', `unknown tenant ${JSON.stringify(tenant)}`, { tenant });
    throw error;
  }
  if (watcher === undefined) return null;
  let info: WatcherInfo;
  try {
    info = (await requestJson(server, 'GET', `/api/v1/tenants/${tenant}/watchers/${watcher}`)) as WatcherInfo;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    const names = ((await requestJson(server, 'GET', `/api/v1/tenants/${tenant}/watchers`)) as { items: { name: string }[] }).items.map((item) => item.name);
    const known = names.length === 0 ? 'it has none' : `its watchers: ${names.join(', ')}`;
    throw new CorralError('not-found', `unknown watcher ${JSON.stringify(watcher)} in tenant ${tenant} (${known})`, { tenant, watcher });
  }
  if (slot !== undefined && slot >= info.numprocesses) {
    const slots = info.numprocesses === 0 ? 'none' : info.numprocesses === 1 ? 'slot 0' : `slots 0-${info.numprocesses - 1}`;
    throw new CorralError('not-found', `unknown slot ${slot} of ${tenant}:${watcher} (it has ${slots})`, { tenant, watcher, slot });
  }
  return info;
}
