//! JS values bound the way node-sqlite3 6 binds them (its
//! `Statement::BindParameter`), for the drop-in — which differs from the
//! pool API's own rules (`values.rs`) on purpose:
//!
//! - a number that is a 32-bit integer binds as INTEGER, any other number
//!   (2^40, 1.5, NaN, Infinity) as REAL;
//! - a `Date` binds as REAL milliseconds, a boolean as 0/1;
//! - a `Buffer` or any typed array binds its bytes as a BLOB;
//! - a `RegExp` binds its `toString()` as TEXT;
//! - any other object (an array, a function, an `ArrayBuffer`…) binds the
//!   text `'[object Object]'`, without calling its `toString`;
//! - `undefined`, a BigInt or a symbol is not bound at all (the parameter
//!   stays NULL; a trailing one past the last placeholder is no error).
//!
//! Named parameters come from an object's enumerable string keys,
//! inherited ones included; the core binds them by node-sqlite3's rules
//! (`BindRules::NODE_SQLITE3`).

use litepool::rusqlite::types::Value;
use litepool::sql::Params;
use napi::bindgen_prelude::*;
use napi::{sys, Env, ValueType};

use crate::values::check;

/// The `params` a drop-in call was given: an array binds by position,
/// another object by name.
pub fn params(env: &Env, given: Unknown) -> Result<Params> {
    match given.get_type()? {
        ValueType::Undefined | ValueType::Null => Ok(Params::None),
        ValueType::Object => {
            // SAFETY: get_type() said object.
            let obj: Object = unsafe { given.cast()? };
            if obj.is_array()? {
                let len = obj.get_array_length()?;
                let mut out = Vec::with_capacity(len as usize);
                for i in 0..len {
                    out.push(value(env, obj.get_element(i)?)?);
                }
                // Values not bound at all past the end are no error.
                while matches!(out.last(), Some(None)) {
                    out.pop();
                }
                Ok(Params::Positional(out.into_iter().map(|v| v.unwrap_or(Value::Null)).collect()))
            } else {
                let names = property_names(env, &obj)?;
                let mut out = Vec::with_capacity(names.len());
                for key in names {
                    let item: Unknown = obj.get_named_property(&key)?;
                    if let Some(v) = value(env, item)? {
                        out.push((key, Ok(v)));
                    }
                }
                Ok(Params::Named(out))
            }
        }
        _ => Err(napi::Error::from_reason("litepool: drop-in parameters must be an array or an object")),
    }
}

/// Enumerable string keys, inherited ones included (`napi_get_property_names`).
fn property_names(env: &Env, obj: &Object) -> Result<Vec<String>> {
    let mut names = std::ptr::null_mut();
    // SAFETY: plain napi call on the JS thread with an object of this env.
    check(unsafe { sys::napi_get_property_names(env.raw(), obj.raw(), &mut names) })?;
    // SAFETY: napi_get_property_names returns an array.
    let names: Object = unsafe { Object::from_napi_value(env.raw(), names)? };
    (0..names.get_array_length()?).map(|i| names.get_element::<String>(i)).collect()
}

/// One value; `None`: not bound.
fn value(env: &Env, v: Unknown) -> Result<Option<Value>> {
    Ok(Some(match v.get_type()? {
        ValueType::Undefined | ValueType::BigInt | ValueType::Symbol | ValueType::External | ValueType::Unknown => {
            return Ok(None)
        }
        ValueType::Null => Value::Null,
        // SAFETY (all casts below): get_type() said so.
        ValueType::Boolean => Value::Integer(i64::from(unsafe { v.cast::<bool>()? })),
        ValueType::Number => number(unsafe { v.cast::<f64>()? }),
        ValueType::String => Value::Text(unsafe { v.cast::<String>()? }),
        ValueType::Function => object_text(),
        ValueType::Object => {
            let obj: Object = unsafe { v.cast()? };
            if obj.is_typedarray()? || obj.is_buffer()? {
                Value::Blob(view_bytes(env, &v)?)
            } else if instance_of(env, &obj, "RegExp")? {
                let to_string: Function<(), String> = obj.get_named_property("toString")?;
                Value::Text(to_string.apply(obj, ())?)
            } else if obj.is_date()? {
                let value_of: Function<(), f64> = obj.get_named_property("valueOf")?;
                Value::Real(value_of.apply(obj, ())?)
            } else {
                object_text()
            }
        }
    }))
}

/// A number as node-sqlite3 binds it: INTEGER when it is a 32-bit integer.
fn number(n: f64) -> Value {
    if n.is_finite() && n == f64::from(n as i32) {
        Value::Integer(i64::from(n as i32))
    } else {
        Value::Real(n)
    }
}

fn object_text() -> Value {
    Value::Text("[object Object]".to_owned())
}

fn instance_of(env: &Env, obj: &Object, constructor: &str) -> Result<bool> {
    let global = env.get_global()?;
    let ctor: Function<(), Unknown> = global.get_named_property(constructor)?;
    let mut out = false;
    // SAFETY: plain napi call on the JS thread with values of this env.
    check(unsafe { sys::napi_instanceof(env.raw(), obj.raw(), ctor.raw(), &mut out) })?;
    Ok(out)
}

/// The bytes a typed array (or Buffer) views.
fn view_bytes(env: &Env, v: &Unknown) -> Result<Vec<u8>> {
    let raw = env.raw();
    let mut kind = sys::TypedarrayType::uint8_array;
    let mut length = 0usize;
    let mut data = std::ptr::null_mut();
    let mut buffer = std::ptr::null_mut();
    let mut offset = 0usize;
    // SAFETY: `v` is a typed array (checked by the caller); napi writes the
    // out-params, and `data` points at `length` elements of `kind` owned
    // by the array, alive while we copy them here on the JS thread.
    unsafe {
        if sys::napi_get_typedarray_info(raw, v.raw(), &mut kind, &mut length, &mut data, &mut buffer, &mut offset)
            != sys::Status::napi_ok
        {
            let mut buf_data = std::ptr::null_mut();
            check(sys::napi_get_buffer_info(raw, v.raw(), &mut buf_data, &mut length))?;
            return Ok(std::slice::from_raw_parts(buf_data.cast::<u8>(), length).to_vec());
        }
        let width = match kind {
            sys::TypedarrayType::int8_array
            | sys::TypedarrayType::uint8_array
            | sys::TypedarrayType::uint8_clamped_array => 1,
            sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array => 2,
            sys::TypedarrayType::int32_array
            | sys::TypedarrayType::uint32_array
            | sys::TypedarrayType::float32_array => 4,
            _ => 8,
        };
        if data.is_null() || length == 0 {
            return Ok(Vec::new());
        }
        Ok(std::slice::from_raw_parts(data.cast::<u8>(), length * width).to_vec())
    }
}
