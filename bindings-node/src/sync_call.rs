//! The `*Sync` calls, on the JS thread: the core's `Pool::call_each`
//! hands over each row while SQLite holds it, and its values become JS
//! values directly (no `Vec<Value>`, `String` or column list in between);
//! row objects come from a row factory (`values::make_row_factory`).

use litepool::sql::{Call, Op, Params, RowRef};
use litepool::AcquireOptions as CoreAcquire;
use napi::bindgen_prelude::*;
use napi::{sys, Env, ValueType};
use parking_lot::Mutex;

use crate::error::{to_js_error, Failure};
use crate::values::{check, params_from_js, run_result, value_of_type, value_ref_to_js, RowShapes};

/// Runs `call` on the calling thread and returns its outcome shaped by its
/// op: the first row or `undefined`, every row, `{ changes,
/// lastInsertRowid }`, or `undefined` for a script. Rows are built by a
/// factory from `shapes` (looked up once per call, on its first row).
pub(crate) fn run_sync(
    env: &Env,
    pool: &litepool::Pool,
    call: &Call,
    opts: CoreAcquire,
    safe_integers: bool,
    shapes: &Mutex<RowShapes>,
) -> Result<sys::napi_value> {
    let mut rows =
        Rows { env, safe_integers, shapes, factory: None, keys: Vec::new(), built: Vec::new(), failed: None };
    let produced = pool.call_each(opts, call, |row| match rows.build(row) {
        Ok(obj) => {
            rows.built.push(obj);
            true
        }
        Err(e) => {
            rows.failed = Some(e);
            false
        }
    });
    let produced = produced.map_err(|e| to_js_error(env, &Failure::Core(e)))?;
    if let Some(e) = rows.failed {
        return Err(e);
    }
    let raw = env.raw();
    let mut out = std::ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread with values created in this call.
    unsafe {
        match call.op {
            Op::First => match rows.built.first() {
                Some(row) => out = *row,
                None => check(sys::napi_get_undefined(raw, &mut out))?,
            },
            Op::All => {
                check(sys::napi_create_array_with_length(raw, rows.built.len(), &mut out))?;
                for (i, row) in rows.built.iter().enumerate() {
                    check(sys::napi_set_element(raw, out, i as u32, *row))?;
                }
            }
            Op::Run | Op::Many => out = run_result(raw, &produced, safe_integers)?,
            Op::Script | Op::Prepare => check(sys::napi_get_undefined(raw, &mut out))?,
        }
    }
    Ok(out)
}

/// Row objects of one call, built as the rows are stepped.
struct Rows<'a> {
    env: &'a Env,
    safe_integers: bool,
    shapes: &'a Mutex<RowShapes>,
    /// Looked up on the first row: `Some(None)` when no factory can be
    /// made for these names (rows are then built key by key, with `keys`).
    factory: Option<Option<sys::napi_value>>,
    keys: Vec<sys::napi_value>,
    built: Vec<sys::napi_value>,
    failed: Option<napi::Error>,
}

/// Arguments of one factory call; columns beyond this go to the heap.
const STACK_COLUMNS: usize = 16;

