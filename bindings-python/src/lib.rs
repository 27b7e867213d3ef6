//! Python bindings for litepool (work in progress).
