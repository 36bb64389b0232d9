/**
 * The one module that imports uWebSockets.js. The package is installed through an npm
 * alias (an unofficial build for Node 20); keeping every import here means the official
 * package can replace it by changing this file alone. Only the default import works: the
 * native addon exposes no ESM named exports.
 */
import uWS from 'uWebSockets.js';
import type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  WebSocket,
  WebSocketBehavior,
  us_listen_socket,
  us_socket_context_t,
  RecognizedString,
} from 'uWebSockets.js';

if (!uWS || typeof uWS !== 'object' || !('SSLApp' in uWS) || typeof uWS.App !== 'function') {
  // The package loads a prebuilt binary matching the Node ABI; on a mismatch it exports
  // nothing usable, and every later error would be far from the cause.
  throw new Error(
    `uWebSockets.js did not load its native binary for Node ${process.version} on ${process.platform}-${process.arch}; ` +
      'Corral needs Node 20 (run `node --version`) and a reinstall (`npm install`)',
  );
}

export type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  WebSocket,
  WebSocketBehavior,
  us_listen_socket as ListenSocket,
  us_socket_context_t as SocketContext,
  RecognizedString,
};

export const createApp = (): TemplatedApp => uWS.App();

/** The port a listen socket is bound to (the real one when listening on port 0). */
export const listenSocketPort = (socket: us_listen_socket): number => uWS.us_socket_local_port(socket as never);

export const closeListenSocket = (socket: us_listen_socket): void => uWS.us_listen_socket_close(socket);

/** Parses multipart/form-data bodies. */
export const getParts = uWS.getParts;

export const uwsCompression = {
  DISABLED: uWS.DISABLED,
  SHARED_COMPRESSOR: uWS.SHARED_COMPRESSOR,
} as const;
