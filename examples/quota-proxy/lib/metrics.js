'use strict';
// The service's own Prometheus metrics, appended to the pool's
// (`pool.metrics()`): requests by route and status, request durations, and
// the seed's `quota_proxy_connections_active` gauge.

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function escapeLabel(value) {
  return String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function createHttpMetrics() {
  const requests = new Map(); // `${method} ${route} ${status}` -> count
  const durations = new Map(); // route -> { buckets, sum, count }
  const gateway = new Map(); // outcome -> count

  return {
    /** Express middleware: counts each request when its response finishes. */
    middleware(req, res, next) {
      const start = process.hrtime.bigint();
      res.on('finish', () => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        const route = req.route ? req.baseUrl + req.route.path : 'unmatched';
        const key = `${req.method}\u0000${route}\u0000${res.statusCode}`;
        requests.set(key, (requests.get(key) || 0) + 1);
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
    gatewayOutcome(outcome) {
      gateway.set(outcome, (gateway.get(outcome) || 0) + 1);
    },
    /** Prometheus text for the service's metrics (`stats` is the pool's). */
    render(stats) {
      const out = [];
      out.push('# HELP quota_proxy_connections_active Database connections leased out (as in the pool guide).');
      out.push('# TYPE quota_proxy_connections_active gauge');
      out.push(`quota_proxy_connections_active ${stats.active}`);
      out.push('# HELP quota_proxy_http_requests_total HTTP requests answered, by method, route and status.');
      out.push('# TYPE quota_proxy_http_requests_total counter');
      for (const [key, count] of requests) {
        const [method, route, status] = key.split('\u0000');
        out.push(
          `quota_proxy_http_requests_total{method="${method}",route="${escapeLabel(route)}",status="${status}"} ${count}`,
        );
      }
      out.push('# HELP quota_proxy_http_request_duration_seconds Time to answer a request, by route.');
      out.push('# TYPE quota_proxy_http_request_duration_seconds histogram');
      for (const [route, d] of durations) {
        const r = escapeLabel(route);
        BUCKETS.forEach((le, i) => {
          out.push(`quota_proxy_http_request_duration_seconds_bucket{route="${r}",le="${le}"} ${d.buckets[i]}`);
        });
        out.push(`quota_proxy_http_request_duration_seconds_bucket{route="${r}",le="+Inf"} ${d.count}`);
        out.push(`quota_proxy_http_request_duration_seconds_sum{route="${r}"} ${d.sum}`);
        out.push(`quota_proxy_http_request_duration_seconds_count{route="${r}"} ${d.count}`);
      }
      out.push('# HELP quota_proxy_gateway_requests_total Gateway requests by outcome (ok, spent, expired, unknown, invalid).');
      out.push('# TYPE quota_proxy_gateway_requests_total counter');
      for (const [outcome, count] of gateway) {
        out.push(`quota_proxy_gateway_requests_total{outcome="${outcome}"} ${count}`);
      }
      return `${out.join('\n')}\n`;
    },
  };
}

module.exports = { createHttpMetrics };
