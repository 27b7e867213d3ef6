'use strict';
// The service's configuration, from the environment (see server.js for the
// list). The pool is configured as the design note has it: DB_POOL_MAX 30,
// DB_POOL_MIN 5, acquire timeout 30 s, idle timeout 10 s, each overridable
// by its DB_POOL_* variable. Only the defaults are set here: the variables
// themselves are read and checked by litepool (Pool.fromEnv), so a bad value
// fails startup with LITEPOOL_INVALID_CONFIG naming it.
const path = require('node:path');

/** The design note's pool defaults, by variable: [Pool option, value]. */
const NOTE_POOL_DEFAULTS = {
  DB_POOL_MAX: ['max', 30],
  DB_POOL_MIN: ['min', 5],
  DB_POOL_ACQUIRE_TIMEOUT: ['connectionTimeoutMillis', 30000],
  DB_POOL_IDLE_TIMEOUT: ['idleTimeoutMillis', 10000],
};

function isSet(env, name) {
  return env[name] !== undefined && env[name] !== '';
}

/**
 * The options to pass to Pool.fromEnv: the note's default for each of its
 * four variables that is not set. `settings` says what is in effect (the
 * variable's value, as litepool will read it, or the default).
 */
function poolOptions(env) {
  const options = {};
  const settings = {};
  for (const [name, [option, value]] of Object.entries(NOTE_POOL_DEFAULTS)) {
    if (isSet(env, name)) {
      settings[option] = /^\s*\d+\s*$/.test(env[name]) ? Number(env[name]) : env[name];
    } else {
      options[option] = value;
      settings[option] = value;
    }
  }
  // Only DB_POOL_MAX given, below the note's min: keep min under it (as litepool does for its own default).
  if (!isSet(env, 'DB_POOL_MIN') && typeof settings.max === 'number' && settings.max < options.min) {
    options.min = settings.max;
    settings.min = settings.max;
  }
  return { options, settings };
}

function readConfig(env) {
  const adminToken = env.ADMIN_TOKEN;
  if (adminToken === undefined || adminToken.trim() === '') {
    throw new Error(
      'ADMIN_TOKEN is not set: the admin API has no default token. ' +
        'Set one, e.g. ADMIN_TOKEN=$(openssl rand -hex 24) node server.js',
    );
  }
  const port = env.PORT === undefined || env.PORT === '' ? 8788 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(env.PORT)}`);
  }
  const shutdownTimeout = env.SHUTDOWN_TIMEOUT === undefined || env.SHUTDOWN_TIMEOUT === '' ? 10000 : Number(env.SHUTDOWN_TIMEOUT);
  if (!Number.isInteger(shutdownTimeout) || shutdownTimeout < 0) {
    throw new Error(`SHUTDOWN_TIMEOUT must be a non-negative integer (ms), got ${JSON.stringify(env.SHUTDOWN_TIMEOUT)}`);
  }
  const domain = (env.TENANT_DOMAIN || 'localhost').trim().toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain) || domain.length > 200) {
    throw new Error(`TENANT_DOMAIN must be a domain name such as example.com, got ${JSON.stringify(env.TENANT_DOMAIN)}`);
  }
  const dbPath = path.resolve(env.DB_PATH || path.join('data', 'main.db'));
  const pool = poolOptions(env);
  return {
    adminToken,
    dbPath,
    dataDir: path.dirname(dbPath),
    domain,
    host: env.HOST || '127.0.0.1',
    port,
    shutdownTimeout,
    poolOptions: pool.options,
    poolSettings: pool.settings,
  };
}

module.exports = { readConfig, poolOptions, NOTE_POOL_DEFAULTS };
