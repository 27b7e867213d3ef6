//! [`RowBuf`]: rows copied out of SQLite in one go — one cell per value and
//! one byte buffer for every text and blob — so a binding can step a batch
//! of rows without its interpreter's lock and build its values afterwards,
//! with no allocation per value. Text stays bytes (SQLite does not promise
//! UTF-8), as SQLite gave it.

use rusqlite::types::ValueRef;

/// One value; text and blobs are ranges of the buffer's bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(usize, usize),
    Blob(usize, usize),
}

/// A batch of rows of one statement, `width` values each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowBuf {
    width: usize,
    cells: Vec<Cell>,
    bytes: Vec<u8>,
}

impl RowBuf {
    /// An empty buffer for rows of `width` columns.
    pub fn new(width: usize) -> RowBuf {
        RowBuf { width, cells: Vec::new(), bytes: Vec::new() }
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.cells.len().checked_div(self.width).unwrap_or(0)
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Bytes of text and blobs held (what a batch costs beyond its cells).
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Value `col` of row `row`, borrowed from the buffer.
    ///
    /// # Panics
    /// When `row` or `col` is out of range.
    pub fn get(&self, row: usize, col: usize) -> ValueRef<'_> {
        assert!(col < self.width, "column {col} out of range (width {})", self.width);
        match self.cells[row * self.width + col] {
            Cell::Null => ValueRef::Null,
            Cell::Integer(i) => ValueRef::Integer(i),
            Cell::Real(f) => ValueRef::Real(f),
            Cell::Text(at, len) => ValueRef::Text(&self.bytes[at..at + len]),
            Cell::Blob(at, len) => ValueRef::Blob(&self.bytes[at..at + len]),
        }
    }

    /// Appends one row read from `row` (a stepped statement).
    pub(crate) fn push(&mut self, row: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
        for i in 0..self.width {
            let cell = match row.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Integer(v),
                ValueRef::Real(v) => Cell::Real(v),
                ValueRef::Text(t) => Cell::Text(self.keep(t), t.len()),
                ValueRef::Blob(b) => Cell::Blob(self.keep(b), b.len()),
            };
            self.cells.push(cell);
        }
        Ok(())
    }

    fn keep(&mut self, data: &[u8]) -> usize {
        let at = self.bytes.len();
        self.bytes.extend_from_slice(data);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_type_and_non_utf8_text() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn
            .prepare("SELECT NULL, 1, 2.5, 'ab', x'00ff', CAST(x'ff' AS TEXT) UNION ALL SELECT 0, 0, 0, '', x'', ''")
            .unwrap();
        let mut buf = RowBuf::new(stmt.column_count());
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().unwrap() {
            buf.push(row).unwrap();
        }
        assert_eq!((buf.len(), buf.width()), (2, 6));
        assert_eq!(buf.get(0, 0), ValueRef::Null);
        assert_eq!(buf.get(0, 1), ValueRef::Integer(1));
        assert_eq!(buf.get(0, 2), ValueRef::Real(2.5));
        assert_eq!(buf.get(0, 3), ValueRef::Text(b"ab"));
        assert_eq!(buf.get(0, 4), ValueRef::Blob(&[0, 0xff]));
        assert_eq!(buf.get(0, 5), ValueRef::Text(&[0xff]), "text that is not UTF-8 stays bytes");
        assert_eq!(buf.get(1, 4), ValueRef::Blob(&[]));
        assert_eq!(buf.byte_len(), 5);
    }
}
