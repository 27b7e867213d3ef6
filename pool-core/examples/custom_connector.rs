//! A custom [`Connector`]: how the pool opens its connections and judges
//! whether an idle one still works.
//!
//! The default, `FileConnector`, opens a file (or a shared in-memory
//! database). Write your own to open with other flags or a custom VFS, to
//! set up every connection before the pool sees it, to count or fail opens
//! in tests, or to apply your own health check. The pool still applies its
//! own setup afterwards (busy timeout, WAL, `synchronous`, `foreign_keys`,
//! `init_sql`, the init hook).
//!
//! This one opens the file with its own flags, keeps temporary tables in
//! memory on every connection (`PRAGMA temp_store = MEMORY`) and checks that
//! setting in `is_valid`, counts its opens, and can be told to fail, to show
//! how the pool reports a database it cannot open.
//!
//! ```sh
//! cargo run -p litepool --example custom_connector
//! ```
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use litepool::rusqlite::{Connection, OpenFlags};
use litepool::{Connector, Pool, PoolConfig};

struct MemoryTempConnector {
    path: PathBuf,
    opened: Arc<AtomicU64>,
    fail: Arc<AtomicBool>,
}

impl Connector for MemoryTempConnector {
    fn connect(&self) -> litepool::rusqlite::Result<Connection> {
        if self.fail.load(Relaxed) {
            // What SQLite says for an unopenable file.
            return Err(litepool::rusqlite::Error::SqliteFailure(
                litepool::rusqlite::ffi::Error::new(litepool::rusqlite::ffi::SQLITE_CANTOPEN),
                Some(format!("refusing to open {} (told to fail)", self.path.display())),
            ));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        self.opened.fetch_add(1, Relaxed);
        Ok(conn)
    }

    // Called before handing out a connection that sat idle longer than
    // validation_window; a `false` gets it closed and replaced.
    fn is_valid(&self, conn: &Connection) -> bool {
        conn.query_row("PRAGMA temp_store", [], |r| r.get::<_, i64>(0)).is_ok_and(|mode| mode == 2)
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

fn main() -> litepool::Result<()> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let opened = Arc::new(AtomicU64::new(0));
    let fail = Arc::new(AtomicBool::new(false));
    let connector =
        MemoryTempConnector { path: dir.path().join("app.db"), opened: Arc::clone(&opened), fail: Arc::clone(&fail) };
    let pool = Pool::builder("unused: the connector decides")
        .config(PoolConfig::default().max_size(3))
        .connector(connector)
        .build()?;

    // Every connection has the connector's setup and then the pool's.
    let conn = pool.get()?;
    let temp_store: i64 = conn.query_row("PRAGMA temp_store", [], |r| r.get(0))?;
    let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    println!("temp_store {temp_store} (2 = MEMORY, the connector's), journal_mode {journal} (the pool's)");
    assert_eq!((temp_store, journal.as_str()), (2, "wal"));

    // Two more leases at once make the pool open connections through the connector.
    let (a, b) = (pool.get()?, pool.get()?);
    drop((conn, a, b));
    println!("the connector opened {} connections", opened.load(Relaxed));
    assert!(opened.load(Relaxed) >= 3);

    // A connector that fails: building a pool on it fails at once, naming the database.
    fail.store(true, Relaxed);
    let failing = MemoryTempConnector { path: dir.path().join("other.db"), opened, fail };
    let err = Pool::builder("unused").connector(failing).build().unwrap_err();
    println!("{}: {err}", err.code());
    assert_eq!(err.code(), "SQLITE_CANTOPEN");
    assert!(err.to_string().contains("other.db"));

    pool.close(Duration::from_secs(5))
}

// `cargo test` runs the example (Cargo.toml sets `test = true` for it), so
// it keeps compiling and its assertions keep holding.
#[test]
fn example_runs() {
    main().expect("the example runs");
}
