'use strict';
// The tenant API's SQL, written once over a small executor interface so the
// same app runs on litepool's shared pool (lib/store.js) and, for the
// benchmark, on other stores (benches/e2e-tenants/):
//
//   db.schema                      the schema the tenant's tables live in
//                                  ('tenant_k001' on the shared pool)
//   db.all(sql, params) -> Promise<rows>
//   db.get(sql, params) -> Promise<row | undefined>
//   db.run(sql, params) -> Promise<{ changes, lastInsertRowid }>
//   db.transaction(fn)  -> Promise<fn's result>: fn(conn) inside a write
//                          transaction (conn has all/get/run), committed when
//                          fn resolves, rolled back when it throws
//
// Each function is one statement (one lease), except createOrder, which is
// one transaction; the isolation test counts on that (lib/../scripts/load.js
// LEASES). Every table name is qualified with db.schema.
const { HttpError } = require('./errors');

const USER_COLUMNS = 'id, name, email, role, created_at, updated_at';

/** The user a token's selector names, with its token hash (for auth only). */
function userBySelector(db, selector) {
  return db.get(`SELECT ${USER_COLUMNS}, token_hash FROM ${db.schema}.users WHERE token_selector = ?`, [selector]);
}

function listUsers(db, { limit, offset }) {
  return db.all(`SELECT ${USER_COLUMNS} FROM ${db.schema}.users ORDER BY id LIMIT ? OFFSET ?`, [limit, offset]);
}

function getUser(db, id) {
  return db.get(`SELECT ${USER_COLUMNS} FROM ${db.schema}.users WHERE id = ?`, [id]);
}

/** Inserts a user; resolves with the new row (one statement: INSERT … RETURNING). */
function insertUser(db, { name, email, role, selector, hash, now }) {
  return db.get(
    `INSERT INTO ${db.schema}.users (name, email, role, token_selector, token_hash, created_at, updated_at) ` +
      `VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${USER_COLUMNS}`,
    [name, email, role, selector, hash, now, now],
  );
}

/** Updates the given fields; resolves with the row, or undefined if there is no such user. */
function updateUser(db, id, fields, now) {
  const names = Object.keys(fields);
  const sets = names.map((n) => `${n} = ?`).join(', ');
  return db.get(
    `UPDATE ${db.schema}.users SET ${sets}, updated_at = ? WHERE id = ? RETURNING ${USER_COLUMNS}`,
    [...names.map((n) => fields[n]), now, id],
  );
}

async function deleteUser(db, id) {
  const { changes } = await db.run(`DELETE FROM ${db.schema}.users WHERE id = ?`, [id]);
  return changes > 0;
}

function listProducts(db) {
  return db.all(`SELECT id, sku, name, price_cents, stock FROM ${db.schema}.products ORDER BY id`, []);
}

// An order with its user's email and its items, as one row (items as JSON).
function orderSelect(schema) {
  return (
    `SELECT o.id, o.reference, o.total_cents, o.created_at, o.user_id, u.email AS user_email, ` +
    `(SELECT json_group_array(json_object('product_id', i.product_id, 'sku', p.sku, 'quantity', i.quantity, 'price_cents', i.price_cents)) ` +
    `FROM ${schema}.order_items i JOIN ${schema}.products p ON p.id = i.product_id WHERE i.order_id = o.id) AS items ` +
    `FROM ${schema}.orders o LEFT JOIN ${schema}.users u ON u.id = o.user_id`
  );
}

function formatOrder(row) {
  return { ...row, items: JSON.parse(row.items) };
}

/** The newest orders (each with its items), newest first. */
async function listOrders(db, { limit }) {
  const rows = await db.all(`${orderSelect(db.schema)} ORDER BY o.id DESC LIMIT ?`, [limit]);
  return rows.map(formatOrder);
}

async function getOrder(db, id) {
  const row = await db.get(`${orderSelect(db.schema)} WHERE o.id = ?`, [id]);
  return row === undefined ? undefined : formatOrder(row);
}

/**
 * Places an order in one write transaction: takes each item's quantity off
 * its product's stock (refusing to oversell), then records the order and its
 * items at the current prices. `items` is [{ productId, quantity }] with
 * distinct products. Throws HttpError 404 PRODUCT_NOT_FOUND or 409
 * OUT_OF_STOCK (the transaction is rolled back: no stock is taken), or
 * SQLite's SQLITE_CONSTRAINT_UNIQUE for a reference already used.
 * Resolves with the order as stored (no second query: the caller answers with it).
 */
function createOrder(db, { userId, reference, items, now }) {
  const s = db.schema;
  return db.transaction(async (conn) => {
    let total = 0;
    const priced = [];
    for (const { productId, quantity } of items) {
      const row = await conn.get(
        `UPDATE ${s}.products SET stock = stock - ? WHERE id = ? AND stock >= ? RETURNING price_cents`,
        [quantity, productId, quantity],
      );
      if (row === undefined) {
        const product = await conn.get(`SELECT stock FROM ${s}.products WHERE id = ?`, [productId]);
        if (product === undefined) throw new HttpError(404, 'PRODUCT_NOT_FOUND', `no product with id ${productId}`);
        throw new HttpError(409, 'OUT_OF_STOCK', `product ${productId} has ${product.stock} in stock, ${quantity} were ordered`);
      }
      total += row.price_cents * quantity;
      priced.push({ productId, quantity, price: row.price_cents });
    }
    const order = await conn.get(
      `INSERT INTO ${s}.orders (user_id, reference, total_cents, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
      [userId, reference, total, now],
    );
    for (const item of priced) {
      await conn.run(
        `INSERT INTO ${s}.order_items (order_id, product_id, quantity, price_cents) VALUES (?, ?, ?, ?)`,
        [order.id, item.productId, item.quantity, item.price],
      );
    }
    return {
      id: order.id,
      reference,
      total_cents: total,
      created_at: now,
      user_id: userId,
      items: priced.map((i) => ({ product_id: i.productId, quantity: i.quantity, price_cents: i.price })),
    };
  });
}

module.exports = {
  userBySelector,
  listUsers,
  getUser,
  insertUser,
  updateUser,
  deleteUser,
  listProducts,
  listOrders,
  getOrder,
  createOrder,
};
