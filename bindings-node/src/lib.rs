//! Node bindings for litepool (work in progress).
