//! SQLite values to Python, as the standard library's `sqlite3` returns
//! them: `text_factory` for TEXT (`str` by default; text that is not UTF-8
//! is an `OperationalError` naming the column), and a converter (from
//! `detect_types`) called with the value's bytes for a non-NULL value.

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyFloat, PyString};
use rusqlite::types::ValueRef;

use crate::errors::{to_py_err, Failure};

/// What TEXT becomes (`Connection.text_factory`).
pub enum TextMode<'py> {
    Str,
    Bytes,
    ByteArray,
    Factory(Bound<'py, PyAny>),
}

impl<'py> TextMode<'py> {
    pub fn of(factory: &Bound<'py, PyAny>) -> TextMode<'py> {
        let py = factory.py();
        if factory.is(py.get_type::<PyString>().as_any()) {
            TextMode::Str
        } else if factory.is(py.get_type::<PyBytes>().as_any()) {
            TextMode::Bytes
        } else if factory.is(py.get_type::<PyByteArray>().as_any()) {
            TextMode::ByteArray
        } else {
            TextMode::Factory(factory.clone())
        }
    }
}

/// One value; `column` names it in a decoding error.
pub fn to_py<'py>(
    py: Python<'py>,
    value: ValueRef<'_>,
    text: &TextMode<'py>,
    column: &str,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        ValueRef::Null => py.None().into_bound(py),
        ValueRef::Integer(i) => i.into_pyobject(py)?.into_any(),
        ValueRef::Real(f) => PyFloat::new(py, f).into_any(),
        ValueRef::Blob(b) => PyBytes::new(py, b).into_any(),
        ValueRef::Text(t) => match text {
            TextMode::Str => match std::str::from_utf8(t) {
                Ok(s) => PyString::new(py, s).into_any(),
                Err(_) => {
                    let message = format!(
                        "Could not decode to UTF-8 column '{column}' with text '{}'",
                        String::from_utf8_lossy(t)
                    );
                    return Err(to_py_err(py, Failure::Class("OperationalError", message)));
                }
            },
            TextMode::Bytes => PyBytes::new(py, t).into_any(),
            TextMode::ByteArray => PyByteArray::new(py, t).into_any(),
            TextMode::Factory(f) => f.call1((PyBytes::new(py, t),))?,
        },
    })
}

/// A value through its converter: `None` for NULL and for an empty blob
/// (as `sqlite3_column_blob` gives nothing), else `converter(bytes)`.
pub fn convert<'py>(
    py: Python<'py>,
    value: ValueRef<'_>,
    converter: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let bytes = match value {
        ValueRef::Null => return Ok(py.None().into_bound(py)),
        ValueRef::Integer(i) => PyBytes::new(py, i.to_string().as_bytes()),
        ValueRef::Real(f) => PyBytes::new(py, real_text(f).as_bytes()),
        ValueRef::Text(b) | ValueRef::Blob(b) if b.is_empty() => return Ok(py.None().into_bound(py)),
        ValueRef::Text(b) | ValueRef::Blob(b) => PyBytes::new(py, b),
    };
    converter.call1((bytes,))
}

/// A REAL as SQLite renders it as text (`%!.15g`: 15 significant digits,
/// always a decimal point).
pub fn real_text(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 { "Inf".to_owned() } else { "-Inf".to_owned() };
    }
    let sci = format!("{f:.14e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..15).contains(&exp) {
        let mantissa = trim_zeros(mantissa);
        return format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs());
    }
    let decimals = usize::try_from(14 - exp).unwrap_or(0);
    trim_zeros(&format!("{f:.decimals$}"))
}

fn trim_zeros(s: &str) -> String {
    if !s.contains('.') {
        return format!("{s}.0");
    }
    let t = s.trim_end_matches('0');
    if t.ends_with('.') {
        format!("{t}0")
    } else {
        t.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::real_text;

    #[test]
    fn reals_render_as_sqlite_renders_them() {
        assert_eq!(real_text(2.25), "2.25");
        assert_eq!(real_text(47.0), "47.0");
        assert_eq!(real_text(-0.5), "-0.5");
        assert_eq!(real_text(1e20), "1.0e+20");
        assert_eq!(real_text(1.5e-7), "1.5e-07");
        assert_eq!(real_text(123456789012345.0), "123456789012345.0");
        assert_eq!(real_text(0.1 + 0.2), "0.3");
    }
}
