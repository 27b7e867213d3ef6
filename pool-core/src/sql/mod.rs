//! The pool's one SQL layer: what every binding runs SQL through.
//!
//! - [`Params`] and [`BindRules`]: one parameter model and binder.
//! - [`classify`]: transaction control and leading keywords, comments skipped.
//! - [`Call`] → [`Produced`]: one row loop (`exec.rs`); [`Session::open`]
//!   steps a query's rows in batches into a [`RowBuf`] instead (`stream.rs`).
//! - [`Pool::call`](crate::Pool::call) / [`Pool::call_with`](crate::Pool::call_with):
//!   one-shot calls routed to the lane their statement needs, in one acquire
//!   timeout (`route.rs`); [`Pool::call_each`](crate::Pool::call_each) reads
//!   the rows where they are stepped instead (`each.rs`).
//! - [`Session`] / [`SessionQueue`]: a held lease running calls in order,
//!   with the transaction rules in one place (`session.rs`).
//! - [`LazySession`]: a long-lived client that leases per transaction and
//!   pins its lease while the program has changed the connection (`lazy.rs`).
//! - [`Pool::sql`](crate::Pool::sql): a thread's recent SQL texts as shared
//!   [`Sql`], for bindings that get SQL as a string on every call (`recent.rs`).
//! - [`Executor`]: the pool's worker threads for calls off the caller's thread.
//! - [`CallContext`]: a caller's busy timeout, limits, hooks and interrupt,
//!   carried by its calls onto whichever connection runs them.
//!
//! A binding converts its language's values to [`Params`] and [`Produced`]
//! back, delivers completions to its event loop and maps errors by
//! [`Error::code`](crate::Error::code); nothing else.

pub(crate) mod call;
pub mod classify;
pub(crate) mod context;
pub(crate) mod each;
pub(crate) mod exec;
pub(crate) mod executor;
pub(crate) mod group;
pub(crate) mod group_queue;
pub(crate) mod lazy;
pub(crate) mod params;
pub(crate) mod recent;
pub(crate) mod route;
pub(crate) mod routes;
pub(crate) mod rowbuf;
pub(crate) mod session;
pub(crate) mod stream;

pub use call::{Call, Column, Op, Produced, RowSink, Sql};
pub use context::{CallContext, CallHooks, HookSet};
pub use each::RowRef;
pub use exec::{execute, failed_to_prepare};
pub use executor::{Executor, Work};
pub use lazy::{Interrupter, LazySession};
pub use params::{BadValue, BindRules, Params};
pub use route::CallFuture;
pub use rowbuf::RowBuf;
pub use session::{Action, Begin, Done, Fetched, Opened, Session, SessionQueue, TxnMode};
pub use stream::StreamId;
