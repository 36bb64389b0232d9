// Ops: CLI, config, command socket, logging, metrics, the minion agent, benchmarks.
export { main, COMMANDS, type Command } from './cli.js';
export { startNode, isLoopbackHost, MODEL_API, SERVER_FILE, type NodeOptions, type RunningNode } from './serve.js';
export type { NodeContext, NodeModule, StartedModule, StopInfo } from './node-module.js';
export { defaultNodeModules } from './modules.js';
export * from './config/index.js';
export { createLogger, LOG_LEVELS, type Logger } from './logging.js';
export { packageVersion } from './version.js';
export { UsageError } from './commands/usage.js';
