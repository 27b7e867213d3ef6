'use strict';
// Logs database errors the way the design note asks (tenant code and
// statement), with the parameters redacted: they carry emails, names and
// token material, so only their count is logged. The statement is the SQL
// text with its placeholders, which holds no values.
//
//   tenant-service: SQL error tenant=k001 code=SQLITE_CONSTRAINT_UNIQUE
//     statement="INSERT INTO tenant_k001.users (…) VALUES (?, ?, …)" params=<7 redacted>: UNIQUE constraint failed: users.email
//
// An error is logged once, where it happened, even when a transaction
// rethrows it.
const logged = new WeakSet();

function isDatabaseError(err) {
  return err instanceof Error && typeof err.code === 'string' && /^(SQLITE|LITEPOOL)_/.test(err.code);
}

function paramCount(params) {
  if (Array.isArray(params)) return params.length;
  if (params !== null && typeof params === 'object') return Object.keys(params).length;
  return 0;
}

function oneLine(sql, max = 400) {
  const text = String(sql).replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Logs `err` (if it is a database error not logged yet) for `tenant` (null: the main database). */
function logSqlError(log, { tenant, sql, params, err }) {
  if (!isDatabaseError(err) || logged.has(err)) return;
  logged.add(err);
  log(
    `SQL error tenant=${tenant || '-'} code=${err.code} statement=${JSON.stringify(oneLine(sql))} ` +
      `params=<${paramCount(params)} redacted>: ${err.message}`,
  );
}

/** Runs `call()` (a promise-returning database call), logging its failure. */
async function withSqlLog(log, tenant, sql, params, call) {
  try {
    return await call();
  } catch (err) {
    logSqlError(log, { tenant, sql, params, err });
    throw err;
  }
}

module.exports = { withSqlLog, logSqlError, isDatabaseError };
