//! `Rows`: a drop-in cursor's result set. Rows come from SQLite in batches
//! (the core steps them into a `RowBuf` with the GIL released) and become
//! Python values only as they are fetched, so memory stays flat however
//! many rows a query returns. Values are converted at fetch time with the
//! connection's `text_factory` and the cursor's converters, as the
//! standard library does.

use litepool::sql::{Column, Opened, RowBuf, StreamId};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::sqlite3::convert::{convert, to_py, TextMode};
use crate::sqlite3::handle::Handle;

/// Rows stepped per trip to SQLite once the first batch is used up.
const BATCH: usize = 512;

#[pyclass(module = "litepool._native", name = "Sqlite3Rows")]
pub struct Rows {
    handle: Py<Handle>,
    stream: Option<StreamId>,
    buf: RowBuf,
    pos: usize,
    columns: Vec<Column>,
    /// Rows changed (`sqlite3_changes`), once the statement is done.
    #[pyo3(get)]
    changes: u64,
    /// The connection's last inserted rowid after the statement ran.
    #[pyo3(get)]
    lastrowid: i64,
    /// `sqlite3_stmt_readonly`.
    #[pyo3(get)]
    read_only: bool,
    converters: Vec<Option<Py<PyAny>>>,
}

impl Rows {
    pub fn new(handle: Py<Handle>, opened: Opened) -> Rows {
        Rows {
            handle,
            stream: opened.stream,
            buf: opened.rows,
            pos: 0,
            columns: opened.columns,
            changes: opened.changes,
            lastrowid: opened.last_insert_rowid,
            read_only: opened.read_only,
            converters: Vec::new(),
        }
    }

    /// Makes sure a row is buffered, stepping more if needed; `false` at the end.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn changes(&self) -> u64 {
        self.changes
    }

    pub fn lastrowid(&self) -> i64 {
        self.lastrowid
    }

    pub fn set_converters_vec(&mut self, converters: Vec<Option<Py<PyAny>>>) {
        self.converters = converters;
    }

    /// The next row (converted, through `factory` unless it is `None`).
    pub fn next<'py>(
        &mut self,
        py: Python<'py>,
        cursor: &Bound<'py, PyAny>,
        text: &TextMode<'py>,
        factory: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if !self.ready(py, 1)? {
            return Ok(None);
        }
        self.row(py, cursor, text, factory).map(Some)
    }

    /// Up to `size` rows (all for `None`).
    pub fn take<'py>(
        &mut self,
        py: Python<'py>,
        cursor: &Bound<'py, PyAny>,
        text: &TextMode<'py>,
        factory: &Bound<'py, PyAny>,
        size: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        let mut left = size.unwrap_or(usize::MAX);
        while left > 0 && self.ready(py, left)? {
            out.append(self.row(py, cursor, text, factory)?)?;
            left -= 1;
        }
        Ok(out)
    }

    /// Resets the statement and drops the rows left.
    pub fn stop(&mut self, py: Python<'_>) {
        self.buf = RowBuf::default();
        self.pos = 0;
        if let Some(id) = self.stream.take() {
            self.handle.get().close_stream(py, id);
        }
    }

    fn ready(&mut self, py: Python<'_>, want: usize) -> PyResult<bool> {
        while self.pos >= self.buf.len() {
            let Some(id) = self.stream else { return Ok(false) };
            let fetched = match self.handle.get().fetch(py, id, want.clamp(BATCH, 64 * BATCH)) {
                Ok(f) => f,
                Err(e) => {
                    self.stream = None;
                    return Err(e);
                }
            };
            if fetched.done {
                self.stream = None;
                self.changes += fetched.changes;
            }
            self.buf = fetched.rows;
            self.pos = 0;
        }
        Ok(true)
    }

    fn row<'py>(
        &mut self,
        py: Python<'py>,
        cursor: &Bound<'py, PyAny>,
        text: &TextMode<'py>,
        factory: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let at = self.pos;
        self.pos += 1;
        let mut items = Vec::with_capacity(self.buf.width());
        for col in 0..self.buf.width() {
            let value = self.buf.get(at, col);
            let item = match self.converters.get(col).and_then(Option::as_ref) {
                Some(conv) => convert(py, value, conv.bind(py))?,
                None => to_py(py, value, text, &self.columns[col].name)?,
            };
            items.push(item);
        }
        let row = PyTuple::new(py, items)?.into_any();
        if factory.is_none() {
            Ok(row)
        } else {
            factory.call1((cursor, row))
        }
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        if let Some(id) = self.stream.take() {
            let handle = self.handle.get();
            let _ = Python::try_attach(|py| handle.close_stream(py, id));
        }
    }
}
