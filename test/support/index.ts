// Helpers for integration and end-to-end tests (see README.md in this folder).
export { startServerProcess, runCorral, REPO_ROOT, CORRAL_BIN, type ServerProcess, type ServerProcessOptions } from './server.js';
export { waitFor, type WaitOptions } from './wait.js';
export { httpJson, type HttpJsonOptions, type HttpJsonResponse } from './http.js';
export { makeTempDir, removeTempDirs } from './tmp.js';
export { pidAlive, freePort } from './process.js';
export { listProcesses, type ProcessObject } from './processes.js';
