// The write side of the HTTP API (README "HTTP"): tenant, watcher, process and job commands,
// process logs, and the command table shared with the native websocket's `cmd` op.
export { createCommandTable, parseProcessId, type CommandDeps, type CommandDispatcher, type CommandResult } from './table.js';
export { OPERATE_JOB_FUNCTIONS, jobFunctionRole, type JobGrants } from './job-grants.js';
export { registerCommandRoutes, type CommandRouteDeps } from './routes.js';
export { forwardingDispatcher, registerForwardRoute, FORWARD_PATH, type ForwardingOptions } from './forward.js';
export { registerLogRoutes, DEFAULT_LOG_PAGE, MAX_LOG_PAGE, type LogLine } from './logs.js';
