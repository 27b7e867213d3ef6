#!/usr/bin/env python3
"""Turns criterion's tenant estimates into benches/results/tenants.md."""
import json
import pathlib

root = pathlib.Path("target/criterion")


def mean_us(group, name, n):
    data = json.loads(root.joinpath(group, name, str(n), "new", "estimates.json").read_text())
    return data["mean"]["point_estimate"] / 1000


lines = [
    "## Tenants: point select on a random tenant (criterion)",
    "",
    "Command: `cargo bench -p litepool --bench tenants` (then `python3 benches/rust/tenants_report.py`).",
    "Shared pool: one litepool pool of 4 connections, each tenant ATTACHed as `tenant_<code>` on demand",
    "(SQLite allows 10 attachments per connection here, so 50 tenants on 4 connections must detach and",
    "re-attach). Pool per tenant: one litepool pool of up to 4 connections *per tenant* (up to 200",
    "connections and 50 housekeeper threads for 50 tenants). Open per request: `Connection::open` + query",
    "+ close, the ad-hoc pattern. Ratio = other time / shared-pool time (above 1: the shared pool is faster).",
    "",
    "| tenants | shared pool | pool per tenant | ratio | open per request | ratio |",
    "|---|---|---|---|---|---|",
]
for n in (8, 50):
    g = f"tenant_point_select_{n}_tenants"
    shared, per, opened = mean_us(g, "shared_pool", n), mean_us(g, "pool_per_tenant", n), mean_us(g, "open_per_request", n)
    lines.append(f"| {n} | {shared:.1f} µs | {per:.1f} µs | **{per / shared:.2f}×** | {opened:.1f} µs | **{opened / shared:.2f}×** |")
lines.append("")
pathlib.Path("benches/results").mkdir(parents=True, exist_ok=True)
pathlib.Path("benches/results/tenants.md").write_text("\n".join(lines))
print("\n".join(lines))
