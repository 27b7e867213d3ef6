//! The Rust conveniences over the SQL layer: [`Pool::query`],
//! [`Pool::execute`], [`Pool::execute_batch`] (one-shot, routed) and the
//! same on a lease ([`PooledConnection::query_rows`], [`PooledConnection::run`]).

use rusqlite::types::{ToSql, ToSqlOutput, Value};

use crate::error::{Error, Result};
use crate::guard::PooledConnection;
use crate::pool::{AcquireOptions, Pool};
use crate::sql::call::{Call, Op, Produced};
use crate::sql::exec::execute;
use crate::sql::params::Params;

/// Positional parameters from Rust values, as rusqlite takes them: `[]`,
/// `[1, 2]`, `["a"]`, `&[&x as &dyn ToSql, …]`.
pub trait IntoParams {
    /// The values, in order.
    fn into_params(self) -> Result<Params>;
}

fn value_of(v: &dyn ToSql) -> Result<Value> {
    Ok(match v.to_sql()? {
        ToSqlOutput::Borrowed(r) => Value::try_from(r).map_err(|e| Error::Bind(e.to_string()))?,
        ToSqlOutput::Owned(v) => v,
        other => return Err(Error::Bind(format!("unsupported parameter value {other:?}"))),
    })
}

fn positional(values: &[&dyn ToSql]) -> Result<Params> {
    if values.is_empty() {
        return Ok(Params::None);
    }
    Ok(Params::Positional(values.iter().map(|v| value_of(*v)).collect::<Result<_>>()?))
}

impl IntoParams for [&(dyn ToSql + Send + Sync); 0] {
    fn into_params(self) -> Result<Params> {
        Ok(Params::None)
    }
}

impl IntoParams for &[&dyn ToSql] {
    fn into_params(self) -> Result<Params> {
        positional(self)
    }
}

impl IntoParams for Params {
    fn into_params(self) -> Result<Params> {
        Ok(self)
    }
}

macro_rules! array_params {
    ($($n:literal)*) => {$(
        impl<T: ToSql> IntoParams for [T; $n] {
            fn into_params(self) -> Result<Params> {
                let refs: Vec<&dyn ToSql> = self.iter().map(|v| v as &dyn ToSql).collect();
                positional(&refs)
            }
        }
    )*};
}
array_params!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);

impl Pool {
    /// Runs `sql` on a pooled connection and returns every row. Read-only
    /// statements run without the write gate; others take the write lane
    /// (see [`Pool::call`]).
    #[track_caller]
    pub fn query(&self, sql: &str, params: impl IntoParams) -> Result<Produced> {
        self.query_as(None, sql, params)
    }

    /// Runs a data-changing `sql` (routed like [`Pool::query`]).
    #[track_caller]
    pub fn execute(&self, sql: &str, params: impl IntoParams) -> Result<Produced> {
        self.execute_as(None, sql, params)
    }

    /// [`Pool::query`] with tenant `code` attached (`None`: no tenant).
    #[track_caller]
    pub fn query_as(&self, tenant: Option<&str>, sql: &str, params: impl IntoParams) -> Result<Produced> {
        let opts = AcquireOptions { tenant: tenant.map(str::to_owned), ..AcquireOptions::default() };
        self.call(opts, &Call::new(Op::All, sql).params(params.into_params()?))
    }

    /// [`Pool::execute`] with tenant `code` attached (`None`: no tenant).
    #[track_caller]
    pub fn execute_as(&self, tenant: Option<&str>, sql: &str, params: impl IntoParams) -> Result<Produced> {
        let opts = AcquireOptions { tenant: tenant.map(str::to_owned), ..AcquireOptions::default() };
        self.call(opts, &Call::new(Op::Run, sql).params(params.into_params()?))
    }

    /// Runs a multi-statement script on the write lane.
    #[track_caller]
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        self.call(AcquireOptions::default(), &Call::new(Op::Script, sql)).map(|_| ())
    }
}

impl PooledConnection {
    /// Runs one statement on this lease and collects every row with its columns.
    pub fn query_rows(&self, sql: &str, params: impl IntoParams) -> Result<Produced> {
        execute(self, &Call::new(Op::All, sql).params(params.into_params()?))
    }

    /// Runs one statement on this lease for its effect.
    pub fn run(&self, sql: &str, params: impl IntoParams) -> Result<Produced> {
        execute(self, &Call::new(Op::Run, sql).params(params.into_params()?))
    }
}
