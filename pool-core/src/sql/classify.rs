//! What a statement is, read from its text (transaction control, its
//! leading keyword) and from SQLite (`sqlite3_stmt_readonly`, asked by
//! `exec.rs` once prepared). Comments and white space are skipped.

use crate::error::{Error, Result};

/// A transaction-control statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `BEGIN [DEFERRED]`.
    Begin,
    /// `BEGIN IMMEDIATE` or `BEGIN EXCLUSIVE`: takes the write lock up front.
    BeginWrite,
    /// `COMMIT` or `END`.
    Commit,
    /// `ROLLBACK` (the whole transaction).
    Rollback,
    /// `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`: nested, inside a transaction.
    Savepoint,
}

/// `sql` after leading white space and `--` / `/* */` comments.
pub fn skip_comments(mut sql: &str) -> &str {
    // Most statements start with their keyword: nothing to skip.
    if sql.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
        return sql;
    }
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("--") {
            sql = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return sql;
        }
    }
}

/// Whether `sql` holds no statement at all (white space, comments and `;`
/// only): SQLite compiles it to nothing, which runs as nothing.
pub fn is_empty(sql: &str) -> bool {
    let mut rest = skip_comments(sql);
    while let Some(after) = rest.strip_prefix(';') {
        rest = skip_comments(after);
    }
    rest.is_empty()
}

/// The first keyword of `sql` as written (`"insert"`, `"WITH"`…), after
/// white space and comments; empty when there is none.
pub fn leading_keyword(sql: &str) -> &str {
    let rest = skip_comments(sql);
    // Bytes: a non-ASCII character ends the word at its (boundary) first byte.
    let end = rest.bytes().position(|c| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
    &rest[..end]
}

fn second_keyword(sql: &str) -> &str {
    let rest = skip_comments(sql);
    let first = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
    leading_keyword(&rest[first..])
}

/// The transaction control `sql` performs, if it is such a statement.
pub fn control(sql: &str) -> Option<Control> {
    let word = leading_keyword(sql);
    let is = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    if is(word, "BEGIN") {
        let mode = second_keyword(sql);
        return Some(if is(mode, "IMMEDIATE") || is(mode, "EXCLUSIVE") { Control::BeginWrite } else { Control::Begin });
    }
    if is(word, "COMMIT") || is(word, "END") {
        return Some(Control::Commit);
    }
    if is(word, "SAVEPOINT") || is(word, "RELEASE") {
        return Some(Control::Savepoint);
    }
    if is(word, "ROLLBACK") {
        let mut next = second_keyword(sql);
        if is(next, "TRANSACTION") {
            let rest = skip_comments(sql);
            let after_rollback = &rest[rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len())..];
            next = second_keyword(after_rollback);
        }
        return Some(if is(next, "TO") { Control::Savepoint } else { Control::Rollback });
    }
    None
}

/// Where the first statement of `sql` ends: the byte just past its `;`,
/// or `None` when it runs to the end of the text. Quotes, comments and the
/// `;`s inside a `CREATE TRIGGER … BEGIN … END` body are skipped, as
/// `sqlite3_complete` does. What follows (see [`skip_comments`]) is more
/// statements, if anything.
pub fn statement_end(sql: &str) -> Option<usize> {
    let b = sql.as_bytes();
    let (mut i, mut words, mut last) = (0, Vec::new(), "");
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(b.len(), |n| i + n + 1);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                continue;
            }
            q @ (b'\'' | b'"' | b'`' | b'[') => {
                let close = if q == b'[' { b']' } else { q };
                i += 1;
                while i < b.len() && b[i] != close {
                    i += 1;
                }
                last = "";
            }
            b';' => {
                let is = |n: usize, k: &str| words.get(n).is_some_and(|w: &&str| w.eq_ignore_ascii_case(k));
                let temp = is(1, "TEMP") || is(1, "TEMPORARY");
                let trigger = is(0, "CREATE") && (is(1, "TRIGGER") || (temp && is(2, "TRIGGER")));
                if !trigger || last.eq_ignore_ascii_case("END") {
                    return Some(i + 1);
                }
                last = "";
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                    i += 1;
                }
                last = &sql[start..i];
                let explain = words.is_empty() && last.eq_ignore_ascii_case("EXPLAIN");
                if words.len() < 3 && !explain {
                    words.push(last);
                }
                continue;
            }
            c if c.is_ascii_whitespace() => {}
            _ => last = "",
        }
        i += 1;
    }
    None
}

/// Whether a statement with this leading keyword changes rows (PEP 249's
/// `rowcount` counts them; `lastrowid` is set for INSERT and REPLACE).
pub fn is_dml(keyword: &str) -> bool {
    ["INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"].iter().any(|k| k.eq_ignore_ascii_case(keyword))
}

