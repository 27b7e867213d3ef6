"""Streaming: a drop-in cursor steps rows from SQLite in batches as it is
iterated, so a million rows never sit in memory at once."""

import tracemalloc

import litepool.sqlite3 as sqlite3

MILLION = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000000) "
    "SELECT x, 'row number ' || x FROM c"
)


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_million_rows_stream_with_flat_memory(tmp_path):
    cx = sqlite3.connect(tmp_path / "big.db")
    before = rss_kib()
    peak = before
    tracemalloc.start()
    count = total = 0
    for x, text in cx.execute(MILLION):
        count += 1
        total += x
        if count % 50_000 == 0:
            peak = max(peak, rss_kib())
            assert text == f"row number {x}"
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cx.close()
    assert count == 1_000_000 and total == 1_000_000 * 1_000_001 // 2
    # The rows as Python tuples would take well over 100 MB; streamed, the
    # process grows by little more than one batch.
    assert peak - before < 30 * 1024, f"RSS grew by {(peak - before) // 1024} MiB"
    assert traced_peak < 5 * 1024 * 1024, f"Python allocations peaked at {traced_peak} bytes"


def test_fetchmany_and_fetchall_see_every_row_once(tmp_path):
    cx = sqlite3.connect(tmp_path / "n.db")
    cur = cx.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 5000) SELECT x FROM c")
    first = cur.fetchmany(700)
    rest = cur.fetchall()
    assert [r[0] for r in first + rest] == list(range(1, 5001))
    assert cur.fetchone() is None
    cx.close()


def test_a_pool_connection_cursor_streams_a_million_rows_too(tmp_path):
    import litepool

    with litepool.Pool(str(tmp_path / "p.db"), max_size=2, min_idle=0) as pool:
        with pool.connection() as conn:
            before = rss_kib()
            peak = before
            cur = conn.execute(MILLION)
            assert cur.rowcount == -1, "not known until every row was stepped"
            count = 0
            for _ in cur:
                count += 1
                if count % 100_000 == 0:
                    peak = max(peak, rss_kib())
            assert count == 1_000_000 and cur.rowcount == 1_000_000
            assert peak - before < 30 * 1024, f"RSS grew by {(peak - before) // 1024} MiB"
            small = conn.execute("SELECT 1 UNION ALL SELECT 2")
            assert small.rowcount == 2 and small.fetchall() == [(1,), (2,)]
