//! The slow-statement log (`slow_statement_threshold`): a statement run
//! through the pool's SQL layer that ran in SQLite longer than the
//! threshold is logged (`log` target `litepool::slow`, WARN), kept among
//! the last [`KEPT`] ([`Pool::slow_statements`]) and passed to
//! [`PoolEvents::on_slow_statement`](crate::PoolEvents::on_slow_statement).
//!
//! Each entry has the SQL, its parameters (redacted to `?` unless
//! `log_parameters` is set: they are often personal data), the time it
//! waited for the pool or the write gate and the time it ran, the lease
//! (connection, lane, tenant, acquire site when known) and, on the first
//! slow run of each SQL text, its `EXPLAIN QUERY PLAN` — captured right
//! after, on the same connection, so it is the plan that ran.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use rusqlite::types::Value;

use crate::guard::{Lane, PooledConnection};
use crate::pool::Pool;
use crate::sql::call::Call;
use crate::sql::params::Params;

/// How many slow statements [`Pool::slow_statements`] keeps.
pub(crate) const KEPT: usize = 64;

/// One slow statement.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowStatement {
    /// The SQL text.
    pub sql: String,
    /// Its parameters: `?` for each unless `log_parameters` is set.
    pub params: String,
    /// Time it waited for the pool or the write gate before it ran.
    pub wait: Duration,
    /// Time it ran in SQLite.
    pub run: Duration,
    /// When it finished.
    pub at: SystemTime,
    /// Its `EXPLAIN QUERY PLAN` (one line per step, indented by depth), on
    /// the first slow run of this SQL text only.
    pub plan: Option<String>,
    /// The connection it ran on.
    pub connection_id: u64,
    /// The lease's lane.
    pub lane: Lane,
    /// The lease's tenant schema, if any.
    pub tenant: Option<String>,
    /// Where the lease (or the one-shot call) was acquired, when known.
    pub site: Option<String>,
    /// The error code it failed with (`LITEPOOL_DEADLINE`…), if it failed.
    pub error: Option<&'static str>,
}

impl std::fmt::Display for SlowStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "slow statement: ran {:.1} ms (waited {:.1} ms) on connection {} ({}): {} {}",
            self.run.as_secs_f64() * 1e3,
            self.wait.as_secs_f64() * 1e3,
            self.connection_id,
            self.lane.as_str(),
            crate::deadline::excerpt(&self.sql),
            self.params
        )?;
        if let Some(e) = self.error {
            write!(f, " -> {e}")?;
        }
        if let Some(site) = &self.site {
            write!(f, "; acquired at {}", site.lines().next().unwrap_or_default())?;
        }
        if let Some(plan) = &self.plan {
            write!(f, "\n{plan}")?;
        }
        Ok(())
    }
}

/// The recent slow statements.
#[derive(Default)]
pub(crate) struct SlowLog {
    recent: Mutex<VecDeque<SlowStatement>>,
}

impl SlowLog {
    fn push(&self, s: SlowStatement) {
        let mut recent = self.recent.lock();
        if recent.len() == KEPT {
            recent.pop_front();
        }
        recent.push_back(s);
    }
}

/// `params` as the log shows them.
fn describe_params(params: &Params, sets: usize, show: bool) -> String {
    let value = |v: &Value| -> String {
        if !show {
            return "?".to_owned();
        }
        match v {
            Value::Null => "NULL".to_owned(),
            Value::Integer(i) => i.to_string(),
            Value::Real(r) => r.to_string(),
            Value::Text(t) if t.chars().count() > 60 => format!("{:?}…", t.chars().take(60).collect::<String>()),
            Value::Text(t) => format!("{t:?}"),
            Value::Blob(b) => format!("<blob {} bytes>", b.len()),
        }
    };
    let mut out = match params {
        Params::None => "[]".to_owned(),
        Params::Positional(values) => format!("[{}]", values.iter().map(value).collect::<Vec<_>>().join(", ")),
        Params::Named(pairs) => {
            let mut s = String::from("{");
            for (i, (name, v)) in pairs.iter().enumerate() {
                let _ =
                    write!(s, "{}{name}: {}", if i > 0 { ", " } else { "" }, v.as_ref().map_or("<bad>".into(), value));
            }
            s + "}"
        }
    };
    if sets > 1 {
        let _ = write!(out, " (x{sets} sets)");
    }
    out
}

