//! `Pool::call_each` (`sql/each.rs`): rows read where they are stepped, the
//! same rows, routes and refusals as `Pool::call`.
mod common;
use common::*;
use litepool::rusqlite::types::{Value, ValueRef};
use litepool::sql::{Call, Op, Params, RowRef};
use litepool::Error;

/// Each row's column names, each row's values, and the call's changes.
type Collected = (Vec<Vec<String>>, Vec<Vec<Value>>, u64);

/// Every row `call_each` hands over, as (names, values).
fn collect(pool: &litepool::Pool, call: &Call) -> litepool::Result<Collected> {
    let mut names = Vec::new();
    let mut rows = Vec::new();
    let mut failed = None;
    let produced = pool.call_each(Default::default(), call, |row: RowRef<'_>| {
        let read = (0..row.len())
            .map(|i| Ok((row.name(i)?.to_owned(), owned(row.value(i)?))))
            .collect::<litepool::Result<Vec<_>>>();
        match read {
            Ok(cols) => {
                names.push(cols.iter().map(|(n, _)| n.clone()).collect());
                rows.push(cols.into_iter().map(|(_, v)| v).collect());
                true
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    assert!(produced.rows.is_empty() && produced.columns.is_empty(), "rows go to `each` only");
    Ok((names, rows, produced.changes))
}

fn owned(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn setup(pool: &litepool::Pool) {
    pool.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB);
         INSERT INTO t VALUES (1, 'a', 1.5, x'00ff'), (2, NULL, 2.5, NULL), (3, 'c', NULL, x'')",
    )
    .unwrap();
}

#[test]
fn rows_read_in_place_equal_the_copied_rows_of_call() {
    let db = pool_with(quick().max_size(2));
    setup(&db.pool);
    for op in [Op::All, Op::First] {
        let call = Call::new(op, "SELECT id, name, score, data FROM t WHERE id >= ? ORDER BY id")
            .params(Params::Positional(vec![Value::Integer(1)]));
        let copied = db.pool.call(Default::default(), &call).unwrap();
        let (names, rows, _) = collect(&db.pool, &call).unwrap();
        assert_eq!(rows, copied.rows, "{op:?}");
        assert_eq!(rows.len(), if op == Op::First { 1 } else { 3 });
        for n in names {
            assert_eq!(n, copied.column_names().collect::<Vec<_>>());
        }
    }
}

#[test]
fn each_returning_false_stops_stepping_and_the_lease_comes_back_clean() {
    let db = pool_with(quick().max_size(1));
    setup(&db.pool);
    let mut seen = 0;
    let call = Call::new(Op::All, "SELECT id FROM t ORDER BY id");
    db.pool
        .call_each(Default::default(), &call, |row| {
            seen += 1;
            assert!(matches!(row.value(0), Ok(ValueRef::Integer(1))));
            false
        })
        .unwrap();
    assert_eq!(seen, 1);
    // The statement was reset: the one connection runs the next call at once.
    assert_eq!(collect(&db.pool, &call).unwrap().1.len(), 3);
    assert_eq!(db.pool.state().active, 0);
}

#[test]
fn a_write_in_place_reports_changes_and_is_routed_to_the_write_lane() {
    let db = pool_with(quick().max_size(2));
    setup(&db.pool);
    let call =
        Call::new(Op::Run, "UPDATE t SET score = 0 WHERE id < ?").params(Params::Positional(vec![Value::Integer(3)]));
    let (_, rows, changes) = collect(&db.pool, &call).unwrap();
    assert!(rows.is_empty());
    assert_eq!(changes, 2);
    assert_eq!(db.pool.is_read_only("UPDATE t SET score = 0 WHERE id < ?"), Some(false));
    // RETURNING rows of a write: handed over with `All`.
    let ret = Call::new(Op::All, "UPDATE t SET score = 1.5 WHERE id = 3 RETURNING id, score");
    assert_eq!(collect(&db.pool, &ret).unwrap().1, vec![vec![Value::Integer(3), Value::Real(1.5)]]);
}

#[test]
fn grouped_writes_hand_over_their_returning_rows() {
    let db = pool_with(quick().max_size(2).group_commit(true));
    setup(&db.pool);
    let sql = "INSERT INTO t (name) VALUES (?) RETURNING id, name";
    // The first run learns the route; the second goes through the group commit.
    for name in ["x", "y"] {
        let call = Call::new(Op::First, sql).params(Params::Positional(vec![Value::Text(name.into())]));
        let (names, rows, changes) = collect(&db.pool, &call).unwrap();
        assert_eq!(names, vec![vec!["id".to_owned(), "name".to_owned()]]);
        assert_eq!(rows[0][1], Value::Text(name.into()));
        assert_eq!(changes, 1);
    }
}

#[test]
fn errors_and_refusals_are_those_of_call() {
    let db = pool_with(quick().max_size(1));
    setup(&db.pool);
    let begin = Call::new(Op::Run, "BEGIN");
    for _ in 0..2 {
        // Refused on every call (the answer is remembered on the Sql, not skipped).
        assert!(matches!(collect(&db.pool, &begin), Err(Error::Misuse(_))));
        assert!(matches!(db.pool.call(Default::default(), &begin), Err(Error::Misuse(_))));
    }
    let bad = Call::new(Op::First, "SELECT nope FROM t");
    assert_eq!(collect(&db.pool, &bad).unwrap_err().code(), "SQLITE_ERROR");
    let short = Call::new(Op::First, "SELECT ?, ?").params(Params::Positional(vec![Value::Integer(1)]));
    assert!(collect(&db.pool, &short).is_err());
    let empty = Call::new(Op::First, "  -- nothing\n");
    assert!(collect(&db.pool, &empty).unwrap().1.is_empty());
    assert_eq!(db.pool.state().active, 0);
}

#[test]
fn a_select_star_re_prepared_in_place_names_its_new_columns() {
    let db = pool_with(quick().max_size(1));
    db.pool.execute_batch("CREATE TABLE s (a INTEGER); INSERT INTO s VALUES (1)").unwrap();
    let star = Call::new(Op::First, "SELECT * FROM s");
    assert_eq!(collect(&db.pool, &star).unwrap().0, vec![vec!["a".to_owned()]]);
    db.pool.execute_batch("ALTER TABLE s RENAME COLUMN a TO b; ALTER TABLE s ADD COLUMN c DEFAULT 2").unwrap();
    let (names, rows, _) = collect(&db.pool, &star).unwrap();
    assert_eq!(names, vec![vec!["b".to_owned(), "c".to_owned()]]);
    assert_eq!(rows, vec![vec![Value::Integer(1), Value::Integer(2)]]);
}
