//! The one row loop (`sql/exec.rs`): rows have as many values as the
//! statement has columns when it steps.
mod common;
use common::*;
use litepool::rusqlite::types::Value;
use litepool::sql::{Call, Op};

#[test]
fn a_select_star_re_prepared_after_a_schema_change_returns_every_new_column() {
    let db = pool_with(quick().max_size(1));
    db.pool.execute_batch("CREATE TABLE s (a INTEGER); INSERT INTO s VALUES (1)").unwrap();
    let star = Call::new(Op::All, "SELECT * FROM s");
    let before = db.pool.call(Default::default(), &star).unwrap();
    assert_eq!(before.rows, vec![vec![Value::Integer(1)]]);
    // The cached statement is re-prepared by SQLite on its next step.
    db.pool.execute_batch("ALTER TABLE s ADD COLUMN b TEXT DEFAULT 'x'").unwrap();
    let after = db.pool.call(Default::default(), &star).unwrap();
    let names: Vec<&str> = after.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(after.rows, vec![vec![Value::Integer(1), Value::Text("x".into())]], "a value for every column");
}
