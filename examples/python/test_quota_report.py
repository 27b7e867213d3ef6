"""Tests for quota_report.py: exact numbers from a seeded database, the
table, --check, bad databases, and reading while a writer keeps spending."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
import threading
import time

import pytest

import litepool

HERE = pathlib.Path(__file__).resolve().parent
REPORT = HERE / "quota_report.py"
SCHEMA_JS = HERE.parent / "quota-proxy" / "lib" / "schema.js"


def schema_sql() -> str:
    """The service's schema, taken from the service's own source."""
    match = re.search(r"const SCHEMA = `(.*?)`;", SCHEMA_JS.read_text(), re.S)
    assert match, f"no SCHEMA in {SCHEMA_JS}"
    return match.group(1)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPORT), *args], capture_output=True, text=True, timeout=60)


def spend(conn, key: str, endpoint: str, status: int, ms: float = 1.0) -> None:
    """What the service's gateway transaction does, for one request."""
    conn.execute(
        "INSERT INTO usage_log (api_key, endpoint, timestamp, response_time, status_code) VALUES (?, ?, ?, ?, ?)",
        (key, endpoint, int(time.time() * 1000), ms, status),
    )
    if status == 200:
        conn.execute("UPDATE api_keys SET used_quota = used_quota + 1 WHERE key = ?", (key,))


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "quota.db"
    with litepool.Pool(str(path), max_size=2) as pool:
        pool.executescript(schema_sql())
        with pool.write() as conn:
            now = int(time.time() * 1000)
            for key, label, quota in [("sk-alpha-000000000001", "alpha", 10), ("sk-beta-0000000000002", "beta", 3),
                                      ("sk-idle-0000000000003", "", 50)]:
                conn.execute(
                    "INSERT INTO api_keys (key, label, total_quota, used_quota, created_at) VALUES (?, ?, ?, 0, ?)",
                    (key, label, quota, now),
                )
            for i in range(6):
                spend(conn, "sk-alpha-000000000001", "/v1/chat" if i % 3 else "/v1/embed", 200, ms=2.0)
            for _ in range(3):
                spend(conn, "sk-beta-0000000000002", "/v1/chat", 200, ms=4.0)
            for _ in range(2):
                spend(conn, "sk-beta-0000000000002", "/v1/chat", 429, ms=1.0)
            conn.commit()
    return path


def test_json_report_has_exact_numbers(db):
    res = run(str(db), "--json", "--check")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    keys = {k["label"] or k["key"]: k for k in report["keys"]}
    assert (keys["alpha"]["used_quota"], keys["alpha"]["requests"], keys["alpha"]["ok"]) == (6, 6, 6)
    assert keys["alpha"]["remaining"] == 4
    assert (keys["beta"]["used_quota"], keys["beta"]["requests"], keys["beta"]["ok"]) == (3, 5, 3)
    assert keys["beta"]["rejected_429"] == 2 and keys["beta"]["rejected_other"] == 0
    assert keys["sk-idle-0000000000003"]["requests"] == 0
    assert keys["sk-idle-0000000000003"]["avg_ms"] is None
    # Most requests first.
    assert [k["label"] for k in report["keys"]] == ["alpha", "beta", ""]
    assert report["top_endpoints"][0] == {"endpoint": "/v1/chat", "requests": 9, "ok": 7,
                                          "avg_ms": pytest.approx((4 * 2.0 + 3 * 4.0 + 2 * 1.0) / 9), "max_ms": 4.0}
    assert report["top_endpoints"][1]["endpoint"] == "/v1/embed"
    assert report["top_endpoints"][1]["requests"] == 2
    assert report["totals"] | {"first": None, "last": None} == {
        "keys": 3, "requests": 11, "ok": 9, "rejected": 2, "first": None, "last": None}
    assert report["consistent"] is True and report["problems"] == []
    assert report["database"] == str(db)


def test_table_report(db):
    res = run(str(db), "--top", "1")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Usage per key" in out and "Top endpoints" in out
    assert re.search(r"^sk-alph…0001\s+alpha\s+10\s+6\s+4\s+6\s+6\s+0\s+0\s+2\.00$", out, re.M), out
    assert re.search(r"^sk-beta…0002\s+beta\s+3\s+3\s+0\s+5\s+3\s+2\s+0\s+2\.80$", out, re.M), out
    assert "/v1/chat" in out and "/v1/embed" not in out  # --top 1
    assert "totals: 3 keys, 11 requests logged (9 ok, 2 rejected)" in out
    assert "consistency: ok" in out
    assert "sk-alpha-000000000001" not in out  # keys are masked


def test_check_fails_when_used_quota_and_the_log_disagree(db):
    with litepool.Pool(str(db), max_size=1, min_idle=0) as pool:
        pool.execute("UPDATE api_keys SET used_quota = 7 WHERE label = 'alpha'")  # 6 ok rows, used 7
    res = run(str(db), "--check")
    assert res.returncode == 1
    assert "consistency: FAILED" in res.stdout
    assert "used_quota 7 but 6 successful requests logged" in res.stdout
    # Without --check the report still prints and exits 0.
    assert run(str(db)).returncode == 0


def test_missing_database(tmp_path):
    res = run(str(tmp_path / "nope.db"))
    assert res.returncode == 2
    assert "no database at" in res.stderr
    assert not (tmp_path / "nope.db").exists()  # the report does not create it


def test_not_a_quota_proxy_database(tmp_path):
    path = tmp_path / "other.db"
    with litepool.Pool(str(path), max_size=1, min_idle=0) as pool:
        pool.execute("CREATE TABLE api_keys (x)")
    res = run(str(path))
    assert res.returncode == 2
    assert "not a quota-proxy database (no table usage_log)" in res.stderr


def test_db_path_from_environment(db):
    res = subprocess.run([sys.executable, str(REPORT), "--json"], capture_output=True, text=True,
                         env={"DB_PATH": str(db), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["totals"]["requests"] == 11


def test_consistent_snapshot_while_a_writer_spends(db):
    """The report reads one snapshot: even while another connection keeps
    running gateway-style transactions, every report it prints is consistent."""
    stop = threading.Event()
    spent = 0

    def writer() -> None:
        nonlocal spent
        with litepool.Pool(str(db), max_size=2) as pool:
            pool.execute("UPDATE api_keys SET total_quota = 1000000 WHERE label = 'alpha'")
            while not stop.is_set():
                with pool.write() as conn:
                    conn.execute("BEGIN IMMEDIATE")
                    spend(conn, "sk-alpha-000000000001", "/v1/chat", 200)
                    conn.commit()
                spent += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = []
        deadline = time.monotonic() + 30
        while len(seen) < 5 and time.monotonic() < deadline:
            res = run(str(db), "--json", "--check")
            assert res.returncode == 0, res.stdout + res.stderr
            report = json.loads(res.stdout)
            alpha = next(k for k in report["keys"] if k["label"] == "alpha")
            assert alpha["used_quota"] == alpha["ok"]
            seen.append(alpha["used_quota"])
    finally:
        stop.set()
        thread.join()
    assert spent > 0
    assert seen == sorted(seen) and seen[-1] > 6, seen  # it saw the writer's progress
