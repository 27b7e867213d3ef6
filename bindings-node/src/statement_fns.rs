//! A prepared statement's methods as raw N-API functions, one set per
//! statement, whose data pointer is the statement's [`StatementCalls`]
//! ([`install`], on the object after its first call): a call then costs one
//! `napi_get_cb_info` where napi-rs's generated method spends about 4,000
//! instructions unwrapping `this`, checking its type tag and recording
//! borrows — a fifth of a whole synchronous point select.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use litepool::sql::{Call, Op, Params, Sql};
use litepool::AcquireOptions as CoreAcquire;
use napi::bindgen_prelude::*;
use napi::{sys, Env, JsError, ValueType};
use parking_lot::Mutex;

use crate::call::rules;
use crate::options::parse_query_options;
use crate::sync_call::{fill_params, run_sync, type_of};
use crate::values::{check, RowShapes};

/// What a prepared statement's calls need, shared by the `Statement`
/// object and its raw functions (JS thread only).
pub(crate) struct StatementCalls {
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

impl StatementCalls {
    pub fn new(pool: litepool::Pool, sql: Sql, safe_integers: bool, strict: bool) -> Self {
        let call = Call::new(Op::First, sql.clone()).rules(rules(strict));
        StatementCalls {
            pool,
            sql,
            safe_integers,
            strict,
            shapes: Mutex::new(RowShapes::default()),
            call: RefCell::new(call),
        }
    }

    /// Runs `op` with `params` and `options` (raw JS values; `undefined` when not given).
    pub fn call(
        &self,
        env: &Env,
        op: Op,
        params: sys::napi_value,
        options: sys::napi_value,
    ) -> Result<sys::napi_value> {
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
                let out =
                    filled.and_then(|()| run_sync(env, &self.pool, &call, opts, self.safe_integers, &self.shapes));
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

/// The raw functions and the value they are given.
const METHODS: [(&std::ffi::CStr, Op); 3] = [(c"getSync", Op::First), (c"allSync", Op::All), (c"runSync", Op::Run)];

/// Defines `getSync`, `allSync` and `runSync` on `object` (a `Statement`)
/// as raw functions over `stmt`, shadowing the prototype's napi-rs methods
/// (same behaviour, less per-call work). Each function keeps `stmt` alive
/// until it is garbage-collected.
pub(crate) fn install(env: sys::napi_env, object: sys::napi_value, stmt: &Rc<StatementCalls>) -> Result<()> {
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
            let made = check(sys::napi_create_function(
                env,
                name.as_ptr(),
                name.count_bytes() as isize,
                callback,
                data,
                &mut f,
            ))
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
                drop(Rc::from_raw(data.cast::<StatementCalls>()));
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
    let stmt = unsafe { Rc::from_raw(data.cast::<StatementCalls>()) };
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
        // SAFETY: `data` is the Rc<StatementCalls> this function was made
        // with in `install`; its finalizer has not run while it can be called.
        let stmt = unsafe { &*data.cast::<StatementCalls>() };
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
