'use strict';
// The service's own Prometheus metrics, appended to the pool's
// (`pool.metrics()`, which has the litepool_* series including the
// litepool_tenant_* ones): requests by route and status, request durations,
// and tenant resolution and authentication outcomes. No series is labelled
// by tenant: with hundreds of tenants that would be hundreds of series per
// metric (per-tenant counts are at /admin/db-pool-stats instead).

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function escapeLabel(value) {
  return String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function counter() {
  const counts = new Map();
  return {
    add: (key) => counts.set(key, (counts.get(key) || 0) + 1),
    entries: () => counts.entries(),
  };
}

function createHttpMetrics() {
  const requests = counter(); // method \0 route \0 status
  const durations = new Map(); // route -> { buckets, sum, count }
  const tenants = counter(); // resolution outcome
  const auth = counter(); // authentication outcome

  return {
    /** Express middleware: counts each request when its response finishes. */
    middleware(req, res, next) {
      const start = process.hrtime.bigint();
      res.on('finish', () => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        const route = req.route ? req.baseUrl + req.route.path : 'unmatched';
        requests.add(`${req.method}\u0000${route}\u0000${res.statusCode}`);
        let d = durations.get(route);
        if (d === undefined) {
          d = { buckets: new Array(BUCKETS.length).fill(0), sum: 0, count: 0 };
          durations.set(route, d);
        }
        for (let i = 0; i < BUCKETS.length; i += 1) if (seconds <= BUCKETS[i]) d.buckets[i] += 1;
        d.sum += seconds;
        d.count += 1;
      });
      next();
    },
    /** ok, invalid, not_found, inactive, unavailable */
    tenantOutcome: (outcome) => tenants.add(outcome),
    /** ok, missing, invalid */
    authOutcome: (outcome) => auth.add(outcome),
    /** Prometheus text for the service's metrics. */
    render() {
      const out = [];
      out.push('# HELP tenant_service_http_requests_total HTTP requests answered, by method, route and status.');
      out.push('# TYPE tenant_service_http_requests_total counter');
      for (const [key, count] of requests.entries()) {
        const [method, route, status] = key.split('\u0000');
        out.push(`tenant_service_http_requests_total{method="${method}",route="${escapeLabel(route)}",status="${status}"} ${count}`);
      }
      out.push('# HELP tenant_service_http_request_duration_seconds Time to answer a request, by route.');
      out.push('# TYPE tenant_service_http_request_duration_seconds histogram');
      for (const [route, d] of durations) {
        const r = escapeLabel(route);
        BUCKETS.forEach((le, i) => {
          out.push(`tenant_service_http_request_duration_seconds_bucket{route="${r}",le="${le}"} ${d.buckets[i]}`);
        });
        out.push(`tenant_service_http_request_duration_seconds_bucket{route="${r}",le="+Inf"} ${d.count}`);
        out.push(`tenant_service_http_request_duration_seconds_sum{route="${r}"} ${d.sum}`);
        out.push(`tenant_service_http_request_duration_seconds_count{route="${r}"} ${d.count}`);
      }
      out.push('# HELP tenant_service_tenant_resolutions_total Requests by how their Host resolved (ok, invalid, not_found, inactive, unavailable).');
      out.push('# TYPE tenant_service_tenant_resolutions_total counter');
      for (const [outcome, count] of tenants.entries()) out.push(`tenant_service_tenant_resolutions_total{outcome="${outcome}"} ${count}`);
      out.push('# HELP tenant_service_auth_total Bearer token checks by outcome (ok, missing, invalid).');
      out.push('# TYPE tenant_service_auth_total counter');
      for (const [outcome, count] of auth.entries()) out.push(`tenant_service_auth_total{outcome="${outcome}"} ${count}`);
      return `${out.join('\n')}\n`;
    },
  };
}

module.exports = { createHttpMetrics };
