import type { TenantContext, TenantDomainEvent, TenantStateName } from './machine.js';

/** The tenant actor's state folded without the machine (equal to `tenantMachine`'s). */
export interface TenantState {
  value: TenantStateName;
  context: TenantContext;
}

export const initialTenantState = (input: { name: string }): TenantState => ({ value: 'absent', context: { name: input.name, configVersion: 0, configDigest: null } });

export function evolveTenant(state: TenantState, event: TenantDomainEvent): TenantState {
  const { value, context } = state;
  switch (event.type) {
    case 'create':
      return value === 'active' ? state : { value: 'active', context: { ...context, configVersion: event.data.configVersion } };
    case 'reconfigure':
      return value === 'active' ? { value, context: { ...context, configVersion: event.data.configVersion } } : state;
    case 'destroy':
      return value === 'active' ? { value: 'deleted', context } : state;
    case 'config-applied':
      return { value, context: { ...context, configDigest: event.data.digest } };
    default:
      return state;
  }
}
