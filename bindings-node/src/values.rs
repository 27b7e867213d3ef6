//! JS values to SQLite values and back.
//!
//! In: number (an integer-valued number binds as INTEGER, others as REAL),
//! string, `Buffer`/typed array (BLOB), `null`/`undefined` (NULL), boolean
//! (0/1), BigInt (INTEGER, must fit in 64 bits), `Date` (REAL, milliseconds,
//! as node-sqlite3 binds it). Out: INTEGER as a number, or as a BigInt when
//! `safeIntegers` is on; REAL as a number; TEXT as a string; BLOB as a
//! `Buffer`; NULL as `null`.

use napi::bindgen_prelude::*;
use napi::{sys, Env, ValueType};

use litepool::rusqlite::types::{Value, ValueRef};
use litepool::sql::{Op, Params, Produced};

use crate::error::{range_error, to_js_error, type_error, Failure};

/// Converts the `params` argument of `query`/`get`/`run`: an array (or a
/// single value) binds by position, a plain object by name (keys with or
/// without their `$`/`:`/`@` prefix; numeric keys by position).
pub fn params_from_js(env: &Env, params: Option<Unknown>) -> Result<Params> {
    let Some(params) = params else { return Ok(Params::None) };
    match params.get_type()? {
        ValueType::Undefined | ValueType::Null => Ok(Params::None),
        ValueType::Object => {
            // SAFETY: get_type() said this is an object.
            let obj: Object = unsafe { params.cast()? };
            if obj.is_array()? {
                let len = obj.get_array_length()?;
                let mut out = Vec::with_capacity(len as usize);
                for i in 0..len {
                    let item: Unknown = obj.get_element(i)?;
                    out.push(value_from_js(env, item, || format!("parameter {}", i + 1))?);
                }
                Ok(Params::Positional(out))
            } else if is_plain_object(&obj)? {
                let names = obj.get_property_names()?;
                let len = names.get_array_length()?;
                let mut out = Vec::with_capacity(len as usize);
                for i in 0..len {
                    let key: String = names.get_element(i)?;
                    let item: Unknown = obj.get_named_property(&key)?;
                    let value = value_from_js(env, item, || format!("parameter {key:?}"))?;
                    out.push((key, Ok(value)));
                }
                Ok(Params::Named(out))
            } else {
                Ok(Params::Positional(vec![value_from_js(env, params, || "parameter 1".to_owned())?]))
            }
        }
        _ => Ok(Params::Positional(vec![value_from_js(env, params, || "parameter 1".to_owned())?])),
    }
}

/// Whether `obj` should be read as named parameters (not a Buffer, typed
/// array or Date, which are single values).
fn is_plain_object(obj: &Object) -> Result<bool> {
    Ok(!(obj.is_buffer()? || obj.is_typedarray()? || obj.is_date()?))
}

/// Converts one JS value; `what` names it in the error.
pub fn value_from_js(env: &Env, value: Unknown, what: impl Fn() -> String) -> Result<Value> {
    value_of_type(env, value, value.get_type()?, what)
}

