// Gateway: the uWebSockets.js server, HTTP API, websocket protocols, auth, console assets.
export {};
