'use strict';
// Provisions tenants into a fresh temporary directory, starts the real
// service (`node server.js`) on 127.0.0.1 with an ephemeral port, and talks
// to it over node:http (fetch cannot set the Host header, which picks the
// tenant).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { provision } = require('../scripts/provision');

const SERVER = path.join(__dirname, '..', 'server.js');
const ADMIN_TOKEN = 'test-admin-token-0123456789';
const DOMAIN = 'tenants.test';

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-service-test-'));
}

/**
 * Provisions `opts.tenants` tenants (scripts/provision.js's options) into a
 * new directory; resolves with { dir, dbPath, tokens, byCode }.
 */
async function provisionData(opts = {}) {
  const dir = tempDir();
  const dbPath = path.join(dir, 'main.db');
  const { tenants } = await provision({ dbPath, tenants: 3, users: 3, products: 4, orders: 2, ...opts });
  return { dir, dbPath, tokens: { tenants }, byCode: Object.fromEntries(tenants.map((t) => [t.code, t])) };
}

function baseEnv(env) {
  // The addon the suite was built for (examples/run-tests.sh points it at the debug build).
  const addon = process.env.NAPI_RS_NATIVE_LIBRARY_PATH ? { NAPI_RS_NATIVE_LIBRARY_PATH: process.env.NAPI_RS_NATIVE_LIBRARY_PATH } : {};
  return { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', ADMIN_TOKEN, TENANT_DOMAIN: DOMAIN, ...addon, ...env };
}

/** Runs server.js to completion (for configurations that must refuse to start). */
function runServer(env, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER], { env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
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
 * Starts the service on `data` (from provisionData); resolves once it prints
 * its "listening on" line. `env` is added to a minimal environment.
 */
function startService(data, env = {}) {
  const fullEnv = baseEnv({ DB_PATH: data.dbPath, ...env });
  const child = spawn(process.execPath, [SERVER], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const service = {
    child,
    data,
    stdout: '',
    stderr: '',
    url: undefined,
    port: undefined,
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
        service.port = Number(new URL(m[1]).port);
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
  return service.exited;
}

function removeData(data) {
  fs.rmSync(data.dir, { recursive: true, force: true });
}

/** The host of tenant `code`. */
function hostOf(code) {
  return `${code}.${DOMAIN}`;
}

const noKeepAlive = new http.Agent({ keepAlive: false });

/**
 * One request: resolves with { status, body (JSON or undefined), text, headers }.
 * `host` defaults to 'localhost' (not a tenant); `tenant` sets it to the
 * tenant's host; `token` or `admin: true` sets the bearer token.
 */
function call(service, method, urlPath, { tenant, host, token, admin = false, body, raw, headers = {}, agent = noKeepAlive } = {}) {
  const h = { host: host !== undefined ? host : tenant !== undefined ? hostOf(tenant) : 'localhost', ...headers };
  if (admin) h.authorization = `Bearer ${ADMIN_TOKEN}`;
  else if (token !== undefined) h.authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) {
    payload = raw;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  if (payload !== undefined) h['content-length'] = Buffer.byteLength(payload);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: service.port, method, path: urlPath, headers: h, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, body: json, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The admin user's and a member's tokens of a provisioned tenant. */
function usersOf(data, code) {
  const t = data.byCode[code];
  return { admin: t.users.find((u) => u.role === 'admin'), member: t.users.find((u) => u.role === 'member') };
}

module.exports = {
  ADMIN_TOKEN,
  DOMAIN,
  SERVER,
  tempDir,
  provisionData,
  runServer,
  startService,
  stopService,
  removeData,
  hostOf,
  call,
  usersOf,
};
