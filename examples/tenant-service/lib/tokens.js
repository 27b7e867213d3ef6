'use strict';
// User API tokens, as split tokens: `<selector>.<secret>`.
//
// The selector (12 random bytes, base64url) is stored in clear and indexed:
// it finds the user's row. The secret (24 random bytes) is stored only as its
// SHA-256 digest and compared with crypto.timingSafeEqual, so neither the
// database lookup nor the comparison leaks how much of a guessed secret was
// right, and a stolen database file holds no usable token. A token is shown
// once, when its user is created (or provisioned).
const crypto = require('node:crypto');

const SELECTOR_BYTES = 12;
const SECRET_BYTES = 24;
const TOKEN_RE = /^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{32})$/;
// Compared against when no row matches, so a miss does the same work as a hit.
const DUMMY_HASH = crypto.createHash('sha256').update('no such token').digest();

function sha256(text) {
  return crypto.createHash('sha256').update(text, 'utf8').digest();
}

/** A new token: `{ token, selector, hash }` (hash: hex SHA-256 of the secret). */
function newToken() {
  const selector = crypto.randomBytes(SELECTOR_BYTES).toString('base64url');
  const secret = crypto.randomBytes(SECRET_BYTES).toString('base64url');
  return { token: `${selector}.${secret}`, selector, hash: sha256(secret).toString('hex') };
}

/** `{ selector, secret }`, or undefined when `token` is not of our shape. */
function parseToken(token) {
  const m = TOKEN_RE.exec(token);
  return m === null ? undefined : { selector: m[1], secret: m[2] };
}

/**
 * Whether `secret` matches the stored hex digest, in constant time. With
 * `storedHex` undefined (no such selector) it still compares, and says no.
 */
function secretMatches(secret, storedHex) {
  const stored = typeof storedHex === 'string' && /^[0-9a-f]{64}$/.test(storedHex) ? Buffer.from(storedHex, 'hex') : undefined;
  const equal = crypto.timingSafeEqual(sha256(secret), stored || DUMMY_HASH);
  return equal && stored !== undefined;
}

module.exports = { newToken, parseToken, secretMatches, sha256 };
