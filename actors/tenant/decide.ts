import { NotFoundError, WrongExpectedRevisionError } from '../../store/index.js';
import type { TenantEvent } from './events.js';
import type { TenantContext, TenantStateName } from './machine.js';

export type TenantCommand =
  | { kind: 'create' }
  | { kind: 'reconfigure'; added: string[]; updated: string[]; removed: string[] }
  | { kind: 'destroy' }
  | { kind: 'record-config-digest'; digest: string };

export interface TenantSnapshotView {
  value: TenantStateName;
  context: TenantContext;
}

export function decideTenant(state: TenantSnapshotView, command: TenantCommand, env: { stream: string; revision: number }): TenantEvent[] {
  const { value, context } = state;
  switch (command.kind) {
    case 'create':
      if (value === 'active') throw new WrongExpectedRevisionError(env.stream, 'noStream', env.revision);
      // a re-created tenant continues its stream and its config versions
      return [{ action: 'create', data: { name: context.name, configVersion: context.configVersion + 1 } }];
    case 'reconfigure':
      assertActive(state);
      return [
        {
          action: 'reconfigure',
          data: { configVersion: context.configVersion + 1, added: command.added, updated: command.updated, removed: command.removed },
        },
      ];
    case 'destroy':
      assertActive(state);
      return [{ action: 'destroy', data: {} }];
    case 'record-config-digest':
      assertActive(state);
      return command.digest === context.configDigest ? [] : [{ action: 'config-applied', data: { digest: command.digest } }];
  }
}

export function assertActive(state: TenantSnapshotView): void {
  if (state.value !== 'active') throw new NotFoundError(`tenant ${state.context.name} does not exist`, { tenant: state.context.name });
}
