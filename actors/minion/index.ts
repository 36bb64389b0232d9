// Minions: their events, the port between the actors and the minions, and the `/minion`
// protocol's size limits shared by the server and the minion agent.
export type * from './events.js';
export type * from './port.js';
export {
  MAX_FRAME_BYTES,
  MAX_JOB_ARGS,
  FRAME_ENVELOPE_BYTES,
  MAX_JOB_ARGS_WIRE_BYTES,
  MAX_JOB_RETURN_WIRE_BYTES,
  MAX_PROCESS_ARGS,
  MAX_PROCESS_ENV,
  MAX_PROCESS_TEXT_CHARS,
  MAX_ENV_NAME_CHARS,
  MAX_PATH_CHARS,
  MAX_READY_PATH_CHARS,
  MAX_SPAWN_WIRE_BYTES,
  wireSizeBound,
} from './limits.js';
export { tenantDefaultUid, TENANT_UID_BASE } from './tenant-uid.js';
export { defaultMinionId } from './default-id.js';
