import { InvalidArgumentError } from './errors.js';

/**
 * Names and keys of docs/architecture.md "Events". Names exclude dots, colons, commas and slashes because
 * the subscription syntax (`type.action.key`) and keys (`acme:web:0`) split on them.
 * Everything is validated here, before it can reach the store.
 */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Salt's job id form: YYYYMMDDhhmmssffffff */
export const JID_PATTERN = /^\d{20}$/;

export type NameKind = 'tenant' | 'watcher' | 'minion' | 'user';

export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name);
}

/** Throws a clear error unless `name` is a valid tenant/watcher/minion/user name. */
export function assertName(kind: NameKind, name: unknown): string {
  if (!isValidName(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name) : typeof name;
    throw new InvalidArgumentError(
      `invalid ${kind} name ${shown}: must match ${NAME_PATTERN.source} (lowercase letters, digits, '_' and '-', starting with a letter or digit, at most 63 characters)`,
      { field: kind, value: typeof name === 'string' ? name.slice(0, 200) : undefined },
    );
  }
  return name;
}

export function assertSlot(slot: unknown): number {
  if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot > 9999) {
    throw new InvalidArgumentError(`invalid process slot ${JSON.stringify(slot)}: must be an integer from 0 to 9999`);
  }
  return slot;
}

export function assertJid(jid: unknown): string {
  if (typeof jid !== 'string' || !JID_PATTERN.test(jid)) {
    throw new InvalidArgumentError(`invalid job id ${JSON.stringify(jid)}: must be 20 digits (YYYYMMDDhhmmssffffff)`);
  }
  return jid;
}

// Keys: tenant-qualified with ':'.
export const tenantKey = (tenant: string): string => tenant;
export const watcherKey = (tenant: string, watcher: string): string => `${tenant}:${watcher}`;
export const processKey = (tenant: string, watcher: string, slot: number): string => `${tenant}:${watcher}:${slot}`;
export const minionKey = (tenant: string, minion: string): string => `${tenant}:${minion}`;
export const jobKey = (tenant: string, jid: string): string => `${tenant}:${jid}`;

// Streams (docs/architecture.md "Events").
export const tenantStream = (tenant: string): string => `tenant-${tenant}`;
export const watcherStream = (tenant: string, watcher: string): string => `watcher-${watcherKey(tenant, watcher)}`;
export const processStream = (tenant: string, watcher: string, slot: number): string =>
  `process-${processKey(tenant, watcher, slot)}`;
export const logStream = (tenant: string, watcher: string, slot: number): string =>
  `log-${processKey(tenant, watcher, slot)}`;
export const minionStream = (tenant: string, minion: string): string => `minion-${minionKey(tenant, minion)}`;
export const jobStream = (tenant: string, jid: string): string => `job-${jobKey(tenant, jid)}`;
export const COMPONENTS_STREAM = '$components';
/** the leader lease (docs/architecture.md "Actors and leadership") */
export const LEADER_STREAM = '$leader';

export interface ParsedProcessKey {
  tenant: string;
  watcher: string;
  slot: number;
}

/** `acme:web:0` -> {tenant, watcher, slot}; throws a clear error otherwise. */
export function parseProcessKey(key: string): ParsedProcessKey {
  const parts = key.split(':');
  if (parts.length !== 3) throw new InvalidArgumentError(`invalid process key ${JSON.stringify(key)}: expected tenant:watcher:slot`);
  const [tenant, watcher, slotText] = parts as [string, string, string];
  assertName('tenant', tenant);
  assertName('watcher', watcher);
  if (!/^\d{1,4}$/.test(slotText)) throw new InvalidArgumentError(`invalid process slot ${JSON.stringify(slotText)} in key ${JSON.stringify(key)}`);
  return { tenant, watcher, slot: Number(slotText) };
}

/** Splits a tenant-qualified key `acme:rest` into its tenant and the rest. */
export function splitTenantKey(key: string): { tenant: string; rest: string } {
  const colon = key.indexOf(':');
  if (colon <= 0) throw new InvalidArgumentError(`invalid key ${JSON.stringify(key)}: expected tenant:name`);
  return { tenant: key.slice(0, colon), rest: key.slice(colon + 1) };
}

/**
 * Generic stream-name syntax accepted by the store itself: a lowercase prefix or `$`,
 * then letters, digits and `_ - : . $`; at most 256 characters. Domain validation of the
 * names inside happens above (the helpers in this file).
 */
export const STREAM_PATTERN = /^[$a-z][a-zA-Z0-9_:.$-]{0,255}$/;

export function assertStreamName(stream: unknown): string {
  if (typeof stream !== 'string' || !STREAM_PATTERN.test(stream)) {
    const shown = typeof stream === 'string' ? JSON.stringify(stream.slice(0, 80)) : typeof stream;
    throw new InvalidArgumentError(`invalid stream name ${shown}: must match ${STREAM_PATTERN.source}`);
  }
  return stream;
}
