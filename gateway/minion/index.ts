// The `/minion` websocket protocol (DESIGN.md §8.4): frames and codec shared with the minion
// agent (ops/minion), and the server-side hub implementing the actors' MinionPort.
export {
  PROTOCOL_MIN,
  PROTOCOL_MAX,
  MAX_FRAME_BYTES,
  CLOSE_UNAUTHENTICATED,
  CLOSE_FORBIDDEN,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_REPLACED,
  CLOSE_ID_BOUND,
  CLOSE_SINK_FAILED,
  CLOSE_RESTARTING,
  CLOSE_GOING_AWAY,
  ProtocolError,
  encodeFrame,
  decodeMinionFrame,
  decodeServerFrame,
  negotiateProtocol,
  isReliableReport,
  type ProtocolRange,
  type HelloFrame,
  type ReportFrame,
  type PingFrame,
  type PongFrame,
  type MinionFrame,
  type WelcomeFrame,
  type CommandFrame,
  type AckFrame,
  type ServerFrame,
} from './protocol.js';
export { NAME_PATTERN } from './validate.js';
export {
  memoryMinionBindings,
  storeMinionBindings,
  minionCredential,
  minionBindingStream,
  type MinionBindings,
  type MinionClaim,
  type MinionCredentialParts,
} from './bindings.js';
export {
  createMinionHub,
  type MinionHub,
  type MinionHubOptions,
  type MinionIdentity,
  type MinionConnectionInfo,
  type HubLogger,
} from './hub.js';
