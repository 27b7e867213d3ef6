'use strict';
// Number formatting for what people read (the load summary, `make demo`):
// counts with thousands separators, durations with sensible precision.
// JSON output keeps the raw numbers.

/** 12345.6 -> "12,346". */
function formatCount(n) {
  return Math.round(n).toLocaleString('en-US');
}

/**
 * A duration given in ms: "0.4 ms", "12 ms", "1.25 s", "14.7 s", "7 min 27 s".
 * Below 10 ms one decimal (whole numbers stay whole); below 1 s whole ms;
 * below 10 s two decimals of a second, below a minute one; then minutes and seconds.
 */
function formatMillis(ms) {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms >= 59950) {
    const s = Math.round(ms / 1000);
    return `${Math.floor(s / 60)} min ${s % 60} s`;
  }
  if (ms >= 10000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10 || Number.isInteger(ms)) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

module.exports = { formatCount, formatMillis };