/// Whether Python's `sqlite3` (up to 3.11) opens a transaction before a
/// statement with this leading keyword: `INSERT`, `UPDATE`, `DELETE`,
/// `REPLACE` (not `WITH`, not DDL).
pub fn is_legacy_dml(keyword: &str) -> bool {
    ["INSERT", "UPDATE", "DELETE", "REPLACE"].iter().any(|k| k.eq_ignore_ascii_case(keyword))
}

/// Whether SQLite refuses to run a statement with this keyword inside a
/// transaction, so no implicit transaction may be opened for it.
pub fn outside_transactions(keyword: &str) -> bool {
    ["VACUUM", "PRAGMA"].iter().any(|k| k.eq_ignore_ascii_case(keyword))
}

/// Refuses transaction control in a one-shot call (the lease ends with
/// the statement, so the transaction would be rolled back at once).
pub fn refuse_in_one_shot(sql: &str) -> Result<()> {
    match control(sql) {
        Some(_) => Err(Error::Misuse(format!(
            "{} through a one-shot call would end with its lease; hold a lease (write() and its \
             transaction) to run a transaction",
            leading_keyword(sql).to_ascii_uppercase()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_keyword_skips_comments_and_space() {
        assert_eq!(leading_keyword("  insert into t values (1)"), "insert");
        assert_eq!(leading_keyword("-- note\n/* x */ UPDATE t SET a=1"), "UPDATE");
        assert_eq!(leading_keyword("with x as (select 1) delete from t"), "with");
        assert_eq!(leading_keyword("BEGIN;"), "BEGIN");
        assert_eq!(leading_keyword("/* unterminated"), "");
        assert_eq!(leading_keyword(""), "");
        assert_eq!(leading_keyword("SELECT\u{a0}1"), "SELECT", "a non-ASCII character ends the word");
        assert_eq!(leading_keyword("\u{a0}select 1"), "select", "Unicode white space is skipped, as before");
        assert_eq!(leading_keyword("é"), "");
    }

    #[test]
    fn transaction_control_is_recognised_behind_comments() {
        assert_eq!(control("/* c */ begin immediate"), Some(Control::BeginWrite));
        assert_eq!(control("BEGIN EXCLUSIVE TRANSACTION"), Some(Control::BeginWrite));
        assert_eq!(control("-- x\nBEGIN"), Some(Control::Begin));
        assert_eq!(control("begin deferred"), Some(Control::Begin));
        assert_eq!(control("END TRANSACTION"), Some(Control::Commit));
        assert_eq!(control("commit"), Some(Control::Commit));
        assert_eq!(control("ROLLBACK"), Some(Control::Rollback));
        assert_eq!(control("rollback transaction to sp1"), Some(Control::Savepoint));
        assert_eq!(control("ROLLBACK TO sp1"), Some(Control::Savepoint));
        assert_eq!(control("savepoint a"), Some(Control::Savepoint));
        assert_eq!(control("RELEASE a"), Some(Control::Savepoint));
        assert_eq!(control("SELECT 'BEGIN'"), None);
        assert_eq!(control("BEGINNING"), None);
    }

    #[test]
    fn the_first_statement_ends_at_its_semicolon_outside_quotes_comments_and_triggers() {
        let rest = |sql: &'static str| statement_end(sql).map(|at| skip_comments(&sql[at..]));
        assert_eq!(rest("select 1"), None);
        assert_eq!(rest("select 1; select 2"), Some("select 2"));
        assert_eq!(rest("select ';'; -- done"), Some(""));
        assert_eq!(rest("select 1 /* ; */ ; /*"), Some(""));
        assert_eq!(rest("select \"a;b\", [c;d], `e;f` ; x"), Some("x"));
        assert_eq!(rest("select 1; -*not a comment"), Some("-*not a comment"));
        assert_eq!(rest("select 1;\n -- comment\n select 2\n"), Some("select 2\n"));
        let trigger = "CREATE TEMP TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; SELECT 2; END; SELECT 3";
        assert_eq!(rest(trigger), Some("SELECT 3"));
        assert_eq!(rest("explain create trigger t after insert on x begin select 1; end;"), Some(""));
    }

    #[test]
    fn one_shot_calls_refuse_transaction_control() {
        let err = refuse_in_one_shot("  /* x */ begin").unwrap_err();
        assert_eq!(err.code(), "LITEPOOL_MISUSE");
        assert!(err.to_string().starts_with("BEGIN through a one-shot call"), "{err}");
        assert!(refuse_in_one_shot("SELECT 1").is_ok());
    }
}
