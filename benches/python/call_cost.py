"""The cost of one call, for instruction counting (benches/bindings-instructions.sh
runs it under callgrind in two venvs): `python call_cost.py query|aquery N`:
pool.query point selects, or pool.aquery from 16 asyncio tasks."""
import os, sys, tempfile, sqlite3, litepool, asyncio
d = tempfile.mkdtemp(); p = os.path.join(d, "b.db")
c = sqlite3.connect(p); c.executescript("PRAGMA journal_mode=WAL; CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < 999) INSERT INTO kv SELECT i, 'v' || i FROM n;"); c.close()
pool = litepool.Pool(p, max_size=4)
mode, n = sys.argv[1], int(sys.argv[2])
pool.query("SELECT v FROM kv WHERE k = ?", (1,))
if mode == "query":
    for i in range(n):
        pool.query("SELECT v FROM kv WHERE k = ?", (i % 1000,))
else:
    async def main():
        left = [n]
        async def w():
            while left[0] > 0:
                left[0] -= 1
                await pool.aquery("SELECT v FROM kv WHERE k = ?", (left[0] % 1000,))
        await asyncio.gather(*(w() for _ in range(16)))
    asyncio.run(main())
pool.close()
