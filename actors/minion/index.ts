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
  wireSizeBound,
} from './limits.js';
