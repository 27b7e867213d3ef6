//! Opening and setting up SQLite connections: the [`Connector`] seam (which
//! tests replace with fault-injecting fakes) and the pool's per-connection
//! setup (WAL, busy timeout, foreign keys, synchronous, init SQL and hook).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OpenFlags};

use crate::config::PoolConfig;
use crate::error::{Error, Result};
use crate::replica::uri_component;

/// Opens raw connections for the pool and judges whether one still works.
///
/// The pool applies its own setup (pragmas, init SQL, init hook) after
/// [`Connector::connect`], so an implementation only opens.
pub trait Connector: Send + Sync + 'static {
    /// Opens one new connection.
    fn connect(&self) -> rusqlite::Result<Connection>;

    /// Whether `conn` still works; called before handing out a connection
    /// that sat idle longer than `validation_window`. The default reads the
    /// schema version, which touches the database file.
    fn is_valid(&self, conn: &Connection) -> bool {
        conn.query_row("PRAGMA schema_version", [], |_| Ok(())).is_ok()
    }

    /// A description for error messages (the path).
    fn describe(&self) -> String;

    /// Whether the database lives in memory (no WAL, kept alive by an anchor).
    fn is_memory(&self) -> bool {
        false
    }

    /// Whether connections open read-only (a replica): the pool then skips
    /// the journal pragmas and refuses writes with
    /// [`Error::ReadOnlyReplica`]. Defaults to `false`.
    fn is_read_only(&self) -> bool {
        false
    }

    /// The database file's `(device, inode)`, read after the first
    /// connection opened it. Pools of this process on the same file share
    /// one write gate. `None` (the default): a gate of the pool's own.
    fn identity(&self) -> Option<(u64, u64)> {
        None
    }
}

/// `(device, inode)` of the file at `path`, if it is one.
pub(crate) fn file_identity(path: &str) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file().then(|| (meta.dev(), meta.ino()))
}

/// The default connector: a database file, or one shared in-memory database.
///
/// `":memory:"` (or an empty path) becomes a named `memdb` database
/// (`file:/litepool-<pid>-<n>?vfs=memdb`), which every connection of this pool
/// shares with ordinary locking, unlike a plain `:memory:` that would give
/// each connection its own empty database.
#[derive(Debug, Clone)]
pub struct FileConnector {
    path: String,
    /// What is opened, when not `path` itself: a `memdb` or replica URI.
    uri: Option<String>,
    memory: bool,
    vfs: Option<String>,
    read_only: bool,
}

static MEMORY_DB_SEQ: AtomicU64 = AtomicU64::new(0);

impl FileConnector {
    /// A connector for `path` (`":memory:"` for a shared in-memory database).
    pub fn new(path: impl Into<String>) -> FileConnector {
        let path = path.into();
        let uri = (path.is_empty() || path == ":memory:").then(|| {
            let n = MEMORY_DB_SEQ.fetch_add(1, Ordering::Relaxed);
            format!("file:/litepool-{}-{n}?vfs=memdb", std::process::id())
        });
        FileConnector { path, memory: uri.is_some(), uri, vfs: None, read_only: false }
    }

    /// The connector `config` asks for: the `vfs`, or, for a `replica_url`,
    /// a read-only `file:<path>?vfs=litestream&replica_url=<url>` (the
    /// Litestream VFS reads its replica from the URI).
    pub(crate) fn for_config(path: impl Into<String>, config: &PoolConfig) -> FileConnector {
        let mut c = FileConnector::new(path);
        if c.memory {
            return c;
        }
        match &config.replica_url {
            Some(url) => {
                let vfs = config.vfs.as_deref().unwrap_or("litestream");
                let (path, vfs, url) = (uri_component(&c.path), uri_component(vfs), uri_component(url));
                c.uri = Some(format!("file:{path}?vfs={vfs}&replica_url={url}"));
                c.read_only = true;
            }
            None => c.vfs = config.vfs.clone(),
        }
        c
    }
}

impl Connector for FileConnector {
    fn connect(&self) -> rusqlite::Result<Connection> {
        let access = if self.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        };
        let flags = access | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let target = self.uri.as_deref().unwrap_or(&self.path);
        match &self.vfs {
            Some(vfs) => Connection::open_with_flags_and_vfs(target, flags, vfs.as_str()),
            None => Connection::open_with_flags(target, flags),
        }
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn describe(&self) -> String {
        self.path.clone()
    }

    fn is_memory(&self) -> bool {
        self.memory
    }

    fn identity(&self) -> Option<(u64, u64)> {
        if self.is_memory() {
            return None;
        }
        file_identity(&self.path)
    }
}

/// Opens a connection through `connector` and applies the pool's setup.
pub(crate) fn open(connector: &dyn Connector, config: &PoolConfig) -> Result<Connection> {
    let conn = connector.connect()?;
    // In-memory databases and replicas keep their own journal.
    setup(&conn, config, connector.is_memory() || connector.is_read_only())?;
    Ok(conn)
}

/// Applies the per-connection setup; a panicking init hook is an error.
pub(crate) fn setup(conn: &Connection, config: &PoolConfig, memory: bool) -> Result<()> {
    conn.busy_timeout(config.busy_timeout)?;
    apply_database_pragmas(conn, config, "main", !memory)?;
    if !memory {
        crate::checkpoint::apply_connection_pragmas(conn, config)?;
    }
    if config.foreign_keys {
        conn.pragma_update(None, "foreign_keys", true)?;
    }
    if let Some(sql) = &config.init_sql {
        conn.execute_batch(sql)?;
    }
    if let Some(hook) = &config.init_hook {
        match catch_unwind(AssertUnwindSafe(|| hook(conn))) {
            Ok(result) => result?,
            Err(panic) => return Err(Error::CallbackPanicked(panic_message(&*panic))),
        }
    }
    Ok(())
}

/// `synchronous` and, when `journal` is set, `journal_mode` for one schema
/// (`main` or an attached tenant). In-memory databases keep their own
/// journal; a tenant's WAL mode is set once at registration (it persists in
/// the file), so attaching does not pay for it again.
pub(crate) fn apply_database_pragmas(
    conn: &Connection,
    config: &PoolConfig,
    schema: &str,
    journal: bool,
) -> Result<()> {
    if let (Some(mode), true) = (&config.journal_mode, journal) {
        // journal_mode returns a row; read it so the pragma runs.
        let _: String = conn.query_row(&format!("PRAGMA \"{schema}\".journal_mode = {mode}"), [], |r| r.get(0))?;
    }
    if let Some(level) = &config.synchronous {
        conn.execute_batch(&format!("PRAGMA \"{schema}\".synchronous = {level}"))?;
    }
    Ok(())
}

/// The text of a caught panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}
