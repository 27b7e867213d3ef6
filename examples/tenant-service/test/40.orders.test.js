'use strict';
// /api/products and /api/orders: an order is one write transaction on the
// tenant's file (stock taken, order and items written, or nothing at all);
// no overselling under concurrency; tenants' writers run side by side.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { loadLitepool } = require('../lib/litepool');
const { startService, stopService, provisionData, removeData, call, usersOf } = require('./helpers');

const { Pool } = loadLitepool();

let data;
let service;
let db; // a pool on the main database with the tenants registered, to check (and set up) what the service wrote
test.before(async () => {
  data = await provisionData({ tenants: 4, users: 2, products: 3, orders: 2, stock: 100 });
  service = await startService(data);
  db = new Pool(data.dbPath, { max: 2, min: 0 });
  for (const code of Object.keys(data.byCode)) db.registerTenant(code, path.join(data.dir, 'tenants', `${code}.db`));
});
test.after(async () => {
  await db.close();
  await stopService(service);
  removeData(data);
});

const as = (code, role = 'member') => ({ tenant: code, token: usersOf(data, code)[role].token });
const stock = async (code, id) => (await db.get(`SELECT stock FROM tenant_${code}.products WHERE id = ?`, [id], { tenant: code })).stock;
const orderCount = async (code) => (await db.get(`SELECT count(*) AS n FROM tenant_${code}.orders`, [], { tenant: code })).n;
const setStock = (code, id, n) => db.run(`UPDATE tenant_${code}.products SET stock = ? WHERE id = ?`, [n, id], { tenant: code });

test('GET /api/products: the tenant\'s catalogue', async () => {
  const res = await call(service, 'GET', '/api/products', as('k001'));
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.products.map((p) => p.sku), ['k001-p1', 'k001-p2', 'k001-p3']);
  for (const p of res.body.products) {
    assert.ok(Number.isInteger(p.price_cents) && p.price_cents >= 100);
    assert.ok(p.stock <= 100);
  }
});

test('POST /api/orders: takes the stock, records the order at current prices, in one transaction', async () => {
  await setStock('k001', 1, 50);
  await setStock('k001', 2, 50);
  const products = (await call(service, 'GET', '/api/products', as('k001'))).body.products;
  const price = (id) => products.find((p) => p.id === id).price_cents;
  const res = await call(service, 'POST', '/api/orders', {
    ...as('k001'),
    body: { reference: 'k001-test-1', items: [{ product_id: 1, quantity: 2 }, { product_id: 2, quantity: 1 }, { product_id: 1, quantity: 1 }] },
  });
  assert.equal(res.status, 201);
  assert.equal(res.body.reference, 'k001-test-1');
  assert.equal(res.body.user_email, usersOf(data, 'k001').member.email);
  assert.equal(res.body.total_cents, 3 * price(1) + price(2));
  assert.deepEqual(res.body.items.map((i) => [i.product_id, i.quantity]), [[1, 3], [2, 1]]);
  assert.equal(await stock('k001', 1), 47);
  assert.equal(await stock('k001', 2), 49);
  const got = await call(service, 'GET', `/api/orders/${res.body.id}`, as('k001', 'admin'));
  assert.equal(got.status, 200);
  assert.deepEqual(got.body.items.map((i) => [i.sku, i.quantity, i.price_cents]), [['k001-p1', 3, price(1)], ['k001-p2', 1, price(2)]]);
  assert.equal(got.body.created_at, res.body.created_at);
  const list = await call(service, 'GET', '/api/orders?limit=1', as('k001'));
  assert.deepEqual(list.body.orders.map((o) => o.id), [res.body.id]);
  // another tenant's order ids are its own
  const k002 = await call(service, 'GET', `/api/orders/${res.body.id}`, as('k002'));
  assert.equal(k002.status, 404);
  assert.equal(k002.body.code, 'ORDER_NOT_FOUND');
});

