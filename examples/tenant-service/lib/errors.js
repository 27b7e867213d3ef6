'use strict';
// Every error the service answers with is JSON: { error, code }. Client
// mistakes are 4xx; a pool that cannot serve in time (or is closing) is 503
// DB_CONNECTION_FAILED with Retry-After; a database lock that outlasted
// busy_timeout is 503 DB_BUSY; only a genuine bug is a 500.

class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// litepool codes meaning "no connection could be had in time": the design
// note's DB_CONNECTION_FAILED.
const CONNECTION_FAILED = new Set(['LITEPOOL_TIMEOUT', 'LITEPOOL_CLOSED', 'LITEPOOL_EXHAUSTED', 'LITEPOOL_CLOSE_TIMEOUT']);
const BODY_PARSER_CODES = {
  'entity.parse.failed': 'MALFORMED_JSON',
  'entity.too.large': 'BODY_TOO_LARGE',
  'encoding.unsupported': 'UNSUPPORTED_ENCODING',
  'charset.unsupported': 'UNSUPPORTED_CHARSET',
  'request.aborted': 'REQUEST_ABORTED',
};

/** Maps anything thrown in a handler (or by body-parser) to an HttpError. */
function toHttpError(err) {
  if (err instanceof HttpError) return err;
  // body-parser's errors carry a 4xx `status` and a `type`.
  if (err && typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
    const code = BODY_PARSER_CODES[err.type] || 'BAD_REQUEST';
    const message = code === 'MALFORMED_JSON' ? `the request body is not valid JSON: ${err.message}` : err.message;
    return new HttpError(err.status, code, message);
  }
  const code = err && typeof err.code === 'string' ? err.code : '';
  if (CONNECTION_FAILED.has(code)) {
    return new HttpError(503, 'DB_CONNECTION_FAILED', `no database connection could be had in time (${code}); retry shortly`);
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new HttpError(503, 'DB_BUSY', `the database stayed locked past its busy timeout (${code}); retry shortly`);
  }
  if (code === 'LITEPOOL_UNKNOWN_TENANT') {
    return new HttpError(404, 'TENANT_NOT_FOUND', 'this tenant was removed while the request ran');
  }
  return new HttpError(500, 'INTERNAL_ERROR', 'internal error');
}

/** The statuses that are worth retrying: they carry Retry-After. */
function retryAfterSeconds(httpErr) {
  return httpErr.code === 'DB_CONNECTION_FAILED' || httpErr.code === 'DB_BUSY' ? 1 : undefined;
}

module.exports = { HttpError, toHttpError, retryAfterSeconds };