/// `EXPLAIN QUERY PLAN` of `sql` on `lease`, one step a line, indented by
/// depth; `None` when it cannot be explained (a script, an error).
fn query_plan(lease: &PooledConnection, sql: &str) -> Option<String> {
    let explain = format!("EXPLAIN QUERY PLAN {}", sql.trim().trim_end_matches(';'));
    let rows = lease.without_deadline(|| {
        lease.entry().watch.internal(|| -> rusqlite::Result<Vec<(i64, i64, String)>> {
            let mut stmt = lease.prepare(&explain)?;
            // Parameters stay unbound (NULL): the plan does not depend on them.
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(3)?));
            }
            Ok(out)
        })
    });
    let rows = rows.ok()?;
    let mut depth: Vec<(i64, usize)> = Vec::new();
    let mut out = String::new();
    for (id, parent, detail) in rows {
        let level = depth.iter().find(|(i, _)| *i == parent).map_or(0, |(_, d)| d + 1);
        depth.push((id, level));
        let _ = writeln!(out, "{}{detail}", "  ".repeat(level));
    }
    (!out.is_empty()).then(|| out.trim_end().to_owned())
}

/// Logs `call` as slow if it ran past the threshold (the caller checked).
pub(crate) fn record(
    lease: &PooledConnection,
    call: &Call,
    wait: Duration,
    run: Duration,
    error: Option<&'static str>,
) {
    let shared = lease.shared();
    let entry = shared.statements.entry(call.sql.as_str());
    let plan = if entry.slow_run() && call.op != crate::sql::Op::Script {
        let plan = query_plan(lease, call.sql.as_str());
        *entry.plan.lock() = plan.clone();
        plan
    } else {
        None
    };
    let sets = if call.op == crate::sql::Op::Many { call.sets.len() } else { 1 };
    let params = if call.op == crate::sql::Op::Many {
        call.sets.first().cloned().unwrap_or_default()
    } else {
        call.params.clone()
    };
    let slow = SlowStatement {
        sql: call.sql.as_str().to_owned(),
        params: describe_params(&params, sets, shared.config.log_parameters),
        wait,
        run,
        at: SystemTime::now(),
        plan,
        connection_id: lease.connection_id(),
        lane: lease.lane(),
        tenant: lease.tenant_schema().map(str::to_owned),
        site: lease.acquire_site(),
        error,
    };
    log::warn!(target: "litepool::slow", "litepool: {slow}");
    shared.emit(|h| h.on_slow_statement(&slow));
    shared.slow.push(slow);
}

impl Pool {
    /// The most recent slow statements (up to 64, oldest first); see
    /// `slow_statement_threshold`.
    pub fn slow_statements(&self) -> Vec<SlowStatement> {
        self.shared().slow.recent.lock().iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_redacted_unless_asked() {
        let p = Params::Positional(vec![Value::Integer(7), Value::Text("secret".into())]);
        assert_eq!(describe_params(&p, 1, false), "[?, ?]");
        assert_eq!(describe_params(&p, 1, true), "[7, \"secret\"]");
        let named = Params::Named(vec![(":email".into(), Ok(Value::Text("a@b.c".into())))]);
        assert_eq!(describe_params(&named, 1, false), "{:email: ?}");
        assert_eq!(describe_params(&Params::None, 3, false), "[] (x3 sets)");
        assert_eq!(describe_params(&Params::Positional(vec![Value::Blob(vec![0; 9])]), 1, true), "[<blob 9 bytes>]");
    }
}