/// [`value_from_js`] for a value whose type is known.
pub fn value_of_type(env: &Env, value: Unknown, ty: ValueType, what: impl Fn() -> String) -> Result<Value> {
    Ok(match ty {
        ValueType::Undefined | ValueType::Null => Value::Null,
        ValueType::Boolean => {
            // SAFETY: get_type() said boolean.
            Value::Integer(i64::from(unsafe { value.cast::<bool>()? }))
        }
        ValueType::Number => {
            // SAFETY: get_type() said number.
            number_value(unsafe { value.cast::<f64>()? })
        }
        ValueType::String => {
            // SAFETY: get_type() said string.
            Value::Text(unsafe { value.cast::<String>()? })
        }
        ValueType::BigInt => {
            // SAFETY: get_type() said bigint.
            let big = unsafe { value.cast::<BigInt>()? };
            let (v, lossless) = big.get_i64();
            if !lossless {
                return Err(range_error(
                    env,
                    format!("{} is a BigInt that does not fit in a 64-bit signed integer", what()),
                ));
            }
            Value::Integer(v)
        }
        ValueType::Object => {
            // SAFETY: get_type() said object.
            let obj: Object = unsafe { value.cast()? };
            if obj.is_buffer()? {
                // SAFETY: is_buffer() said so.
                let buf = unsafe { value.cast::<BufferSlice>()? };
                Value::Blob(buf.to_vec())
            } else if obj.is_typedarray()? {
                // SAFETY: is_typedarray() said so.
                let arr = unsafe { value.cast::<Uint8ArraySlice>() };
                match arr {
                    Ok(bytes) => Value::Blob(bytes.to_vec()),
                    Err(_) => {
                        return Err(type_error(
                            env,
                            format!("{} must be a Uint8Array or Buffer to bind as a BLOB", what()),
                        ))
                    }
                }
            } else if obj.is_date()? {
                let ms: f64 = obj.call_method0_number("valueOf")?;
                number_value(ms)
            } else {
                return Err(type_error(
                    env,
                    format!(
                        "{} must be a number, string, bigint, boolean, Buffer, Date or null; got an object",
                        what()
                    ),
                ));
            }
        }
        other => {
            return Err(type_error(
                env,
                format!(
                    "{} must be a number, string, bigint, boolean, Buffer, Date or null; got a {}",
                    what(),
                    type_name(other)
                ),
            ))
        }
    })
}

fn number_value(n: f64) -> Value {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if n.fract() == 0.0 && n.is_finite() && (-LIMIT..LIMIT).contains(&n) {
        Value::Integer(n as i64)
    } else {
        Value::Real(n)
    }
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Function => "function",
        ValueType::Symbol => "symbol",
        ValueType::External => "external",
        _ => "value of an unsupported type",
    }
}

trait CallValueOf {
    fn call_method0_number(&self, name: &str) -> Result<f64>;
}

impl CallValueOf for Object<'_> {
    fn call_method0_number(&self, name: &str) -> Result<f64> {
        let f: Function<(), f64> = self.get_named_property(name)?;
        f.apply(self, ())
    }
}

/// A SQLite value, borrowed where SQLite holds it, as a raw JS value (no
/// Rust copy in between). Text that is not UTF-8 fails as it does when
/// rows are copied out (column `i` is named in the error).
pub fn value_ref_to_js(env: &Env, i: usize, value: ValueRef<'_>, safe_integers: bool) -> Result<sys::napi_value> {
    let raw = env.raw();
    let mut out = std::ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread; the pointers and lengths
    // passed are those of live Rust slices.
    let status = unsafe {
        match value {
            ValueRef::Null => sys::napi_get_null(raw, &mut out),
            ValueRef::Integer(n) if safe_integers => sys::napi_create_bigint_int64(raw, n, &mut out),
            ValueRef::Integer(n) => sys::napi_create_double(raw, n as f64, &mut out),
            ValueRef::Real(f) => sys::napi_create_double(raw, f, &mut out),
            // ASCII (most text) is Latin-1 too, which V8 copies without decoding.
            ValueRef::Text(bytes) if bytes.is_ascii() => {
                sys::napi_create_string_latin1(raw, bytes.as_ptr().cast(), bytes.len() as isize, &mut out)
            }
            ValueRef::Text(bytes) => {
                if let Err(e) = std::str::from_utf8(bytes) {
                    let e = litepool::rusqlite::Error::Utf8Error(i, e);
                    return Err(to_js_error(env, &Failure::Core(litepool::Error::Sqlite(e))));
                }
                sys::napi_create_string_utf8(raw, bytes.as_ptr().cast(), bytes.len() as isize, &mut out)
            }
            ValueRef::Blob(bytes) => {
                let mut data = std::ptr::null_mut();
                sys::napi_create_buffer_copy(raw, bytes.len(), bytes.as_ptr().cast(), &mut data, &mut out)
            }
        }
    };
    check(status)?;
    Ok(out)
}

