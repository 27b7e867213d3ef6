//! Statement parameters: one model for every binding (positional `?`,
//! `?NNN`, named `:name`, `@name`, `$name`) and one binder with two rule
//! sets — strict (the pool APIs, PEP 249) and lax (node-sqlite3).

use rusqlite::types::Value;
use rusqlite::Statement;

use crate::error::{Error, Result};

/// Parameters for one execution of a statement, already converted from the
/// binding's language.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Params {
    /// None given.
    #[default]
    None,
    /// By position: the first value binds `?1` (or the first named one).
    Positional(Vec<Value>),
    /// By name. A key matches with or without its prefix (`":id"` or `"id"`
    /// for `:id`); `"5"` matches `?5`. A value the binding could not convert
    /// is an error only if the statement uses it.
    Named(Vec<(String, std::result::Result<Value, BadValue>)>),
}

/// A parameter value the binding could not convert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    /// What was wrong, naming the parameter.
    pub message: String,
    /// The value is of a supported type but out of SQLite's range (an
    /// integer over 64 bits): [`Error::InvalidValue`] rather than
    /// [`Error::Bind`].
    pub out_of_range: bool,
}

impl BadValue {
    fn into_error(self) -> Error {
        if self.out_of_range {
            Error::InvalidValue(self.message)
        } else {
            Error::Bind(self.message)
        }
    }
}

/// How strictly parameters must match the statement's placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindRules {
    /// `true` (the pool APIs, PEP 249): exactly as many positional values as
    /// placeholders, every named placeholder given. `false` (node-sqlite3):
    /// missing values bind NULL; too many positional values is `SQLITE_RANGE`.
    pub strict: bool,
}

impl BindRules {
    /// The pool's own rules.
    pub const STRICT: BindRules = BindRules { strict: true };
    /// node-sqlite3's rules.
    pub const LAX: BindRules = BindRules { strict: false };
}

impl Default for BindRules {
    fn default() -> Self {
        BindRules::STRICT
    }
}

fn count_error(wanted: usize, given: usize) -> Error {
    Error::Bind(format!(
        "Incorrect number of bindings supplied. The current statement uses {wanted}, and there are {given} supplied."
    ))
}

/// Binds `params` to `stmt` (clearing earlier bindings first).
pub(crate) fn bind(stmt: &mut Statement<'_>, params: &Params, rules: BindRules) -> Result<()> {
    let wanted = stmt.parameter_count();
    // (sqlite3_clear_bindings dereferences the statement: an empty one has none.)
    if wanted > 0 {
        stmt.clear_bindings();
    }
    match params {
        Params::None if wanted == 0 || !rules.strict => Ok(()),
        Params::None => Err(count_error(wanted, 0)),
        Params::Positional(values) => {
            if values.len() > wanted && !rules.strict {
                return Err(Error::Sqlite(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_RANGE),
                    Some("column index out of range".to_owned()),
                )));
            }
            if values.len() != wanted && rules.strict {
                return Err(count_error(wanted, values.len()));
            }
            for (i, v) in values.iter().enumerate() {
                stmt.raw_bind_parameter(i + 1, v)?;
            }
            Ok(())
        }
        Params::Named(given) => {
            for i in 1..=wanted {
                let name = stmt.parameter_name(i).map(str::to_owned);
                let found = match &name {
                    Some(name) => lookup(given, name),
                    None => given.iter().find(|(k, _)| k.parse::<usize>() == Ok(i)).map(|(_, v)| v),
                };
                match (found, &name) {
                    (Some(Ok(v)), _) => stmt.raw_bind_parameter(i, v)?,
                    (Some(Err(bad)), _) => return Err(bad.clone().into_error()),
                    (None, _) if !rules.strict => {}
                    (None, Some(name)) if name.starts_with('?') => {
                        return Err(Error::Bind(format!(
                            "Binding {i} has no name, but you supplied a dictionary (which has only names)."
                        )))
                    }
                    (None, Some(name)) => {
                        return Err(Error::Bind(format!("You did not supply a value for binding parameter {name}.")))
                    }
                    (None, None) => {
                        return Err(Error::Bind(format!(
                            "Binding {i} has no name, but you supplied a dictionary (which has only names)."
                        )))
                    }
                }
            }
            Ok(())
        }
    }
}

