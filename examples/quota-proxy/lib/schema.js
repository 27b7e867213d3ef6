'use strict';
// The quota-proxy schema. Times are Unix epoch milliseconds (INTEGER);
// response_time is in milliseconds (REAL). The CHECK on api_keys is a second
// line of defence: the gateway never spends past total_quota, and if it ever
// tried, SQLite would refuse the UPDATE.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id          INTEGER PRIMARY KEY,
  key         TEXT    NOT NULL UNIQUE,
  label       TEXT    NOT NULL DEFAULT '',
  total_quota INTEGER NOT NULL CHECK (total_quota >= 0),
  used_quota  INTEGER NOT NULL DEFAULT 0 CHECK (used_quota >= 0 AND used_quota <= total_quota),
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER
);
CREATE TABLE IF NOT EXISTS usage_log (
  id            INTEGER PRIMARY KEY,
  api_key       TEXT    NOT NULL,
  endpoint      TEXT    NOT NULL,
  timestamp     INTEGER NOT NULL,
  response_time REAL    NOT NULL,
  status_code   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_log_by_key ON usage_log (api_key, status_code);
CREATE INDEX IF NOT EXISTS usage_log_by_time ON usage_log (timestamp);
`;

module.exports = { SCHEMA };
