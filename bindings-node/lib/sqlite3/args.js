'use strict';
// node-sqlite3's argument rules (its Statement::Bind and Database checks),
// shared by Database and Statement.

/** napi's IsObject: objects and functions, not null. */
function isObject(v) {
  return (typeof v === 'object' && v !== null) || typeof v === 'function';
}

/** Values that bind as one parameter even though they are objects. */
function isScalarObject(v) {
  return v instanceof RegExp || v instanceof Date || ArrayBuffer.isView(v);
}

/**
 * Splits `args[start..last)` the way node-sqlite3 does: a trailing function
 * is the callback; then an array binds by position, a plain object by
 * name, and anything else (with what follows) by position. `params` is
 * `undefined` when none are given (earlier bindings of a statement stay).
 */
function bindArgs(args, start = 0, last = args.length) {
  let callback;
  if (last > start && typeof args[last - 1] === 'function') callback = args[--last];
  let params;
  if (start < last) {
    const first = args[start];
    if (Array.isArray(first)) params = first.length ? first : undefined;
    else if (!isObject(first) || isScalarObject(first)) params = Array.prototype.slice.call(args, start, last);
    else params = first;
  }
  return { params, callback };
}

/** `OPTIONAL_ARGUMENT_FUNCTION(i)`. */
function optionalFunction(args, i) {
  const v = args[i];
  if (args.length > i && v !== undefined && typeof v !== 'function') {
    throw new TypeError(`Argument ${i} must be a function`);
  }
  return v;
}

/** `REQUIRE_ARGUMENT_STRING(i)`. */
function requireString(args, i) {
  if (args.length <= i || typeof args[i] !== 'string') throw new TypeError(`Argument ${i} must be a string`);
  return args[i];
}

/** node-sqlite3's `OtherIsInt`: a number that is a 32-bit integer. */
function isInt32(v) {
  return typeof v === 'number' && (v | 0) === v;
}

module.exports = { bindArgs, optionalFunction, requireString, isInt32, isObject };
