'use strict';
// The tenant API, under /api on a tenant's host (`<code>.<TENANT_DOMAIN>`):
// the tenant resolver, then the user's bearer token, then the routes. Every
// query goes through req.db, the request's tenant executor (lib/store.js).
//
//   GET    /api/me              the authenticated user and the tenant
//   GET    /api/users           ?limit=1..100 (default 50) &offset=0..: the tenant's users
//   GET    /api/users/:id
//   POST   /api/users           (role admin) {name, email, role?}: 201 {user, token}; the token is shown once
//   PATCH  /api/users/:id       (role admin) {name?, email?, role?}
//   DELETE /api/users/:id       (role admin) not yourself
//   GET    /api/products        the catalogue with stock
//   GET    /api/orders          ?limit=1..100 (default 20): newest first, with items
//   GET    /api/orders/:id
//   POST   /api/orders          {items: [{product_id, quantity}], reference?}: one write transaction
const express = require('express');
const { HttpError } = require('./errors');
const queries = require('./queries');
const { newToken } = require('./tokens');
const { requireUser, requireRole } = require('./auth');
const { tenantResolver } = require('./tenant-resolver');

const MAX_NAME = 100;
const MAX_EMAIL = 254;
const MAX_REFERENCE = 64;
const MAX_ITEMS = 50;
const MAX_QUANTITY = 1000;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ROLES = ['admin', 'member'];

function iso(ms) {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

function formatUser(row) {
  return { id: row.id, name: row.name, email: row.email, role: row.role, created_at: iso(row.created_at), updated_at: iso(row.updated_at) };
}

function formatOrder(order) {
  return { ...order, created_at: iso(order.created_at) };
}

function jsonBody(req) {
  const body = req.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'BODY_REQUIRED', 'expected a JSON object body (Content-Type: application/json)');
  }
  return body;
}

/** An integer query parameter in [min, max], or `fallback` when absent. */
function intQuery(req, name, { min, max, fallback }) {
  const value = req.query[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new HttpError(400, 'INVALID_QUERY', `expected "${name}" to be an integer from ${min} to ${max}`);
  }
  return Number(value);
}

function idParam(req) {
  const { id } = req.params;
  if (!/^[1-9]\d{0,15}$/.test(id) || !Number.isSafeInteger(Number(id))) {
    throw new HttpError(400, 'INVALID_ID', `expected a positive integer id, got ${JSON.stringify(id.slice(0, 40))}`);
  }
  return Number(id);
}

function checkString(value, field, max, { required }) {
  if (value === undefined && !required) return undefined;
  if (value === undefined) throw new HttpError(400, 'MISSING_FIELD', `the "${field}" field is required`);
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > max) {
    throw new HttpError(400, 'INVALID_FIELD', `expected "${field}" to be a non-empty string of at most ${max} characters`);
  }
  return value.trim();
}

/** The user fields of a POST (all required but role) or PATCH (any, at least one) body. */
function userFields(body, { partial }) {
  const known = ['name', 'email', 'role'];
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new HttpError(400, 'UNKNOWN_FIELD', `unknown field(s): ${unknown.join(', ')}`);
  const fields = {};
  const name = checkString(body.name, 'name', MAX_NAME, { required: !partial });
  if (name !== undefined) fields.name = name;
  const email = checkString(body.email, 'email', MAX_EMAIL, { required: !partial });
  if (email !== undefined) {
    if (!EMAIL_RE.test(email)) throw new HttpError(400, 'INVALID_FIELD', 'expected "email" to be an email address');
    fields.email = email;
  }
  if (body.role !== undefined) {
    if (!ROLES.includes(body.role)) throw new HttpError(400, 'INVALID_FIELD', `expected "role" to be one of ${ROLES.join(', ')}`);
    fields.role = body.role;
  } else if (!partial) {
    fields.role = 'member';
  }
  if (partial && Object.keys(fields).length === 0) {
    throw new HttpError(400, 'NO_FIELDS', 'give at least one of "name", "email", "role"');
  }
  return fields;
}

/** The items of an order, merged by product: [{ productId, quantity }]. */
function orderItems(body) {
  const { items } = body;
  if (items === undefined) throw new HttpError(400, 'MISSING_FIELD', 'the "items" field is required');
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_ITEMS) {
    throw new HttpError(400, 'INVALID_FIELD', `expected "items" to be an array of 1 to ${MAX_ITEMS} items`);
  }
  const merged = new Map();
  for (const item of items) {
    const productId = item && item.product_id;
    const quantity = item && item.quantity;
    if (!Number.isSafeInteger(productId) || productId < 1) {
      throw new HttpError(400, 'INVALID_FIELD', 'expected each item\'s "product_id" to be a positive integer');
    }
    if (!Number.isSafeInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
      throw new HttpError(400, 'INVALID_FIELD', `expected each item's "quantity" to be an integer from 1 to ${MAX_QUANTITY}`);
    }
    merged.set(productId, (merged.get(productId) || 0) + quantity);
  }
  const out = [...merged].map(([productId, quantity]) => ({ productId, quantity }));
  if (out.some((i) => i.quantity > MAX_QUANTITY)) {
    throw new HttpError(400, 'INVALID_FIELD', `at most ${MAX_QUANTITY} of one product per order`);
  }
  return out;
}

