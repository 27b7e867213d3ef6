'use strict';
// Every error the service answers with is JSON: { error, code }. Client
// mistakes are 4xx; a pool that is saturated or closing is 503 with
// Retry-After; only a genuine bug is a 500.

class HttpError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    if (details !== undefined) this.details = details;
    // Seconds for a 503's Retry-After.
    this.retryAfter = 1;
  }
}

// litepool error codes that mean "try again shortly", not "bug".
const UNAVAILABLE = new Set([
  'LITEPOOL_TIMEOUT', 'LITEPOOL_CLOSED', 'LITEPOOL_EXHAUSTED', 'LITEPOOL_DEADLINE', 'SQLITE_BUSY', 'SQLITE_LOCKED',
]);

/** Maps anything thrown in a handler (or by body-parser) to an HttpError. */
function toHttpError(err) {
  if (err instanceof HttpError) return err;
  // body-parser's errors carry a 4xx `status` and a `type`.
  if (err && typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
    const code = {
      'entity.parse.failed': 'MALFORMED_JSON',
      'entity.too.large': 'BODY_TOO_LARGE',
      'encoding.unsupported': 'UNSUPPORTED_ENCODING',
      'charset.unsupported': 'UNSUPPORTED_CHARSET',
      'request.aborted': 'REQUEST_ABORTED',
    }[err.type] || 'BAD_REQUEST';
    const message = code === 'MALFORMED_JSON' ? `the request body is not valid JSON: ${err.message}` : err.message;
    return new HttpError(err.status, code, message);
  }
  const code = err && typeof err.code === 'string' ? err.code : '';
  if (code === 'LITEPOOL_OVERLOADED') {
    // Shed by the pool (DB_POOL_MAX_WAITING, DB_POOL_SHED_LOAD): refused at
    // once; retry after the wait the pool expects.
    const httpErr = new HttpError(503, 'OVERLOADED', 'the service is overloaded; retry after the Retry-After delay');
    httpErr.retryAfter = Math.max(1, Math.ceil((err.retryAfterMillis || 0) / 1000));
    return httpErr;
  }
  if (UNAVAILABLE.has(code) || code.startsWith('SQLITE_BUSY')) {
    return new HttpError(503, 'DATABASE_UNAVAILABLE', `the database is busy or shutting down (${code}); retry shortly`);
  }
  return new HttpError(500, 'INTERNAL_ERROR', 'internal error');
}

module.exports = { HttpError, toHttpError };
