//! The `tracing` feature (`trace.rs`): `litepool.acquire` and
//! `litepool.statement` spans, with the acquire site and the SQL.
//! Run with `cargo test -p litepool --features tracing --test tracing_spans`.
#![cfg(feature = "tracing")]

mod common;

use std::sync::{Arc, Mutex};

use common::{pool_with, quick};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Keeps each span's name and fields as text.
#[derive(Default, Clone)]
struct Spans(Arc<Mutex<Vec<(String, String)>>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = String::new();
        span.record(&mut Fields(&mut fields));
        let mut spans = self.0.lock().unwrap();
        spans.push((span.metadata().name().to_owned(), fields));
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, id: &Id, values: &Record<'_>) {
        let mut spans = self.0.lock().unwrap();
        let (_, fields) = &mut spans[id.into_u64() as usize - 1];
        values.record(&mut Fields(fields));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn acquires_and_statements_are_spans_with_the_site_and_the_sql() {
    let spans = Spans::default();
    let db = pool_with(quick());
    tracing::subscriber::with_default(spans.clone(), || {
        db.pool.query("SELECT 42", []).unwrap();
    });
    let spans = spans.0.lock().unwrap();
    let acquire = spans.iter().find(|(name, _)| name == "litepool.acquire").expect("an acquire span");
    assert!(acquire.1.contains("tracing_spans.rs"), "the caller's site: {}", acquire.1);
    assert!(acquire.1.contains("wait_ms="), "{}", acquire.1);
    let statement = spans.iter().find(|(name, _)| name == "litepool.statement").expect("a statement span");
    assert!(statement.1.contains("sql=\"SELECT 42\""), "{}", statement.1);
    assert!(statement.1.contains("run_ms="), "{}", statement.1);
}
