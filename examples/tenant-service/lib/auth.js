'use strict';
// Authentication.
//
// Users (the design note's auth middleware): `Authorization: Bearer <token>`,
// looked up in the request's tenant only (`tenant_<code>.users`, through
// req.db), so a token of tenant A presented on tenant B's host finds no user
// and is 401. Tokens are split tokens (lib/tokens.js): stored hashed,
// compared in constant time.
//
// Admin: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time
// (both sides hashed, then crypto.timingSafeEqual).
const crypto = require('node:crypto');
const { HttpError } = require('./errors');
const queries = require('./queries');
const { parseToken, secretMatches, sha256 } = require('./tokens');

/** The bearer token of `req`, or an HttpError (401) (MISSING_… or INVALID_AUTHORIZATION). */
function bearerToken(req, missingCode, what) {
  const header = req.get('authorization');
  if (header === undefined) {
    throw new HttpError(401, missingCode, `${what} needs an "Authorization: Bearer <token>" header`);
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) {
    throw new HttpError(401, 'INVALID_AUTHORIZATION', 'the Authorization header must be "Bearer <token>"');
  }
  return match[1];
}

/** Sets req.user (without its token hash) from the bearer token, in req's tenant. */
function requireUser(metrics) {
  return async function authenticateUser(req, _res, next) {
    let token;
    try {
      token = bearerToken(req, 'MISSING_TOKEN', 'the API');
    } catch (err) {
      metrics.authOutcome('missing');
      throw err;
    }
    const parsed = parseToken(token);
    const row = parsed === undefined ? undefined : await queries.userBySelector(req.db, parsed.selector);
    // secretMatches compares even when there is no row, so a miss costs what a hit does.
    if (!secretMatches(parsed === undefined ? token : parsed.secret, row && row.token_hash)) {
      metrics.authOutcome('invalid');
      throw new HttpError(401, 'INVALID_TOKEN', `the token is not valid for tenant ${JSON.stringify(req.tenant.code)}`);
    }
    metrics.authOutcome('ok');
    delete row.token_hash;
    req.user = row;
    next();
  };
}

/** Lets only tenant users with `role` through (403 FORBIDDEN otherwise). */
function requireRole(role) {
  return function checkRole(req, _res, next) {
    if (req.user.role !== role) {
      return next(new HttpError(403, 'FORBIDDEN', `this needs the "${role}" role; you are "${req.user.role}"`));
    }
    return next();
  };
}

/** The admin API's middleware. There is no default token. */
function requireAdmin(adminToken) {
  if (typeof adminToken !== 'string' || adminToken.length === 0) {
    throw new Error('requireAdmin: an admin token is required');
  }
  const expected = sha256(adminToken);
  return function authenticateAdmin(req, _res, next) {
    const token = bearerToken(req, 'MISSING_ADMIN_TOKEN', 'the admin API');
    if (!crypto.timingSafeEqual(sha256(token), expected)) {
      throw new HttpError(403, 'INVALID_ADMIN_TOKEN', 'the admin token is not valid');
    }
    next();
  };
}

module.exports = { requireUser, requireRole, requireAdmin };
