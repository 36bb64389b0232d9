// Ops: CLI, config, command socket, logging, metrics, the minion agent, benchmarks.
export { main } from './cli.js';
