// The command socket `<dataDir>/corral.sock` (server side) and its client (`corral ctl`).
export { openControlSocket, CONTROL_SOCKET, type ControlHandler, type ControlRequest, type ControlResponse, type ControlSocket } from './server.js';
export { sendControlCommand, callControlSocket } from './client.js';
