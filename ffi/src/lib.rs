//! C ABI for litepool (work in progress).
