//! Online backup (`sqlite3_backup_*`) between a lease and a database file,
//! step by step: [`Backup`].
//!
//! SQLite's backup object borrows both connections for its whole life, so
//! it lives on a thread of its own that owns the lease and the file's
//! connection and runs the steps it is sent, in order. Nothing blocks the
//! caller: [`Backup::step_with`] reports through a callback on that thread
//! ([`Backup::step`] is the blocking twin). The lease goes back to the pool
//! when the backup finishes or its handle is dropped.
//!
//! Writing *into* the pool's database (`filename_is_dest == false`) changes
//! the database under every connection: lease a `write()` connection for it
//! so that the pool's writers wait meanwhile. A source written by another
//! connection while a backup runs makes SQLite restart the backup at its
//! next step (`remaining` goes back up).

use std::sync::mpsc::{channel, Receiver, Sender};

use rusqlite::backup::{Backup as RawBackup, StepResult};
use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::guard::PooledConnection;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupState {
    /// Pages were copied; more remain.
    More,
    /// Every page is copied: the backup is complete.
    Done,
    /// The source or destination was busy (`SQLITE_BUSY`); retry later.
    Busy,
    /// A table was locked (`SQLITE_LOCKED`); retry later.
    Locked,
}

/// The outcome of a step and the backup's progress after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupProgress {
    /// What the step did.
    pub state: BackupState,
    /// Pages still to copy (`sqlite3_backup_remaining`).
    pub remaining: i32,
    /// Pages in the source (`sqlite3_backup_pagecount`).
    pub page_count: i32,
}

/// Where a backup copies from and to.
#[derive(Debug, Clone)]
pub struct BackupSpec {
    /// The other database's file (opened with `sqlite3_open` defaults).
    pub filename: String,
    /// The schema copied from (`"main"`, an attached name…).
    pub source_name: String,
    /// The schema copied into.
    pub dest_name: String,
    /// `true`: the lease is the source and `filename` the destination (a
    /// backup); `false`: the other way round (a restore).
    pub filename_is_dest: bool,
}

/// A step's completion.
pub type StepDone = Box<dyn FnOnce(Result<BackupProgress>) + Send>;

enum Command {
    Step(i32, StepDone),
}

/// A running backup. Dropping it finishes the backup (`sqlite3_backup_finish`)
/// and returns the lease, after the steps already sent.
pub struct Backup {
    commands: Option<Sender<Command>>,
}

impl std::fmt::Debug for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup").field("finished", &self.commands.is_none()).finish()
    }
}

impl Backup {
    /// Starts a backup between `lease` and `spec.filename` on a thread of its
    /// own; `ready` is called there once both ends are open and
    /// `sqlite3_backup_init` succeeded, or with why not (later steps then fail).
    pub fn start(lease: PooledConnection, spec: BackupSpec, ready: impl FnOnce(Result<()>) + Send + 'static) -> Backup {
        let (tx, rx) = channel();
        let spawned =
            std::thread::Builder::new().name("litepool-backup".to_owned()).spawn(move || run(lease, &spec, ready, &rx));
        match spawned {
            Ok(_) => Backup { commands: Some(tx) },
            // The closure (with `ready`) is gone with the failed spawn: nothing
            // can be reported, and every step fails.
            Err(e) => {
                log::warn!("litepool: cannot start a backup thread: {e}");
                Backup { commands: None }
            }
        }
    }

    /// [`Backup::start`], waiting until the backup started (or failed to):
    /// for callers already off their event loop (an executor job).
    pub fn open(lease: PooledConnection, spec: BackupSpec) -> Result<Backup> {
        let (tx, rx) = channel();
        let backup = Backup::start(lease, spec, move |out| {
            let _ = tx.send(out);
        });
        rx.recv().unwrap_or_else(|_| Err(finished()))?;
        Ok(backup)
    }

    /// Copies up to `pages` pages (all that remain when negative); `done` is
    /// called on the backup's thread with the outcome. A backup that failed
    /// to start, or whose thread is gone, fails the step with `Misuse`.
    pub fn step_with(&self, pages: i32, done: impl FnOnce(Result<BackupProgress>) + Send + 'static) {
        let done: StepDone = Box::new(done);
        let Some(tx) = &self.commands else {
            return done(Err(finished()));
        };
        if let Err(std::sync::mpsc::SendError(Command::Step(_, done))) = tx.send(Command::Step(pages, done)) {
            done(Err(finished()));
        }
    }

    /// [`Backup::step_with`], waiting for the outcome.
    pub fn step(&self, pages: i32) -> Result<BackupProgress> {
        let (tx, rx) = channel();
        self.step_with(pages, move |out| {
            let _ = tx.send(out);
        });
        rx.recv().unwrap_or_else(|_| Err(finished()))
    }

    /// Finishes the backup: the steps already sent still run, then the
    /// backup object and the file's connection close and the lease goes back.
    pub fn finish(mut self) {
        self.commands = None;
    }
}

fn finished() -> Error {
    Error::Misuse("the backup is finished (or could not start)".to_owned())
}

/// The backup thread: opens the file, runs the steps, finishes. A backup
/// that could not start gives its lease back at once and fails its steps.
fn run(mut lease: PooledConnection, spec: &BackupSpec, ready: impl FnOnce(Result<()>), commands: &Receiver<Command>) {
    let mut ready = Some(ready);
    let served = serve(&mut lease, spec, &mut || ready.take().map_or((), |r| r(Ok(()))), commands);
    if let Err(e) = served {
        drop(lease);
        if let Some(ready) = ready.take() {
            ready(Err(e));
        }
        fail_all(commands);
    }
}

/// Opens the file, starts the backup (then `on_ready`) and runs the steps
/// until the handle is finished or dropped; `Err` when it cannot start.
fn serve(
    lease: &mut PooledConnection,
    spec: &BackupSpec,
    on_ready: &mut dyn FnMut(),
    commands: &Receiver<Command>,
) -> Result<()> {
    let mut other = Connection::open(&spec.filename)?;
    let (source, dest) = (spec.source_name.as_str(), spec.dest_name.as_str());
    let backup = if spec.filename_is_dest {
        RawBackup::new_with_names(lease, source, &mut other, dest)?
    } else {
        RawBackup::new_with_names(&other, source, lease, dest)?
    };
    on_ready();
    while let Ok(Command::Step(pages, done)) = commands.recv() {
        let out = backup.step(pages).map_err(Error::Sqlite).map(|state| {
            let progress = backup.progress();
            BackupProgress {
                state: match state {
                    StepResult::Done => BackupState::Done,
                    StepResult::Busy => BackupState::Busy,
                    StepResult::Locked => BackupState::Locked,
                    _ => BackupState::More,
                },
                remaining: progress.remaining,
                page_count: progress.pagecount,
            }
        });
        done(out);
    }
    Ok(())
}

fn fail_all(commands: &Receiver<Command>) {
    while let Ok(Command::Step(_, done)) = commands.recv() {
        done(Err(finished()));
    }
}
