'use strict';
// prometheus/alerts.yml: well-formed rules whose every metric is one the
// running service really exports (scraped from /metrics), the alerts the
// design notes ask for, and — with PROMTOOL set, as examples/run-tests.sh
// does (scripts/promtool.sh) — `promtool check rules` and the unit tests in
// prometheus/alerts.test.yml.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const yaml = require('js-yaml');
const { startService, stopService, call, createKey, gateway } = require('./helpers');

const DIR = path.join(__dirname, '..', 'prometheus');
const RULES = path.join(DIR, 'alerts.yml');
const PROMTOOL = process.env.PROMTOOL;
// Series Prometheus records itself for every scrape target.
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right',
  'offset', 'bool', 'inf', 'nan']);

/** The metric names an expression reads (functions, labels, keywords, durations and numbers removed). */
function metricNames(expr) {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const names = new Set();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = stripped.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after)) continue; // a function call
    if (PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    if (/^\d/.test(stripped[m.index - 1] || '')) continue; // part of a number such as 1e3
    names.add(m[0]);
  }
  return names;
}

function loadRules() {
  const doc = yaml.load(fs.readFileSync(RULES, 'utf8'));
  assert.ok(Array.isArray(doc.groups) && doc.groups.length > 0, 'alerts.yml has groups');
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));
}

test('metricNames reads names, not functions, labels or keywords', () => {
  assert.deepEqual(
    [...metricNames('histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{pool="x"}[5m]))) > 0.5')],
    ['a_bucket'],
  );
  assert.deepEqual([...metricNames('a{p="q"} / b > 0.9 and on (pool) c > 0')].sort(), ['a', 'b', 'c']);
  assert.deepEqual([...metricNames('increase(x_total[15m]) > 1e3')], ['x_total']);
});

test('every rule is complete: alert, expr, severity, summary, description; names are unique', () => {
  const rules = loadRules();
  const names = rules.map((r) => r.alert);
  assert.equal(new Set(names).size, names.length, `duplicate alert names: ${names}`);
  for (const r of rules) {
    assert.equal(typeof r.alert, 'string', JSON.stringify(r));
    assert.equal(typeof r.expr, 'string', `${r.alert}: expr`);
    assert.ok(['warning', 'critical'].includes(r.labels && r.labels.severity), `${r.alert}: severity`);
    assert.ok(r.annotations && r.annotations.summary && r.annotations.description, `${r.alert}: annotations`);
    if (r.for !== undefined) assert.match(r.for, /^\d+[smh]$/, `${r.alert}: for`);
  }
});

test('the alerts the design asks for: utilisation > 90 % for minutes, timeouts, leaks', () => {
  const rules = loadRules();
  const find = (metric, re) => rules.find((r) => metricNames(r.expr).has(metric) && re.test(r.expr));
  const utilisation = find('litepool_connections_active', /litepool_connections_active\{[^}]*\}\s*\/\s*litepool_connections_max\{[^}]*\}\s*>\s*0\.9\b/);
  assert.ok(utilisation, 'a rule on active / max > 0.9');
  assert.match(utilisation.for, /^\d+m$/, 'held for minutes');
  assert.ok(find('litepool_connection_timeout_total', /increase\(litepool_connection_timeout_total/), 'acquire timeouts increasing');
  assert.ok(find('litepool_connection_leak_total', /increase\(litepool_connection_leak_total/), 'leaks detected');
  for (const r of rules) {
    for (const m of metricNames(r.expr)) {
      if (m.startsWith('litepool_')) assert.match(r.expr, new RegExp(`${m}\\{pool="quota_proxy"`), `${r.alert}: ${m} selects the service's pool`);
    }
  }
});

test('every metric the rules read is exported by the running service', async () => {
  const service = await startService({ DB_POOL_MAX: '4', DB_POOL_LEAK_THRESHOLD: '60000' });
  try {
    // Traffic, so that labelled service series exist too.
    const { key } = await createKey(service, 1);
    await gateway(service, key);
    await gateway(service, key);
    await call(service, 'GET', '/admin/usage', { admin: true });
    const res = await call(service, 'GET', '/metrics');
    assert.equal(res.status, 200);
    const exported = new Set();
    for (const line of res.text.split('\n')) {
      const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})? /.exec(line);
      if (m) exported.add(m[1]);
    }
    assert.ok(exported.has('litepool_connections_active'), 'the scrape has the pool metrics');
    const missing = [];
    for (const r of loadRules()) {
      for (const m of metricNames(r.expr)) {
        if (!exported.has(m) && !PROMETHEUS_SERIES.has(m)) missing.push(`${r.alert}: ${m}`);
      }
    }
    assert.deepEqual(missing, [], `metrics the rules read but /metrics does not export:\n${missing.join('\n')}`);
    // The series carry the label the rules select on.
    assert.match(res.text, /^litepool_connection_timeout_total\{pool="quota_proxy"\} \d+$/m);
  } finally {
    await stopService(service);
  }
});

test('promtool check rules and promtool test rules pass', { skip: PROMTOOL ? false : 'PROMTOOL is not set (examples/run-tests.sh sets it)' }, () => {
  const check = spawnSync(PROMTOOL, ['check', 'rules', 'alerts.yml'], { cwd: DIR, encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool check rules:\n${check.stdout}${check.stderr}`);
  assert.match(check.stdout, /SUCCESS: \d+ rules found/);
  const unit = spawnSync(PROMTOOL, ['test', 'rules', 'alerts.test.yml'], { cwd: DIR, encoding: 'utf8' });
  assert.equal(unit.status, 0, `promtool test rules:\n${unit.stdout}${unit.stderr}`);
  assert.match(unit.stdout, /SUCCESS/);
});
