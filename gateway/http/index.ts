export { Router, type RequestContext, type RouteHandler, type RouteOptions, type HttpMethod, type RequestAuthenticator, type RouteObservation } from './router.js';
export { HttpReply } from './reply.js';
export { ResponseStream, type StreamInit } from './stream.js';
export { errorToHttp, statusLine, HttpStatusError, HTTP_STATUS_BY_CODE, type HttpErrorBody } from './errors.js';
export { refuseForeignOrigin, refuseNonLoopbackHost, type BodyKind } from './cross-site.js';
export { MAX_BODY_BYTES, parseExpectedRevision, parseQuery } from './request.js';