impl Rows<'_> {
    fn build(&mut self, row: RowRef<'_>) -> Result<sys::napi_value> {
        let env = self.env;
        let raw = env.raw();
        let len = row.len();
        let core = |e: litepool::Error| to_js_error(env, &Failure::Core(e));
        let factory = match self.factory {
            Some(f) => f,
            None => {
                // The names are read after the first step: a statement SQLite
                // re-prepared (the schema changed) has its new columns.
                let name = |i| row.name(i).map_err(core);
                let f = match self.shapes.try_lock() {
                    Some(mut shapes) => shapes.factory_for(raw, len, name)?,
                    // Busy: a call made from inside this one's lookup (JS
                    // code run while the factory was compiled). One for now.
                    None => {
                        let mut once = RowShapes::default();
                        let f = once.factory_for(raw, len, name);
                        once.release(raw);
                        f?
                    }
                };
                if f.is_none() {
                    for i in 0..len {
                        // SAFETY: creating a string on the JS thread.
                        self.keys.push(unsafe { String::to_napi_value(raw, row.name(i).map_err(core)?.to_owned())? });
                    }
                }
                self.factory = Some(f);
                f
            }
        };
        let mut stack = [std::ptr::null_mut(); STACK_COLUMNS];
        let mut heap = Vec::new();
        let args: &mut [sys::napi_value] = if len <= STACK_COLUMNS {
            &mut stack[..len]
        } else {
            heap.resize(len, std::ptr::null_mut());
            &mut heap
        };
        for (i, arg) in args.iter_mut().enumerate() {
            *arg = value_ref_to_js(env, i, row.value(i).map_err(core)?, self.safe_integers)?;
        }
        let mut obj = std::ptr::null_mut();
        // SAFETY: plain napi calls on the JS thread; `factory` is a live
        // function and `args` values made in this scope.
        unsafe {
            match factory {
                Some(f) => {
                    let mut undefined = std::ptr::null_mut();
                    check(sys::napi_get_undefined(raw, &mut undefined))?;
                    check(sys::napi_call_function(raw, undefined, f, args.len(), args.as_ptr(), &mut obj))?;
                }
                None => {
                    check(sys::napi_create_object(raw, &mut obj))?;
                    for (key, value) in self.keys.iter().zip(args.iter()) {
                        check(sys::napi_set_property(raw, obj, *key, *value))?;
                    }
                }
            }
        }
        Ok(obj)
    }
}

/// The type of a raw value.
pub(crate) fn type_of(env: sys::napi_env, value: sys::napi_value) -> Result<ValueType> {
    let mut t = 0;
    // SAFETY: plain napi call on the JS thread.
    check(unsafe { sys::napi_typeof(env, value, &mut t) })?;
    Ok(ValueType::from(t))
}

/// Converts the `params` argument into `out` (as `values::params_from_js`
/// does), reusing its vector for positional parameters.
pub(crate) fn fill_params(env: &Env, params: sys::napi_value, out: &mut Params) -> Result<()> {
    let raw = env.raw();
    let mut values = match std::mem::replace(out, Params::None) {
        Params::Positional(mut v) => {
            v.clear();
            v
        }
        _ => Vec::new(),
    };
    let ty = if params.is_null() { ValueType::Undefined } else { type_of(raw, params)? };
    // SAFETY: `params` is a live value of this call.
    let unknown = || unsafe { Unknown::from_raw_unchecked(raw, params) };
    match ty {
        ValueType::Undefined | ValueType::Null => {}
        ValueType::Object => {
            let mut is_array = false;
            // SAFETY: plain napi call on the JS thread.
            check(unsafe { sys::napi_is_array(raw, params, &mut is_array) })?;
            if !is_array {
                // Named parameters, or one Buffer/Date: the general path.
                *out = params_from_js(env, Some(unknown()))?;
                return Ok(());
            }
            let mut len = 0;
            // SAFETY: plain napi call on the JS thread; `params` is an array.
            check(unsafe { sys::napi_get_array_length(raw, params, &mut len) })?;
            values.reserve(len as usize);
            for i in 0..len {
                let mut item = std::ptr::null_mut();
                // SAFETY: plain napi call on the JS thread.
                check(unsafe { sys::napi_get_element(raw, params, i, &mut item) })?;
                let ty = type_of(raw, item)?;
                // SAFETY: `item` was just read from the array.
                let item = unsafe { Unknown::from_raw_unchecked(raw, item) };
                values.push(value_of_type(env, item, ty, || format!("parameter {}", i + 1))?);
            }
        }
        _ => values.push(value_of_type(env, unknown(), ty, || "parameter 1".to_owned())?),
    }
    // No parameters bind as an empty list: the same checks as `Params::None`.
    *out = Params::Positional(values);
    Ok(())
}
