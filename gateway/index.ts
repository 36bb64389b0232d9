// Gateway: the uWebSockets.js server, HTTP API, websocket protocols, auth, console assets.
export { Gateway, type GatewayOptions, type ModelApiInfo, type Readiness, type ReadinessCheck } from './server.js';
export * from './http/index.js';
export * from './auth/index.js';
export { createMetricsRegistry, instrumentStore, type StoreForMetrics } from './metrics.js';
export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior, SocketContext } from './uws.js';
export { registerReadRoutes } from './routes/read-routes.js';
export { registerConsoleRoutes, type ConsoleRouteOptions } from './routes/console.js';
export { registerWebsocketProtocols, DEFAULT_WS_LIMITS, type WebsocketProtocols, type WebsocketProtocolsOptions, type CommandTable, type WsLimits } from './ws/index.js';
export * from './routes/commands/index.js';
