// Websocket protocols (docs/architecture.md "Websocket protocols"; docs/architecture.md "Delivery"): native /ws, Digital Rebar /api/v3/ws, Salt
// /all_events and /formatted_events, with grouped fan-out over uWS topics and lossless,
// bounded delivery (history -> live hand-over, lagged -> catch-up from the store).
export { registerWebsocketProtocols, type WebsocketProtocols, type WebsocketProtocolsOptions, type ModelApiSource } from './register.js';
export { type CommandTable, roleForCommand, NATIVE_JSON, NATIVE_MSGPACK, TOKEN_SUBPROTOCOL_PREFIX } from './native.js';
export { CLOSE } from './endpoint.js';
export { DEFAULT_WS_LIMITS, resolveLimits, type WsLimits } from './limits.js';
export { FanoutHub, type DeliveryGroup, type Member, type Outlet } from './fanout.js';
export { ConnectionRegistry, WsConnection, type ConnectionKind } from './connections.js';
export { scopeOf, changeVisible, objectVisible, type TenantScope } from './scope.js';
export { NativeEventFormat, DrpEventFormat, SaltAllEventsFormat, SaltFormattedFormat, EncodeTurn, encodeMessage, type Frame, type FrameFormat } from './frames.js';