/// A SQLite value as a raw JS value.
pub fn value_to_js(env: sys::napi_env, value: Value, safe_integers: bool) -> Result<sys::napi_value> {
    // SAFETY: `env` is the live env of the JS thread we are called on.
    unsafe {
        match value {
            Value::Null => Null::to_napi_value(env, Null),
            Value::Integer(i) if safe_integers => BigInt::to_napi_value(env, BigInt::from(i)),
            Value::Integer(i) => f64::to_napi_value(env, i as f64),
            Value::Real(f) => f64::to_napi_value(env, f),
            Value::Text(s) => String::to_napi_value(env, s),
            Value::Blob(b) => Buffer::to_napi_value(env, Buffer::from(b)),
        }
    }
}

/// What a call produced, shaped by its op: every row (`all`), the first
/// row or `undefined` (`get`), `{ changes, lastInsertRowid }` (`run`),
/// `undefined` (scripts, prepare). Rows are objects keyed by column name (a
/// later duplicate name wins).
pub fn produced_to_js<'env>(env: &'env Env, op: Op, produced: Produced, safe_integers: bool) -> Result<Unknown<'env>> {
    let raw = env.raw();
    let keys = || -> Result<Vec<sys::napi_value>> {
        // SAFETY: creating strings on the JS thread.
        produced.columns.iter().map(|c| unsafe { String::to_napi_value(raw, c.name.clone()) }).collect()
    };
    let value = match op {
        Op::All => rows_array(raw, &keys()?, produced.rows, safe_integers)?,
        Op::First => match produced.rows.into_iter().next() {
            Some(row) => row_object(raw, &keys()?, row, safe_integers)?,
            // SAFETY: creating `undefined` on the JS thread.
            None => unsafe { Undefined::to_napi_value(raw, ())? },
        },
        Op::Run | Op::Many => run_result(raw, &produced, safe_integers)?,
        // SAFETY: creating `undefined` on the JS thread.
        Op::Script | Op::Prepare => unsafe { Undefined::to_napi_value(raw, ())? },
    };
    // SAFETY: `value` was created on this env just now.
    Ok(unsafe { Unknown::from_raw_unchecked(raw, value) })
}

/// Rows as a JS array of objects keyed by `keys`.
pub fn rows_array(
    env: sys::napi_env,
    keys: &[sys::napi_value],
    rows: Vec<Vec<Value>>,
    safe_integers: bool,
) -> Result<sys::napi_value> {
    let mut array = std::ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread with values created here.
    unsafe {
        check(sys::napi_create_array_with_length(env, rows.len(), &mut array))?;
        for (i, row) in rows.into_iter().enumerate() {
            let obj = row_object(env, keys, row, safe_integers)?;
            check(sys::napi_set_element(env, array, i as u32, obj))?;
        }
    }
    Ok(array)
}

/// `{ changes, lastInsertRowid }`.
pub(crate) fn run_result(env: sys::napi_env, produced: &Produced, safe_integers: bool) -> Result<sys::napi_value> {
    let changes = value_to_js(env, Value::Integer(i64::try_from(produced.changes).unwrap_or(i64::MAX)), false)?;
    let rowid = value_to_js(env, Value::Integer(produced.last_insert_rowid), safe_integers)?;
    let mut obj = std::ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread with values created here.
    unsafe {
        check(sys::napi_create_object(env, &mut obj))?;
        check(sys::napi_set_named_property(env, obj, c"changes".as_ptr(), changes))?;
        check(sys::napi_set_named_property(env, obj, c"lastInsertRowid".as_ptr(), rowid))?;
    }
    Ok(obj)
}

/// One row as an object, keyed by `keys` (JS strings, one per column).
pub fn row_object(
    env: sys::napi_env,
    keys: &[sys::napi_value],
    row: Vec<Value>,
    safe_integers: bool,
) -> Result<sys::napi_value> {
    let mut obj = std::ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread; `keys` were created in this
    // scope.
    unsafe {
        check(sys::napi_create_object(env, &mut obj))?;
        for (key, value) in keys.iter().zip(row) {
            let v = value_to_js(env, value, safe_integers)?;
            check(sys::napi_set_property(env, obj, *key, v))?;
        }
    }
    Ok(obj)
}

