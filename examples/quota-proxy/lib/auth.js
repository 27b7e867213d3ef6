'use strict';
// Admin authentication: `Authorization: Bearer <ADMIN_TOKEN>`, compared in
// constant time. Both sides are hashed first (SHA-256), so the comparison
// takes the same time whatever the presented token's length, and
// crypto.timingSafeEqual always gets two buffers of equal length.
const crypto = require('node:crypto');
const { HttpError } = require('./errors');

function digest(value) {
  return crypto.createHash('sha256').update(value, 'utf8').digest();
}

/** Middleware that lets a request through only with the right bearer token. */
function requireAdmin(adminToken) {
  if (typeof adminToken !== 'string' || adminToken.length === 0) {
    throw new Error('requireAdmin: an admin token is required');
  }
  const expected = digest(adminToken);
  return function authenticateAdmin(req, _res, next) {
    const header = req.get('authorization');
    if (header === undefined) {
      return next(new HttpError(401, 'MISSING_ADMIN_TOKEN', 'the admin API needs an "Authorization: Bearer <token>" header'));
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) {
      return next(new HttpError(401, 'INVALID_AUTHORIZATION', 'the Authorization header must be "Bearer <token>"'));
    }
    if (!crypto.timingSafeEqual(digest(match[1]), expected)) {
      return next(new HttpError(403, 'INVALID_ADMIN_TOKEN', 'the admin token is not valid'));
    }
    return next();
  };
}

module.exports = { requireAdmin };
