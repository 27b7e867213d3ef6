//! The pool's warnings reach the `on_warning` hook (bindings hand them to
//! their language's logger) as well as the `log` crate.
mod common;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use litepool::{Pool, PoolEvents};

#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl PoolEvents for Warnings {
    fn on_warning(&self, message: &str) {
        self.0.lock().unwrap().push(message.to_owned());
    }
}

#[test]
fn a_leak_warning_reaches_the_hook_with_the_acquire_site() {
    let dir = tempfile::tempdir().unwrap();
    let warnings = Warnings::default();
    let pool = Pool::builder(dir.path().join("w.db"))
        .config(quick().leak_threshold(Some(Duration::from_millis(30))))
        .events(warnings.clone())
        .build()
        .unwrap();
    let lease = pool.get().unwrap();
    eventually("the leak is reported", || !warnings.0.lock().unwrap().is_empty());
    let w = warnings.0.lock().unwrap()[0].clone();
    assert!(w.contains("apparent connection leak detected") && w.contains("warnings.rs"), "{w}");
    drop(lease);
}
