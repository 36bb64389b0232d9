import { assign, setup } from 'xstate';
import type { DomainEventOf } from '../runtime/domain-event.js';
import type { TenantEvent } from './events.js';

/** The tenant actor over its recorded events; it has no effects of its own (the runtime orders watcher work). */
export interface TenantContext {
  name: string;
  configVersion: number;
  /** digest of the configuration file's section last applied; kept across destroy (the file was applied, the API destroyed it) */
  configDigest: string | null;
}
export type TenantDomainEvent = DomainEventOf<TenantEvent>;
export type TenantStateName = 'absent' | 'active' | 'deleted';

export const tenantMachine = setup({
  types: {
    context: {} as TenantContext,
    events: {} as TenantDomainEvent,
    input: {} as { name: string },
  },
}).createMachine({
  id: 'tenant',
  context: ({ input }) => ({ name: input.name, configVersion: 0, configDigest: null }),
  initial: 'absent',
  on: { 'config-applied': { actions: assign({ configDigest: ({ event }) => event.data.digest }) } },
  states: {
    absent: {
      on: { create: { target: 'active', actions: assign({ configVersion: ({ event }) => event.data.configVersion }) } },
    },
    active: {
      on: {
        reconfigure: { actions: assign({ configVersion: ({ event }) => event.data.configVersion }) },
        destroy: { target: 'deleted' },
      },
    },
    deleted: {
      on: { create: { target: 'active', actions: assign({ configVersion: ({ event }) => event.data.configVersion }) } },
    },
  },
});