test('an order that cannot be filled changes nothing: 409 OUT_OF_STOCK, 404 PRODUCT_NOT_FOUND, 409 DUPLICATE_REFERENCE', async () => {
  await setStock('k002', 1, 10);
  await setStock('k002', 2, 1);
  const before = await orderCount('k002');
  const cases = [
    [{ items: [{ product_id: 1, quantity: 5 }, { product_id: 2, quantity: 2 }] }, 409, 'OUT_OF_STOCK'],
    [{ items: [{ product_id: 1, quantity: 5 }, { product_id: 99, quantity: 1 }] }, 404, 'PRODUCT_NOT_FOUND'],
    [{ reference: 'k002-seed-1', items: [{ product_id: 1, quantity: 5 }] }, 409, 'DUPLICATE_REFERENCE'],
  ];
  for (const [body, status, code] of cases) {
    const res = await call(service, 'POST', '/api/orders', { ...as('k002'), body });
    assert.equal(res.status, status, code);
    assert.equal(res.body.code, code);
    // product 1's stock was taken before the failure, and given back by the rollback
    assert.equal(await stock('k002', 1), 10, code);
    assert.equal(await stock('k002', 2), 1, code);
    assert.equal(await orderCount('k002'), before, code);
  }
  assert.match(service.stderr, /SQL error tenant=k002 code=SQLITE_CONSTRAINT_UNIQUE statement="INSERT INTO tenant_k002.orders/);
});

test('bad orders are 400 with the field at fault', async () => {
  const cases = [
    [{}, 'MISSING_FIELD'],
    [{ items: [] }, 'INVALID_FIELD'],
    [{ items: 'all' }, 'INVALID_FIELD'],
    [{ items: Array.from({ length: 51 }, () => ({ product_id: 1, quantity: 1 })) }, 'INVALID_FIELD'],
    [{ items: [{ product_id: 0, quantity: 1 }] }, 'INVALID_FIELD'],
    [{ items: [{ product_id: '1', quantity: 1 }] }, 'INVALID_FIELD'],
    [{ items: [{ product_id: 1, quantity: 0 }] }, 'INVALID_FIELD'],
    [{ items: [{ product_id: 1, quantity: 1.5 }] }, 'INVALID_FIELD'],
    [{ items: [{ product_id: 1, quantity: 600 }, { product_id: 1, quantity: 600 }] }, 'INVALID_FIELD'],
    [{ items: [null] }, 'INVALID_FIELD'],
    [{ reference: '', items: [{ product_id: 1, quantity: 1 }] }, 'INVALID_FIELD'],
    [{ reference: 'r'.repeat(65), items: [{ product_id: 1, quantity: 1 }] }, 'INVALID_FIELD'],
  ];
  for (const [body, code] of cases) {
    const res = await call(service, 'POST', '/api/orders', { ...as('k003'), body });
    assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
    assert.equal(res.body.code, code, JSON.stringify(body).slice(0, 80));
  }
  for (const q of ['limit=0', 'limit=101', 'limit=ten']) {
    assert.equal((await call(service, 'GET', `/api/orders?${q}`, as('k003'))).body.code, 'INVALID_QUERY');
  }
  assert.equal((await call(service, 'GET', '/api/orders/x', as('k003'))).body.code, 'INVALID_ID');
});

test('concurrent orders never oversell: 30 orders for 10 in stock give 10 × 201 and 20 × 409', async () => {
  await setStock('k003', 3, 10);
  const before = await orderCount('k003');
  const results = await Promise.all(
    Array.from({ length: 30 }, () => call(service, 'POST', '/api/orders', { ...as('k003'), body: { items: [{ product_id: 3, quantity: 1 }] } })),
  );
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [...Array(10).fill(201), ...Array(20).fill(409)]);
  assert.equal(await stock('k003', 3), 0);
  assert.equal(await orderCount('k003'), before + 10);
});

test('writers of different tenants run side by side: 4 tenants × 15 concurrent orders, all committed', async () => {
  const codes = ['k001', 'k002', 'k003', 'k004'];
  for (const code of codes) await setStock(code, 2, 1000);
  const before = Object.fromEntries(await Promise.all(codes.map(async (c) => [c, await orderCount(c)])));
  const results = await Promise.all(
    codes.flatMap((code) =>
      Array.from({ length: 15 }, (_, i) =>
        call(service, 'POST', '/api/orders', { ...as(code), body: { reference: `${code}-par-${i}`, items: [{ product_id: 2, quantity: 2 }] } }),
      ),
    ),
  );
  assert.deepEqual([...new Set(results.map((r) => r.status))], [201]);
  for (const code of codes) {
    assert.equal(await orderCount(code), before[code] + 15, code);
    assert.equal(await stock(code, 2), 1000 - 30, code);
  }
  for (const r of results) assert.ok(r.body.reference.startsWith(r.body.user_email.split('@')[1].split('.')[0]));
});
