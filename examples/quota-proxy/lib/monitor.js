'use strict';
// The pool monitor of the design notes ("连接泄漏检测"): every interval
// (default 5 s) one JSON line with the pool's stats is appended to a log
// file, and when every connection is leased (`active >= max`) the line is a
// `warn` and a warning goes to stderr too — a pool that stays full is the
// usual sign of a connection leak (or of a pool too small for the load).
//
// Line format (one JSON object per line, newest last):
//   {"timestamp":"2026-12-02T10:00:05.000Z","level":"info","event":"sample",
//    "active":1,"idle":1,"total":2,"max":8,"min":2,"waiting":0,
//    "acquired":1200,"timeouts":0,"leaks":0,"health":"healthy"}
// `level` is "warn" (with a `message`) while active >= max. The first line is
// `"event":"start"` (with the interval), the last `"event":"stop"`.
const fs = require('node:fs');
const path = require('node:path');

const DEFAULT_INTERVAL_MS = 5000;
const MIN_INTERVAL_MS = 100;

/**
 * Reads the monitor's settings from the environment:
 *   POOL_STATS_LOG       the log file (default: pool-stats.log beside the
 *                        database, i.e. ./data/pool-stats.log by default;
 *                        its directory is created)
 *   POOL_STATS_INTERVAL  ms between samples (default 5000, at least 100);
 *                        0 turns the monitor off
 * Throws with a message naming the variable on a bad value.
 */
function readMonitorConfig(env, dbPath) {
  const raw = env.POOL_STATS_INTERVAL;
  const intervalMs = raw === undefined || raw === '' ? DEFAULT_INTERVAL_MS : Number(raw);
  if (!Number.isInteger(intervalMs) || (intervalMs !== 0 && intervalMs < MIN_INTERVAL_MS)) {
    throw new Error(
      `POOL_STATS_INTERVAL must be 0 (off) or an integer of at least ${MIN_INTERVAL_MS} (ms), got ${JSON.stringify(raw)}`,
    );
  }
  const file = path.resolve(env.POOL_STATS_LOG || path.join(path.dirname(dbPath), 'pool-stats.log'));
  return { intervalMs, file };
}

/**
 * Starts sampling `source` (`{ stats(), health() }`, e.g. the store or a
 * Pool with getStats) every `intervalMs` into `file`. The file is opened
 * now, so an unwritable path fails here, with its name. The timer does not
 * keep the process alive. Returns `{ file, intervalMs, sample(), stop() }`;
 * `stop()` writes the stop line and closes the file (idempotent).
 * `warn(message)` receives the warnings (default: console.warn).
 */
function startPoolMonitor({ source, file, intervalMs = DEFAULT_INTERVAL_MS, warn = (m) => console.warn(m), now = () => new Date() }) {
  if (!Number.isInteger(intervalMs) || intervalMs < MIN_INTERVAL_MS) {
    throw new RangeError(`intervalMs must be an integer of at least ${MIN_INTERVAL_MS}, got ${intervalMs}`);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'a');
  let stopped = false;
  let saturatedSamples = 0;

  const write = (entry) => {
    fs.writeSync(fd, `${JSON.stringify({ timestamp: now().toISOString(), ...entry })}\n`);
  };

  function sample() {
    if (stopped) return null;
    let s;
    let health;
    try {
      s = source.stats();
      health = source.health();
    } catch (err) {
      // A closing pool may refuse; say so instead of crashing the timer.
      write({ level: 'warn', event: 'error', message: `reading the pool's stats failed: ${err.message}` });
      return null;
    }
    const entry = {
      level: 'info',
      event: 'sample',
      active: s.active,
      idle: s.idle,
      total: s.total,
      max: s.max,
      min: s.min,
      waiting: s.waiting,
      acquired: s.acquired,
      timeouts: s.timeouts,
      leaks: s.leaks,
      health,
    };
    if (s.active >= s.max) {
      saturatedSamples += 1;
      entry.level = 'warn';
      entry.message =
        `connection pool full: active ${s.active} >= max ${s.max} (${s.waiting} waiting), ` +
        `${saturatedSamples} sample(s) in a row; a possible connection leak`;
      warn(`quota-proxy: warning: ${entry.message}`);
    } else {
      saturatedSamples = 0;
    }
    write(entry);
    return entry;
  }

  write({ level: 'info', event: 'start', intervalMs });
  const timer = setInterval(sample, intervalMs);
  timer.unref();

  return {
    file,
    intervalMs,
    sample,
    stop() {
      if (stopped) return;
      clearInterval(timer);
      write({ level: 'info', event: 'stop' });
      stopped = true;
      fs.closeSync(fd);
    },
  };
}

module.exports = { startPoolMonitor, readMonitorConfig, DEFAULT_INTERVAL_MS };