function isUniqueViolation(err, column) {
  return err && err.code === 'SQLITE_CONSTRAINT_UNIQUE' && err.message.includes(column);
}

function createApiRouter({ registry, store, domain, metrics }) {
  const api = express.Router();
  api.use(tenantResolver({ registry, store, domain, metrics }));
  api.use(requireUser(metrics));
  // Bodies are parsed only once the tenant and the user are known.
  api.use(express.json({ limit: '64kb' }));
  const admin = requireRole('admin');

  api.get('/me', (req, res) => {
    res.json({ tenant: req.tenant, user: formatUser(req.user) });
  });

  api.get('/users', async (req, res) => {
    const limit = intQuery(req, 'limit', { min: 1, max: 100, fallback: 50 });
    const offset = intQuery(req, 'offset', { min: 0, max: 1e9, fallback: 0 });
    const rows = await queries.listUsers(req.db, { limit, offset });
    res.json({ users: rows.map(formatUser), limit, offset });
  });

  api.get('/users/:id', async (req, res) => {
    const row = await queries.getUser(req.db, idParam(req));
    if (row === undefined) throw new HttpError(404, 'USER_NOT_FOUND', 'no user with that id in this tenant');
    res.json(formatUser(row));
  });

  api.post('/users', admin, async (req, res) => {
    const fields = userFields(jsonBody(req), { partial: false });
    const { token, selector, hash } = newToken();
    let row;
    try {
      row = await queries.insertUser(req.db, { ...fields, selector, hash, now: Date.now() });
    } catch (err) {
      if (isUniqueViolation(err, 'email')) throw new HttpError(409, 'EMAIL_TAKEN', 'a user with that email exists in this tenant');
      throw err;
    }
    res.status(201).json({ user: formatUser(row), token });
  });

  api.patch('/users/:id', admin, async (req, res) => {
    const id = idParam(req);
    const fields = userFields(jsonBody(req), { partial: true });
    let row;
    try {
      row = await queries.updateUser(req.db, id, fields, Date.now());
    } catch (err) {
      if (isUniqueViolation(err, 'email')) throw new HttpError(409, 'EMAIL_TAKEN', 'a user with that email exists in this tenant');
      throw err;
    }
    if (row === undefined) throw new HttpError(404, 'USER_NOT_FOUND', 'no user with that id in this tenant');
    res.json(formatUser(row));
  });

  api.delete('/users/:id', admin, async (req, res) => {
    const id = idParam(req);
    if (id === req.user.id) throw new HttpError(409, 'CANNOT_DELETE_SELF', 'you cannot delete your own user');
    if (!(await queries.deleteUser(req.db, id))) throw new HttpError(404, 'USER_NOT_FOUND', 'no user with that id in this tenant');
    res.json({ deleted: id });
  });

  api.get('/products', async (req, res) => {
    res.json({ products: await queries.listProducts(req.db) });
  });

  api.get('/orders', async (req, res) => {
    const limit = intQuery(req, 'limit', { min: 1, max: 100, fallback: 20 });
    const orders = await queries.listOrders(req.db, { limit });
    res.json({ orders: orders.map(formatOrder), limit });
  });

  api.get('/orders/:id', async (req, res) => {
    const order = await queries.getOrder(req.db, idParam(req));
    if (order === undefined) throw new HttpError(404, 'ORDER_NOT_FOUND', 'no order with that id in this tenant');
    res.json(formatOrder(order));
  });

  api.post('/orders', async (req, res) => {
    const body = jsonBody(req);
    const items = orderItems(body);
    const reference = body.reference === undefined || body.reference === null
      ? null
      : checkString(body.reference, 'reference', MAX_REFERENCE, { required: true });
    let order;
    try {
      order = await queries.createOrder(req.db, { userId: req.user.id, reference, items, now: Date.now() });
    } catch (err) {
      if (isUniqueViolation(err, 'reference')) throw new HttpError(409, 'DUPLICATE_REFERENCE', 'an order with that reference exists');
      throw err;
    }
    res.status(201).json(formatOrder({ ...order, user_email: req.user.email }));
  });

  return api;
}

module.exports = { createApiRouter };
