mod common;
use common::*;
use litepool::{Error, Lane};
use std::time::Duration;

#[test]
fn basic_get_read_write_query() -> litepool::Result<()> {
    let db = pool_with(quick());
    let pool = &db.pool;
    pool.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")?;
    let r = pool.execute("INSERT INTO t (v) VALUES (?1)", ["a"])?;
    assert_eq!(r.changes, 1);
    assert_eq!(r.last_insert_rowid, 1);
    let rows = pool.query("SELECT id, v FROM t", [])?;
    assert_eq!(rows.columns, vec!["id", "v"]);
    assert_eq!(rows.rows.len(), 1);
    {
        let conn = pool.read()?;
        assert_eq!(conn.lane(), Lane::Read);
        let err = conn.execute("INSERT INTO t (v) VALUES ('x')", []).unwrap_err();
        assert!(matches!(err, Error::ReadOnlyLane(_)), "{err}");
        assert!(err.to_string().contains("write()"));
    }
    let mut w = pool.write()?;
    let tx = w.transaction()?;
    tx.execute("INSERT INTO t (v) VALUES ('b')", [])?;
    tx.commit()?;
    drop(w);
    assert_eq!(pool.state().active, 0);
    Ok(())
}

#[test]
fn timeout_states_counts() {
    let db = pool_with(quick().max_size(1).acquire_timeout(Duration::from_millis(100)));
    let _held = db.pool.get().unwrap();
    let err = db.pool.get().unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_TIMEOUT");
    let msg = err.to_string();
    assert!(msg.starts_with("timed out after"), "{msg}");
    assert!(msg.contains("total=1, active=1, idle=0"), "{msg}");
}

#[test]
fn async_acquire_with_callback() {
    let db = pool_with(quick().max_size(1));
    let held = db.pool.get().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    db.pool.acquire_with(Default::default(), move |r| {
        tx.send(r.map(|c| c.connection_id())).unwrap();
    });
    assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
    let id = held.connection_id();
    drop(held);
    assert_eq!(rx.recv_timeout(Duration::from_secs(2)).unwrap().unwrap(), id);
    common::eventually("lease returned", || db.pool.state().active == 0);
}