/// `:a` is found under `:a` or `a`; `?5` under `5`.
fn lookup<'a>(
    given: &'a [(String, std::result::Result<Value, BadValue>)],
    name: &str,
) -> Option<&'a std::result::Result<Value, BadValue>> {
    let bare = &name[1..];
    given.iter().find(|(k, _)| k == name).or_else(|| given.iter().find(|(k, _)| k == bare)).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn run(sql: &str, params: &Params, rules: BindRules) -> Result<Vec<Value>> {
        let conn = Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        bind(&mut stmt, params, rules)?;
        let width = stmt.column_count();
        let mut rows = stmt.raw_query();
        let row = rows.next().unwrap().unwrap();
        Ok((0..width).map(|i| row.get::<_, Value>(i).unwrap()).collect())
    }

    fn named(pairs: &[(&str, i64)]) -> Params {
        Params::Named(pairs.iter().map(|(k, v)| ((*k).to_owned(), Ok(Value::Integer(*v)))).collect())
    }

    #[test]
    fn positional_counts_must_match_when_strict() {
        let p = Params::Positional(vec![Value::Integer(1)]);
        let err = run("SELECT ?, ?", &p, BindRules::STRICT).unwrap_err();
        assert_eq!(err.code(), "LITEPOOL_INVALID_ARGUMENT");
        assert!(err.to_string().contains("uses 2, and there are 1 supplied"), "{err}");
        assert!(run("SELECT ?", &Params::None, BindRules::STRICT).unwrap_err().to_string().contains("uses 1"));
        assert_eq!(run("SELECT ?, ?", &p, BindRules::LAX).unwrap(), vec![Value::Integer(1), Value::Null]);
        let two = Params::Positional(vec![Value::Integer(1), Value::Integer(2)]);
        assert_eq!(run("SELECT ?", &two, BindRules::LAX).unwrap_err().code(), "SQLITE_RANGE");
    }

    #[test]
    fn names_match_with_or_without_prefix_and_numbers_match_question_marks() {
        for sql in ["SELECT :a, $b, @c", "SELECT :a, $b, @c"] {
            let got = run(sql, &named(&[("a", 1), ("$b", 2), ("@c", 3)]), BindRules::STRICT).unwrap();
            assert_eq!(got, vec![Value::Integer(1), Value::Integer(2), Value::Integer(3)]);
        }
        assert_eq!(
            run("SELECT ?2, ?1", &named(&[("1", 10), ("2", 20)]), BindRules::STRICT).unwrap(),
            vec![Value::Integer(20), Value::Integer(10)]
        );
    }

    #[test]
    fn missing_names_are_errors_when_strict_and_null_when_lax() {
        let err = run("SELECT :a, :b", &named(&[("a", 1)]), BindRules::STRICT).unwrap_err();
        assert!(err.to_string().contains(":b"), "{err}");
        assert_eq!(run("SELECT :a, :b", &named(&[("a", 1)]), BindRules::LAX).unwrap()[1], Value::Null);
        let err = run("SELECT ?", &named(&[("a", 1)]), BindRules::STRICT).unwrap_err();
        assert!(err.to_string().contains("has no name"), "{err}");
    }

    #[test]
    fn a_bad_value_is_reported_only_when_used() {
        let bad = BadValue { message: "parameter :big is too large".into(), out_of_range: true };
        let p = Params::Named(vec![("a".into(), Ok(Value::Integer(1))), ("big".into(), Err(bad))]);
        assert!(run("SELECT :a", &p, BindRules::STRICT).is_ok());
        let err = run("SELECT :big", &p, BindRules::STRICT).unwrap_err();
        assert_eq!(err.code(), "LITEPOOL_INVALID_VALUE");
    }
}
