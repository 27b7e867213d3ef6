#!/usr/bin/env python3
"""quota_report: usage per API key and the top endpoints of a quota-proxy
database, read through litepool while the service keeps writing to it.

    python examples/python/quota_report.py [DB_PATH] [--top N] [--check] [--json]

DB_PATH defaults to $DB_PATH, then examples/quota-proxy/data/quota.db. Every
query runs on one read lease inside one read transaction, so the numbers
come from a single snapshot of the database even while the service writes
(WAL: the report never blocks the service's writers, nor they it).

--check verifies that no key was spent past its quota and that each key's
used_quota equals its successful (200) usage rows; it exits 1 if not.
--json prints the report as JSON instead of tables.

Exit status: 0 ok, 1 --check failed, 2 the database is missing or is not a
quota-proxy database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import sys

import litepool

DEFAULT_DB = pathlib.Path(__file__).resolve().parent.parent / "quota-proxy" / "data" / "quota.db"

PER_KEY_SQL = """
SELECT k.key, k.label, k.total_quota, k.used_quota, k.expires_at,
       count(u.id)                                   AS requests,
       coalesce(sum(u.status_code = 200), 0)         AS ok,
       coalesce(sum(u.status_code = 429), 0)         AS spent,
       coalesce(sum(u.status_code NOT IN (200, 429)), 0) AS other,
       avg(u.response_time)                          AS avg_ms
FROM api_keys AS k LEFT JOIN usage_log AS u ON u.api_key = k.key
GROUP BY k.id
ORDER BY requests DESC, k.id
"""

TOP_ENDPOINTS_SQL = """
SELECT endpoint, count(*) AS requests, sum(status_code = 200) AS ok,
       avg(response_time) AS avg_ms, max(response_time) AS max_ms
FROM usage_log
GROUP BY endpoint
ORDER BY requests DESC, endpoint
LIMIT ?
"""

TOTALS_SQL = """
SELECT count(*), coalesce(sum(status_code = 200), 0), coalesce(sum(status_code <> 200), 0),
       min(timestamp), max(timestamp)
FROM usage_log
"""


class ReportError(Exception):
    """The database cannot be reported on (missing, or not quota-proxy's)."""


def mask(key: str) -> str:
    """An API key shortened for display: the secret stays secret."""
    return key if len(key) <= 12 else f"{key[:7]}…{key[-4:]}"


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def collect(pool: litepool.Pool, top: int) -> dict:
    """Reads every number of the report from one snapshot."""
    with pool.read() as conn:
        conn.execute("BEGIN")
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
            missing = {"api_keys", "usage_log"} - tables
            if missing:
                raise ReportError(f"{pool.path} is not a quota-proxy database (no table {', '.join(sorted(missing))})")
            keys = conn.execute(PER_KEY_SQL).fetchall()
            endpoints = conn.execute(TOP_ENDPOINTS_SQL, (top,)).fetchall()
            totals = conn.execute(TOTALS_SQL).fetchone()
        finally:
            conn.rollback()
    per_key = [
        {
            "key": key,
            "label": label,
            "total_quota": total,
            "used_quota": used,
            "remaining": max(0, total - used),
            "expires_at": iso(expires),
            "requests": requests,
            "ok": ok,
            "rejected_429": spent,
            "rejected_other": other,
            "avg_ms": avg_ms,
        }
        for key, label, total, used, expires, requests, ok, spent, other, avg_ms in keys
    ]
    problems = []
    for k in per_key:
        if k["used_quota"] > k["total_quota"]:
            problems.append(f"{mask(k['key'])}: used {k['used_quota']} > quota {k['total_quota']}")
        if k["used_quota"] != k["ok"]:
            problems.append(f"{mask(k['key'])}: used_quota {k['used_quota']} but {k['ok']} successful requests logged")
    return {
        "database": pool.path,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "keys": per_key,
        "top_endpoints": [
            {"endpoint": e, "requests": n, "ok": ok, "avg_ms": avg, "max_ms": mx} for e, n, ok, avg, mx in endpoints
        ],
        "totals": {
            "keys": len(per_key),
            "requests": totals[0],
            "ok": totals[1],
            "rejected": totals[2],
            "first": iso(totals[3]),
            "last": iso(totals[4]),
        },
        "consistent": not problems,
        "problems": problems,
        "pool": pool.stats(),
    }


def table(headers: list[str], rows: list[list], right: set[int]) -> str:
    """A plain-text table; columns in `right` are right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render(report: dict) -> str:
    t = report["totals"]
    out = [
        f"quota report for {report['database']} at {report['generated_at']}",
        f"(litepool {litepool.__version__}, SQLite {litepool.sqlite_version}; one read transaction, one snapshot)",
        "",
        "Usage per key",
    ]
    rows = [
        [mask(k["key"]), k["label"] or "-", f"{k['total_quota']:,}", f"{k['used_quota']:,}", f"{k['remaining']:,}",
         f"{k['requests']:,}", f"{k['ok']:,}", f"{k['rejected_429']:,}", f"{k['rejected_other']:,}", ms(k["avg_ms"])]
        for k in report["keys"]
    ]
    out.append(table(["key", "label", "quota", "used", "remaining", "requests", "ok", "429", "other", "avg ms"],
                     rows, right={2, 3, 4, 5, 6, 7, 8, 9}))
    out += ["", "Top endpoints"]
    rows = [[e["endpoint"], f"{e['requests']:,}", f"{e['ok']:,}", ms(e["avg_ms"]), ms(e["max_ms"])]
            for e in report["top_endpoints"]]
    out.append(table(["endpoint", "requests", "ok", "avg ms", "max ms"], rows, right={1, 2, 3, 4}))
    out += [
        "",
        f"totals: {t['keys']} keys, {t['requests']:,} requests logged ({t['ok']:,} ok, {t['rejected']:,} rejected)"
        + (f", from {t['first']} to {t['last']}" if t["first"] else ""),
    ]
    if report["consistent"]:
        out.append("consistency: ok (no key over its quota; used_quota = successful requests for every key)")
    else:
        out.append("consistency: FAILED")
        out += [f"  {p}" for p in report["problems"]]
    s = report["pool"]
    out.append(f"report's pool: acquired {s['acquired']}, created {s['created']}, active {s['active']}, idle {s['idle']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db_path", nargs="?", default=os.environ.get("DB_PATH") or str(DEFAULT_DB),
                        help="the quota-proxy database (default: $DB_PATH, then %(default)s)")
    parser.add_argument("--top", type=int, default=5, help="how many endpoints to list (default: 5)")
    parser.add_argument("--check", action="store_true", help="exit 1 unless every key's usage is consistent")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if args.top < 1:
        parser.error("--top must be at least 1")
    path = pathlib.Path(args.db_path)
    if not path.is_file():
        print(f"quota_report: no database at {path} (start the service first, or pass DB_PATH)", file=sys.stderr)
        return 2
    try:
        # A small pool: the report is one reader among the service's connections.
        with litepool.Pool(str(path.resolve()), max_size=2, min_idle=0, name="quota_report") as pool:
            report = collect(pool, args.top)
    except ReportError as e:
        print(f"quota_report: {e}", file=sys.stderr)
        return 2
    except litepool.Error as e:
        print(f"quota_report: cannot read {path}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 1 if args.check and not report["consistent"] else 0


if __name__ == "__main__":
    sys.exit(main())
