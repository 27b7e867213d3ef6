//! The `*Sync` calls, on the JS thread: the core's `Pool::call_each`
//! hands over each row while SQLite holds it, and its values become JS
//! values directly (no `Vec<Value>`, `String` or column list in between);
//! row objects come from a row factory (`values::make_row_factory`).
//!
//! A prepared statement's `getSync`/`allSync`/`runSync` are also made as
//! raw N-API functions, one set per statement, whose data pointer is the
//! statement's [`SyncStatement`] ([`install`]): a call then costs one
//! `napi_get_cb_info` where napi-rs's generated method spends about 4,000
//! instructions on unwrapping `this`, checking its type tag and recording
//! borrows — a fifth of a whole point select.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use litepool::sql::{Call, Op, Params, RowRef, Sql};
use litepool::AcquireOptions as CoreAcquire;
use napi::bindgen_prelude::*;
use napi::{sys, Env, JsError, ValueType};
use parking_lot::Mutex;

use crate::call::rules;
use crate::error::{to_js_error, Failure};
use crate::options::parse_query_options;
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
    let mut rows = Rows { env, safe_integers, shapes, factory: None, keys: Vec::new(), built: Vec::new(), failed: None };
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

/// What a prepared statement's `*Sync` calls need, shared by the
/// `Statement` object and its raw functions (JS thread only).
pub(crate) struct SyncStatement {
    pub(crate) pool: litepool::Pool,
    pub(crate) sql: Sql,
    pub(crate) safe_integers: bool,
    pub(crate) strict: bool,
    /// This statement's row factories (one, unless its columns change).
    shapes: Mutex<RowShapes>,
    /// A call kept between calls, so its parameter vector keeps its room.
    /// Busy (borrowed) only while a call runs; a call made meanwhile (from
    /// a getter of a parameter, say) makes its own.
    call: RefCell<Call>,
}

impl SyncStatement {
    pub fn new(pool: litepool::Pool, sql: Sql, safe_integers: bool, strict: bool) -> Self {
        let call = Call::new(Op::First, sql.clone()).rules(rules(strict));
        SyncStatement {
            pool,
            sql,
            safe_integers,
            strict,
            shapes: Mutex::new(RowShapes::default()),
            call: RefCell::new(call),
        }
    }

    /// Runs `op` with `params` and `options` (raw JS values; `undefined` when not given).
    pub fn call(&self, env: &Env, op: Op, params: sys::napi_value, options: sys::napi_value) -> Result<sys::napi_value> {
        let raw = env.raw();
        let opts = if options.is_null() || type_of(raw, options)? == ValueType::Undefined {
            CoreAcquire::default()
        } else {
            // SAFETY: `options` is a live value of this call.
            parse_query_options(env, Some(unsafe { Unknown::from_raw_unchecked(raw, options) }))?
        };
        match self.call.try_borrow_mut() {
            Ok(mut call) => {
                call.op = op;
                let filled = fill_params(env, params, &mut call.params);
                let out = filled.and_then(|()| run_sync(env, &self.pool, &call, opts, self.safe_integers, &self.shapes));
                if let Params::Positional(values) = &mut call.params {
                    values.clear();
                }
                out
            }
            Err(_) => {
                let mut call = Call::new(op, self.sql.clone()).rules(rules(self.strict));
                fill_params(env, params, &mut call.params)?;
                run_sync(env, &self.pool, &call, opts, self.safe_integers, &self.shapes)
            }
        }
    }

    /// Deletes the row factories' references (on the JS thread).
    pub fn release(&self, env: sys::napi_env) {
        if let Some(mut shapes) = self.shapes.try_lock() {
            shapes.release(env);
        }
    }
}

/// The type of a raw value.
fn type_of(env: sys::napi_env, value: sys::napi_value) -> Result<ValueType> {
    let mut t = 0;
    // SAFETY: plain napi call on the JS thread.
    check(unsafe { sys::napi_typeof(env, value, &mut t) })?;
    Ok(ValueType::from(t))
}

