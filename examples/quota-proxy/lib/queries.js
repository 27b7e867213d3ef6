'use strict';
// The service's SQL, written once over a small executor interface so that the
// same service can run on litepool (lib/store.js) or, for the end-to-end
// benchmark, on a node-sqlite3 connection opened per request
// (benches/e2e/sqlite3-store.js):
//
//   db.all(sql, params) -> Promise<rows>
//   db.get(sql, params) -> Promise<row | undefined>
//   db.run(sql, params) -> Promise<{ changes }>
//
// `spend` must run inside a write transaction (BEGIN IMMEDIATE): the check,
// the usage row and the increment then happen under one write lock, so
// concurrent requests for the same key can never spend past its quota.
const { performance } = require('node:perf_hooks');

const KEY_COLUMNS = 'key, label, total_quota, used_quota, created_at, expires_at';

function insertKey(db, { key, label, totalQuota, createdAt, expiresAt }) {
  return db.run(
    'INSERT INTO api_keys (key, label, total_quota, used_quota, created_at, expires_at) VALUES (?, ?, ?, 0, ?, ?)',
    [key, label, totalQuota, createdAt, expiresAt],
  );
}

function listKeys(db) {
  return db.all(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY id`, []);
}

function getKey(db, key) {
  return db.get(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE key = ?`, [key]);
}

async function deleteKey(db, key) {
  const { changes } = await db.run('DELETE FROM api_keys WHERE key = ?', [key]);
  return changes > 0;
}

/** The most recent usage rows, newest first (optionally for one key). */
function recentUsage(db, { limit, apiKey }) {
  if (apiKey !== undefined) {
    return db.all(
      'SELECT id, api_key, endpoint, timestamp, response_time, status_code FROM usage_log ' +
        'WHERE api_key = ? ORDER BY id DESC LIMIT ?',
      [apiKey, limit],
    );
  }
  return db.all(
    'SELECT id, api_key, endpoint, timestamp, response_time, status_code FROM usage_log ORDER BY id DESC LIMIT ?',
    [limit],
  );
}

/**
 * Checks the key's quota, logs the attempt and, when allowed, spends one
 * unit. Resolves with `{ outcome, status, total, used }` where outcome is
 * 'ok' (200), 'expired' (403), 'spent' (429) or 'unknown' (401, not logged).
 * `startedAt` is the request's `performance.now()` at arrival.
 */
async function spend(db, { apiKey, endpoint, startedAt }) {
  const now = Date.now();
  const row = await db.get('SELECT total_quota, used_quota, expires_at FROM api_keys WHERE key = ?', [apiKey]);
  if (row === undefined) return { outcome: 'unknown', status: 401 };
  let outcome = 'ok';
  let status = 200;
  if (row.expires_at !== null && row.expires_at <= now) {
    outcome = 'expired';
    status = 403;
  } else if (row.used_quota >= row.total_quota) {
    outcome = 'spent';
    status = 429;
  }
  const responseTime = Math.round((performance.now() - startedAt) * 1000) / 1000;
  await db.run(
    'INSERT INTO usage_log (api_key, endpoint, timestamp, response_time, status_code) VALUES (?, ?, ?, ?, ?)',
    [apiKey, endpoint, now, responseTime, status],
  );
  let used = row.used_quota;
  if (outcome === 'ok') {
    await db.run('UPDATE api_keys SET used_quota = used_quota + 1 WHERE key = ?', [apiKey]);
    used += 1;
  }
  return { outcome, status, total: row.total_quota, used };
}

module.exports = { insertKey, listKeys, getKey, deleteKey, recentUsage, spend };
