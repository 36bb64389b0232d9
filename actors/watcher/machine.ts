import { assign, setup } from 'xstate';
import type { DomainEventOf } from '../runtime/domain-event.js';
import type { WatcherEvent, WatcherSpec } from './events.js';

/**
 * The watcher actor over its recorded events. Its effects: `convergeSlots` (make every slot
 * match the wish: running below numprocesses while active, stopped otherwise) and
 * `rollReload` (replace slots one at a time). Scaled-away slots keep their streams as
 * history, so `slotCount` remembers the highest numprocesses ever used.
 */
export interface WatcherContext {
  tenant: string;
  name: string;
  key: string;
  spec: WatcherSpec | null;
  active: boolean;
  /** slots 0..slotCount-1 may have process streams */
  slotCount: number;
  /** the latest rolling restart requested */
  reloadId: string | null;
}

export type WatcherDomainEvent = DomainEventOf<WatcherEvent>;
export type WatcherStateName = 'absent' | 'inactive' | 'active' | 'destroyed';

export interface WatcherMachineInput {
  tenant: string;
  name: string;
  key: string;
}

export const watcherMachine = setup({
  types: {
    context: {} as WatcherContext,
    events: {} as WatcherDomainEvent,
    input: {} as WatcherMachineInput,
  },
  actions: {
    created: assign({
      spec: ({ event }) => (event as Extract<WatcherDomainEvent, { type: 'create' }>).data.spec,
      slotCount: ({ context, event }) =>
        Math.max(context.slotCount, (event as Extract<WatcherDomainEvent, { type: 'create' }>).data.spec.numprocesses),
      reloadId: null,
    }),
    applySpec: assign({
      spec: ({ event }) => (event as Extract<WatcherDomainEvent, { type: 'update' }>).data.spec,
      slotCount: ({ context, event }) =>
        Math.max(context.slotCount, (event as Extract<WatcherDomainEvent, { type: 'update' }>).data.spec.numprocesses),
    }),
    // effects: provided by the runtime, run after the append
    /** `wantedSlots` is the wish at the moment of the event (a stop then start in one batch stops, then starts) */
    convergeSlots: (_, _params: { wantedSlots: number }) => {},
    rollReload: (_, _params: { reloadId: string }) => {},
  },
  guards: {
    createsActive: ({ event }) => event.type === 'create' && event.data.spec.active,
    deactivates: ({ event }) => event.type === 'update' && event.data.changed.includes('active') && !event.data.spec.active,
    activates: ({ event }) => event.type === 'update' && event.data.changed.includes('active') && event.data.spec.active,
  },
}).createMachine({
  id: 'watcher',
  context: ({ input }) => ({ ...input, spec: null, active: false, slotCount: 0, reloadId: null }),
  initial: 'absent',
  on: {
    update: [
      { guard: 'deactivates', target: '.inactive', actions: 'applySpec' },
      { guard: 'activates', target: '.active', actions: 'applySpec' },
      { actions: ['applySpec', { type: 'convergeSlots', params: ({ context }) => ({ wantedSlots: wantedSlots(context) }) }] },
    ],
  },
  states: {
    absent: {
      on: {
        create: [
          { guard: 'createsActive', target: 'active', actions: 'created' },
          { target: 'inactive', actions: 'created' },
        ],
      },
    },
    inactive: {
      entry: [assign({ active: false }), { type: 'convergeSlots', params: { wantedSlots: 0 } }],
      on: {
        start: { target: 'active' },
        destroy: { target: 'destroyed' },
      },
    },
    active: {
      entry: [assign({ active: true }), { type: 'convergeSlots', params: ({ context }) => ({ wantedSlots: wantedSlots(context) }) }],
      on: {
        stop: { target: 'inactive' },
        reload: {
          actions: [assign({ reloadId: ({ event }) => event.data.reloadId }), { type: 'rollReload', params: ({ event }) => ({ reloadId: event.data.reloadId }) }],
        },
        destroy: { target: 'destroyed' },
      },
    },
    destroyed: {
      entry: [assign({ active: false, reloadId: null }), { type: 'convergeSlots', params: { wantedSlots: 0 } }],
      on: {
        create: [
          { guard: 'createsActive', target: 'active', actions: 'created' },
          { target: 'inactive', actions: 'created' },
        ],
      },
    },
  },
});

const wantedSlots = (context: WatcherContext): number => (context.active && context.spec ? context.spec.numprocesses : 0);
