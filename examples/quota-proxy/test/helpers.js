'use strict';
// Starts the real service (`node server.js`) as a child process on
// 127.0.0.1 with an ephemeral port and a fresh database, and talks to it
// with fetch.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SERVER = path.join(__dirname, '..', 'server.js');
const ADMIN_TOKEN = 'test-admin-token-0123456789';

// The child gets a minimal environment, plus what says which litepool build
// to load: examples/run-tests.sh points NAPI_RS_NATIVE_LIBRARY_PATH at the
// debug addon (kept apart from the release one that `npm pack` ships).
const PASSED_THROUGH = ['PATH', 'NAPI_RS_NATIVE_LIBRARY_PATH', 'LITEPOOL_NODE'];
function baseEnv() {
  const env = {};
  for (const name of PASSED_THROUGH) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'quota-proxy-test-'));
}

/** Runs server.js to completion (for configurations that must refuse to start). */
function runServer(env, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER], {
      env: { ...baseEnv(), HOST: '127.0.0.1', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not exit within ${timeoutMs} ms; stdout: ${stdout}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Starts the service; resolves once it prints its "listening on" line.
 * `env` is added to a minimal environment (ADMIN_TOKEN, DB_PATH set unless given).
 */
function startService(env = {}) {
  const dir = tempDir();
  const fullEnv = {
    ...baseEnv(),
    HOST: '127.0.0.1',
    PORT: '0',
    ADMIN_TOKEN,
    DB_PATH: path.join(dir, 'quota.db'),
    ...env,
  };
  const child = spawn(process.execPath, [SERVER], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const service = {
    child,
    dir,
    dbPath: fullEnv.DB_PATH,
    stdout: '',
    stderr: '',
    url: undefined,
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout.on('data', (d) => (service.stdout += d));
  child.stderr.on('data', (d) => (service.stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service did not start within 15 s; stdout: ${service.stdout}; stderr: ${service.stderr}`));
    }, 15000);
    const onData = () => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(service.stdout);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        service.url = m[1];
        resolve(service);
      }
    };
    child.stdout.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited (${code}) before listening; stderr: ${service.stderr}`));
    });
  });
}

/** Stops a service started by startService with `signal`; resolves with its exit. */
async function stopService(service, signal = 'SIGTERM') {
  if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill(signal);
  const result = await service.exited;
  fs.rmSync(service.dir, { recursive: true, force: true });
  return result;
}

/** fetch + JSON: resolves with { status, body, headers }. */
async function call(service, method, urlPath, { body, headers = {}, admin = false, raw } = {}) {
  const h = { ...headers };
  if (admin) h.authorization = `Bearer ${ADMIN_TOKEN}`;
  let payload;
  if (raw !== undefined) {
    payload = raw;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  const res = await fetch(service.url + urlPath, { method, headers: h, body: payload });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json, text, headers: res.headers };
}

async function createKey(service, totalQuota, extra = {}) {
  const res = await call(service, 'POST', '/admin/keys', { admin: true, body: { total_quota: totalQuota, ...extra } });
  if (res.status !== 201) throw new Error(`creating a key failed: ${res.status} ${res.text}`);
  return res.body;
}

function gateway(service, key, endpoint = '/v1/chat/completions') {
  const headers = key === undefined ? {} : { 'x-api-key': key };
  return call(service, 'POST', '/gateway', { headers, body: { endpoint } });
}

module.exports = { ADMIN_TOKEN, SERVER, tempDir, runServer, startService, stopService, call, createKey, gateway };