pub(crate) fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(Status::from(status), "a napi call failed while building a row".to_owned()))
    }
}

/// The JS source of a row factory for `names`: a function of one argument
/// per column returning `{"name": value, ...}` as an object literal, so V8
/// builds every row with one fixed shape instead of one property store per
/// column (`None` when a name would mean something else in a literal:
/// `__proto__` sets the prototype).
pub fn row_factory_source(names: &[String]) -> Option<String> {
    if names.iter().any(|n| n == "__proto__") {
        return None;
    }
    let args: Vec<String> = (0..names.len()).map(|i| format!("a{i}")).collect();
    let fields: Vec<String> = names.iter().zip(&args).map(|(n, a)| format!("{}:{a}", js_string_literal(n))).collect();
    Some(format!("return function({}){{return {{{}}}}}", args.join(","), fields.join(",")))
}

/// `s` as a double-quoted JS string literal.
fn js_string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Compiles [`row_factory_source`] with the global `Function` constructor.
pub fn make_row_factory(env: sys::napi_env, names: &[String]) -> Result<Option<sys::napi_value>> {
    let Some(source) = row_factory_source(names) else { return Ok(None) };
    // SAFETY: plain napi calls on the JS thread with values created here.
    unsafe {
        let mut global = std::ptr::null_mut();
        check(sys::napi_get_global(env, &mut global))?;
        let mut function_ctor = std::ptr::null_mut();
        check(sys::napi_get_named_property(env, global, c"Function".as_ptr(), &mut function_ctor))?;
        let body = String::to_napi_value(env, source)?;
        let mut outer = std::ptr::null_mut();
        check(sys::napi_new_instance(env, function_ctor, 1, &body, &mut outer))?;
        let mut undefined = std::ptr::null_mut();
        check(sys::napi_get_undefined(env, &mut undefined))?;
        let mut factory = std::ptr::null_mut();
        check(sys::napi_call_function(env, undefined, outer, 0, std::ptr::null(), &mut factory))?;
        Ok(Some(factory))
    }
}

