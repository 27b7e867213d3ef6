'use strict';
// The tenant resolver middleware (the design note's
// tenantResolverSharedPoolMiddleware): the tenant code is the first label of
// the Host header under TENANT_DOMAIN (`k001.example.com` -> `k001`). It
// attaches `req.tenant` ({ code, name }) and `req.db`, the tenant's executor
// on the shared pool: every call made through it leases a connection for
// that tenant, confined to its schema (lib/store.js).
//
//   no Host header                         400 MISSING_HOST
//   a host not under TENANT_DOMAIN         400 INVALID_HOST
//   a label that is not [a-z0-9_]{1,64}    400 INVALID_TENANT_CODE
//   a code not in the registry             404 TENANT_NOT_FOUND
//   a tenant whose active flag is 0        403 TENANT_INACTIVE
//   an active tenant whose file is broken  503 TENANT_UNAVAILABLE
//
// Host names are case-insensitive (`K001.example.com` is k001); a port and
// one trailing dot are ignored. The Host header is used as received: behind
// a reverse proxy, have it pass the original Host on.
const { HttpError } = require('./errors');
const { CODE_RE } = require('./registry');

/** The tenant code in `host` under `domain`; throws an HttpError (400) otherwise. */
function tenantCodeFromHost(host, domain) {
  if (typeof host !== 'string' || host.trim() === '') {
    throw new HttpError(400, 'MISSING_HOST', `the Host header is required (<tenant>.${domain})`);
  }
  let name = host.trim().toLowerCase();
  if (name.startsWith('[')) {
    throw new HttpError(400, 'INVALID_HOST', `expected a host of the form <tenant>.${domain}, got an IP address`);
  }
  const colon = name.lastIndexOf(':');
  if (colon >= 0) {
    if (!/^\d{1,5}$/.test(name.slice(colon + 1))) {
      throw new HttpError(400, 'INVALID_HOST', 'the Host header has an invalid port');
    }
    name = name.slice(0, colon);
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  const suffix = `.${domain}`;
  if (!name.endsWith(suffix) || name.length === suffix.length) {
    throw new HttpError(400, 'INVALID_HOST', `expected a host of the form <tenant>.${domain}, got ${JSON.stringify(name.slice(0, 100))}`);
  }
  const code = name.slice(0, -suffix.length);
  if (!CODE_RE.test(code)) {
    throw new HttpError(
      400,
      'INVALID_TENANT_CODE',
      `${JSON.stringify(code.slice(0, 100))} is not a tenant code: expected 1 to 64 characters of a-z, 0-9 and _`,
    );
  }
  return code;
}

/** The middleware. `metrics.tenantOutcome(outcome)` counts resolutions. */
function tenantResolver({ registry, store, domain, metrics }) {
  return function resolveTenant(req, _res, next) {
    let code;
    try {
      code = tenantCodeFromHost(req.headers.host, domain);
    } catch (err) {
      metrics.tenantOutcome('invalid');
      return next(err);
    }
    const entry = registry.get(code);
    if (entry === undefined) {
      metrics.tenantOutcome('not_found');
      return next(new HttpError(404, 'TENANT_NOT_FOUND', `no tenant ${JSON.stringify(code)}`));
    }
    if (!entry.active) {
      metrics.tenantOutcome('inactive');
      return next(new HttpError(403, 'TENANT_INACTIVE', `tenant ${JSON.stringify(code)} is not active`));
    }
    if (entry.unavailable !== null) {
      metrics.tenantOutcome('unavailable');
      return next(new HttpError(503, 'TENANT_UNAVAILABLE', `tenant ${JSON.stringify(code)}'s database cannot be opened`));
    }
    metrics.tenantOutcome('ok');
    entry.requests += 1;
    req.tenant = { code, name: entry.name };
    req.db = store.forTenant(code);
    return next();
  };
}

module.exports = { tenantResolver, tenantCodeFromHost };