/// Converts the `params` argument into `out` (as `values::params_from_js`
/// does), reusing its vector for positional parameters.
fn fill_params(env: &Env, params: sys::napi_value, out: &mut Params) -> Result<()> {
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

/// The raw functions and the value they are given.
const METHODS: [(&std::ffi::CStr, Op); 3] = [(c"getSync", Op::First), (c"allSync", Op::All), (c"runSync", Op::Run)];

/// Defines `getSync`, `allSync` and `runSync` on `object` (a `Statement`)
/// as raw functions over `stmt`, shadowing the prototype's napi-rs methods
/// (same behaviour, less per-call work). Each function keeps `stmt` alive
/// until it is garbage-collected.
pub(crate) fn install(env: sys::napi_env, object: sys::napi_value, stmt: &Rc<SyncStatement>) -> Result<()> {
    let mut props = Vec::with_capacity(METHODS.len());
    for (name, op) in METHODS {
        let callback: sys::napi_callback = match op {
            Op::First => Some(get_sync),
            Op::All => Some(all_sync),
            _ => Some(run_sync_raw),
        };
        let data = Rc::into_raw(Rc::clone(stmt)).cast_mut().cast::<std::ffi::c_void>();
        let mut f = std::ptr::null_mut();
        // SAFETY: plain napi calls on the JS thread. `data` is an owned Rc
        // handed to the function: the finalizer added right after takes it
        // back when the function is collected (or, if that cannot be added,
        // it is taken back here).
        unsafe {
            let made =
                check(sys::napi_create_function(env, name.as_ptr(), name.count_bytes() as isize, callback, data, &mut f))
                    .and_then(|()| {
                        check(sys::napi_add_finalizer(
                            env,
                            f,
                            data,
                            Some(drop_statement),
                            std::ptr::null_mut(),
                            std::ptr::null_mut(),
                        ))
                    });
            if let Err(e) = made {
                drop(Rc::from_raw(data.cast::<SyncStatement>()));
                return Err(e);
            }
        }
        props.push(sys::napi_property_descriptor {
            utf8name: name.as_ptr(),
            name: std::ptr::null_mut(),
            method: None,
            getter: None,
            setter: None,
            value: f,
            // Not enumerable, not writable: what a prototype method looks like from outside.
            attributes: sys::PropertyAttributes::configurable,
            data: std::ptr::null_mut(),
        });
    }
    // SAFETY: plain napi call on the JS thread with descriptors made above.
    check(unsafe { sys::napi_define_properties(env, object, props.len(), props.as_ptr()) })
}

/// Finalizer of a raw function: lets go of its share of the statement.
unsafe extern "C" fn drop_statement(env: sys::napi_env, data: *mut std::ffi::c_void, _hint: *mut std::ffi::c_void) {
    // SAFETY: `data` is the Rc handed over in `install`, taken back once (here).
    let stmt = unsafe { Rc::from_raw(data.cast::<SyncStatement>()) };
    if Rc::strong_count(&stmt) == 1 {
        stmt.release(env);
    }
}

unsafe extern "C" fn get_sync(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    entry(env, info, Op::First)
}

unsafe extern "C" fn all_sync(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    entry(env, info, Op::All)
}

unsafe extern "C" fn run_sync_raw(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    entry(env, info, Op::Run)
}

/// A raw function's body: its arguments, the call, and the error thrown
/// (a panic becomes a thrown `LITEPOOL_PANIC` error, never an unwind into Node).
fn entry(env: sys::napi_env, info: sys::napi_callback_info, op: Op) -> sys::napi_value {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut argc = 2;
        let mut argv = [std::ptr::null_mut(); 2];
        let mut data = std::ptr::null_mut();
        // SAFETY: on the JS thread inside a callback; napi writes up to
        // `argc` arguments (`undefined` for those not given) and the data.
        check(unsafe {
            sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), std::ptr::null_mut(), &mut data)
        })?;
        // SAFETY: `data` is the Rc<SyncStatement> this function was made
        // with in `install`; its finalizer has not run while it can be called.
        let stmt = unsafe { &*data.cast::<SyncStatement>() };
        let env = Env::from_raw(env);
        stmt.call(&env, op, argv[0], argv[1])
    }));
    let err = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(e)) => e,
        Err(_) => napi::Error::new(Status::GenericFailure, "litepool: a panic in the binding (LITEPOOL_PANIC)"),
    };
    // SAFETY: throwing on the JS thread from the callback that failed.
    unsafe { JsError::from(err).throw_into(env) };
    std::ptr::null_mut()
}