/// One row through a factory from [`make_row_factory`].
pub fn row_from_factory(
    env: sys::napi_env,
    factory: sys::napi_value,
    row: Vec<Value>,
    safe_integers: bool,
) -> Result<sys::napi_value> {
    let args = row.into_iter().map(|v| value_to_js(env, v, safe_integers)).collect::<Result<Vec<_>>>()?;
    let mut out = std::ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread; `factory` is a live function.
    unsafe {
        let mut undefined = std::ptr::null_mut();
        check(sys::napi_get_undefined(env, &mut undefined))?;
        check(sys::napi_call_function(env, undefined, factory, args.len(), args.as_ptr(), &mut out))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_factory_quotes_every_name_and_refuses_proto() {
        let src = row_factory_source(&["id".into(), "we\"ird\\".into(), "a\nb".into()]);
        assert_eq!(src.as_deref(), Some(r#"return function(a0,a1,a2){return {"id":a0,"we\"ird\\":a1,"a\u000ab":a2}}"#));
        assert!(row_factory_source(&["__proto__".into()]).is_none());
    }
}

/// Row factories by column names, for results settled on the JS thread
/// (one per pool's delivery): most calls repeat a few result shapes, so a
/// factory is compiled once per shape. At most [`RowShapes::MAX`] are kept
/// (the least recently used is dropped).
#[derive(Default)]
pub struct RowShapes {
    entries: Vec<(Vec<String>, sys::napi_ref)>,
}

// SAFETY: the references are only created, read and deleted on the JS
// thread (by `Delivery`'s doorbell callback); other threads never touch
// them, they only hold the mailbox that owns this.
unsafe impl Send for RowShapes {}

impl RowShapes {
    pub const MAX: usize = 32;

    /// The factory for `names` (made now if new); `None` if none can be made.
    fn factory(&mut self, env: sys::napi_env, names: &[&str]) -> Result<Option<sys::napi_value>> {
        self.factory_for(env, names.len(), |i| Ok(names[i]))
    }

    /// The factory for the `len` column names `name` gives (made now if
    /// new); `None` if none can be made. The last used is looked at first.
    pub fn factory_for<'n>(
        &mut self,
        env: sys::napi_env,
        len: usize,
        name: impl Fn(usize) -> Result<&'n str>,
    ) -> Result<Option<sys::napi_value>> {
        let mut at = None;
        for (i, (names, _)) in self.entries.iter().enumerate().rev() {
            if names.len() == len && same_names(names, &name)? {
                at = Some(i);
                break;
            }
        }
        let reference = match at {
            Some(i) => {
                if i + 1 != self.entries.len() {
                    let entry = self.entries.remove(i);
                    self.entries.push(entry);
                }
                self.entries[self.entries.len() - 1].1
            }
            None => {
                let owned = (0..len).map(|i| name(i).map(str::to_owned)).collect::<Result<Vec<String>>>()?;
                let Some(f) = make_row_factory(env, &owned)? else { return Ok(None) };
                let mut r = std::ptr::null_mut();
                // SAFETY: `f` is a live function on this env; the reference is owned by `self`.
                check(unsafe { sys::napi_create_reference(env, f, 1, &mut r) })?;
                if self.entries.len() == Self::MAX {
                    let (_, old) = self.entries.remove(0);
                    // SAFETY: made on this env by this cache, deleted once (removed above).
                    unsafe { sys::napi_delete_reference(env, old) };
                }
                self.entries.push((owned, r));
                r
            }
        };
        let mut f = std::ptr::null_mut();
        // SAFETY: `reference` is a live strong reference made on this env.
        check(unsafe { sys::napi_get_reference_value(env, reference, &mut f) })?;
        Ok(Some(f))
    }

    /// Deletes every factory's reference (on the JS thread).
    pub fn release(&mut self, env: sys::napi_env) {
        for (_, r) in self.entries.drain(..) {
            // SAFETY: made on this env by this cache, deleted once (drained).
            unsafe { sys::napi_delete_reference(env, r) };
        }
    }
}

/// Whether `names` are the names `name` gives.
fn same_names<'n>(names: &[String], name: &impl Fn(usize) -> Result<&'n str>) -> Result<bool> {
    for (i, n) in names.iter().enumerate() {
        if n != name(i)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// [`produced_to_js`], with rows built by the factories in `shapes`.
pub fn produced_to_js_shaped<'env>(
    env: &'env Env,
    op: Op,
    produced: Produced,
    safe_integers: bool,
    shapes: &mut RowShapes,
) -> Result<Unknown<'env>> {
    if !matches!(op, Op::All | Op::First) || (op == Op::First && produced.rows.is_empty()) {
        return produced_to_js(env, op, produced, safe_integers);
    }
    let raw = env.raw();
    let names: Vec<&str> = produced.columns.iter().map(|c| c.name.as_str()).collect();
    let Some(factory) = shapes.factory(raw, &names)? else {
        return produced_to_js(env, op, produced, safe_integers);
    };
    let value = match op {
        Op::First => match produced.rows.into_iter().next() {
            Some(row) => row_from_factory(raw, factory, row, safe_integers)?,
            // SAFETY: creating `undefined` on the JS thread.
            None => unsafe { Undefined::to_napi_value(raw, ())? },
        },
        _ => {
            let mut array = std::ptr::null_mut();
            // SAFETY: plain napi calls on the JS thread with values created here.
            unsafe {
                check(sys::napi_create_array_with_length(raw, produced.rows.len(), &mut array))?;
                for (i, row) in produced.rows.into_iter().enumerate() {
                    let obj = row_from_factory(raw, factory, row, safe_integers)?;
                    check(sys::napi_set_element(raw, array, i as u32, obj))?;
                }
            }
            array
        }
    };
    // SAFETY: `value` was created on this env just now.
    Ok(unsafe { Unknown::from_raw_unchecked(raw, value) })
}
