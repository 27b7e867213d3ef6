#!/usr/bin/env node
'use strict';
// Creates tenant databases and registers them in the tenant registry:
//
//   node scripts/provision.js --db data/main.db --tenants 200 \
//        [--users 5] [--products 8] [--orders 3] [--stock 1000000] \
//        [--prefix k] [--start 1] [--inactive k007,k013] [--tokens FILE]
//
// For each tenant <code> (k001, k002, … from --prefix and --start) it writes
// tenants/<code>.db next to the main database with the service's tables
// (lib/schema.js): --users users (the first is the tenant's admin, the others
// members; emails user<i>@<code>.example.test), --products products (SKUs
// <code>-p<i>, --stock each), --orders orders (references <code>-seed-<i>).
// Then it adds the tenant to the registry table (`tenants`) of the main
// database, active unless listed in --inactive.
//
// Every user gets a fresh random API token. Tokens are stored hashed; the
// only copy of each token is the tokens file (default: tokens.json next to
// the main database, mode 0600), which the demo, the load generator and the
// tests read. They are demo tokens: treat the file as a secret all the same.
//
// It refuses codes already in the registry and tenant files that exist: it
// never overwrites a tenant. It goes through litepool's Node Pool itself:
// one pool on the main database with every new tenant registered, as the
// service does.
const fs = require('node:fs');
const path = require('node:path');
const { loadLitepool } = require('../lib/litepool');
const { REGISTRY_SCHEMA, tenantSchema } = require('../lib/schema');
const { newToken } = require('../lib/tokens');
const { CODE_RE } = require('../lib/registry');
const { writeTransaction } = require('../lib/store');

const DEFAULTS = { tenants: 10, users: 5, products: 8, orders: 3, stock: 1_000_000, prefix: 'k', start: 1, inactive: [] };

function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  const ints = { '--tenants': 'tenants', '--users': 'users', '--products': 'products', '--orders': 'orders', '--stock': 'stock', '--start': 'start' };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      i += 1;
      if (i >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[i];
    };
    if (ints[arg]) {
      const v = value();
      if (!/^\d+$/.test(v)) throw new Error(`${arg} must be a non-negative integer, got ${JSON.stringify(v)}`);
      opts[ints[arg]] = Number(v);
    } else if (arg === '--db') opts.dbPath = value();
    else if (arg === '--prefix') opts.prefix = value();
    else if (arg === '--inactive') opts.inactive = value().split(',').filter(Boolean);
    else if (arg === '--tokens') opts.tokensPath = value();
    else if (arg === '--quiet') opts.quiet = true;
    else throw new Error(`unknown argument ${arg} (see the comment at the top of scripts/provision.js)`);
  }
  if (!opts.dbPath) throw new Error('--db is required (the main database, e.g. data/main.db)');
  return opts;
}

/** The tenant codes: prefix + a number padded to at least 3 digits. */
function tenantCodes({ prefix, start, tenants }) {
  const width = Math.max(3, String(start + tenants - 1).length);
  return Array.from({ length: tenants }, (_, i) => `${prefix}${String(start + i).padStart(width, '0')}`);
}

function validate(opts, codes) {
  if (opts.tenants < 1 || opts.tenants > 100000) throw new Error('--tenants must be from 1 to 100000');
  if (opts.users < 1) throw new Error('--users must be at least 1 (the tenant admin)');
  if (opts.products < 1) throw new Error('--products must be at least 1');
  for (const code of codes) {
    if (!CODE_RE.test(code)) throw new Error(`${JSON.stringify(code)} is not a tenant code ([a-z0-9_]{1,64}): check --prefix`);
  }
  const unknown = opts.inactive.filter((c) => !codes.includes(c));
  if (unknown.length > 0) throw new Error(`--inactive names tenants not being provisioned: ${unknown.join(', ')}`);
}

/** Random integer in [lo, hi]. */
function rand(lo, hi) {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

/** Writes one tenant's tables and rows in one transaction; resolves with its users (tokens included). */
async function fillTenant(pool, code, opts) {
  const schema = `tenant_${code}`;
  const now = Date.now();
  // lib/store.js says why not pool.transaction(): BEGIN IMMEDIATE locks every attached database.
  return writeTransaction(pool, code, async (conn) => {
    await conn.exec(tenantSchema(schema));
    const users = [];
    for (let i = 1; i <= opts.users; i += 1) {
      const { token, selector, hash } = newToken();
      const role = i === 1 ? 'admin' : 'member';
      const email = i === 1 ? `admin@${code}.example.test` : `user${i}@${code}.example.test`;
      const name = i === 1 ? `Admin of ${code}` : `User ${i} of ${code}`;
      const { lastInsertRowid } = await conn.run(
        `INSERT INTO ${schema}.users (name, email, role, token_selector, token_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [name, email, role, selector, hash, now, now],
      );
      users.push({ id: Number(lastInsertRowid), email, role, token });
    }
    const prices = [];
    for (let i = 1; i <= opts.products; i += 1) {
      const price = rand(100, 10000);
      prices.push(price);
      await conn.run(`INSERT INTO ${schema}.products (sku, name, price_cents, stock) VALUES (?, ?, ?, ?)`, [
        `${code}-p${i}`,
        `Product ${i} of ${code}`,
        price,
        opts.stock,
      ]);
    }
    for (let i = 1; i <= opts.orders; i += 1) {
      const productId = rand(1, opts.products);
      const quantity = rand(1, 3);
      if (opts.stock < quantity) break;
      const order = await conn.get(
        `INSERT INTO ${schema}.orders (user_id, reference, total_cents, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
        [users[rand(0, users.length - 1)].id, `${code}-seed-${i}`, prices[productId - 1] * quantity, now],
      );
      await conn.run(`INSERT INTO ${schema}.order_items (order_id, product_id, quantity, price_cents) VALUES (?, ?, ?, ?)`, [
        order.id,
        productId,
        quantity,
        prices[productId - 1],
      ]);
      await conn.run(`UPDATE ${schema}.products SET stock = stock - ? WHERE id = ?`, [quantity, productId]);
    }
    return users;
  });
}

/**
 * Provisions the tenants `opts` describes (see parseArgs for the fields;
 * `dbPath` is required). Resolves with `{ tokensPath, tenants }`, where
 * tenants is what the tokens file holds.
 */
async function provision(options) {
  const opts = { ...DEFAULTS, ...options };
  const codes = tenantCodes(opts);
  validate(opts, codes);
  const dbPath = path.resolve(opts.dbPath);
  const dataDir = path.dirname(dbPath);
  const tokensPath = path.resolve(opts.tokensPath || path.join(dataDir, 'tokens.json'));
  fs.mkdirSync(path.join(dataDir, 'tenants'), { recursive: true });
  const { Pool } = loadLitepool();
  const pool = new Pool(dbPath, { max: 4, min: 0, name: 'provision' });
  try {
    await pool.exec(REGISTRY_SCHEMA);
    const taken = new Set((await pool.query('SELECT code FROM tenants', [])).map((r) => r.code));
    const clash = codes.filter((c) => taken.has(c));
    if (clash.length > 0) {
      throw new Error(`tenant ${clash[0]} is already in the registry of ${dbPath} (${clash.length} clash); use --start or --prefix for new codes`);
    }
    const files = codes.map((code) => path.join('tenants', `${code}.db`));
    const existing = files.find((f) => fs.existsSync(path.join(dataDir, f)));
    if (existing !== undefined) throw new Error(`${path.join(dataDir, existing)} exists: refusing to overwrite a tenant database`);

    const result = [];
    let next = 0;
    // Four at a time: writers of different tenants take different write gates.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < codes.length) {
          const i = next;
          next += 1;
          const code = codes[i];
          pool.registerTenant(code, path.join(dataDir, files[i]));
          const users = await fillTenant(pool, code, opts);
          result[i] = { code, active: !opts.inactive.includes(code), products: opts.products, users };
        }
      }),
    );
    const now = Date.now();
    await writeTransaction(pool, null, async (conn) => {
      for (let i = 0; i < codes.length; i += 1) {
        await conn.run('INSERT INTO tenants (code, name, file, active, created_at) VALUES (?, ?, ?, ?, ?)', [
          codes[i],
          `Tenant ${codes[i]}`,
          files[i],
          result[i].active ? 1 : 0,
          now,
        ]);
      }
    });
    // Merge with the tokens of an earlier run on the same registry (--start for more tenants).
    let previous = [];
    if (fs.existsSync(tokensPath)) {
      try {
        previous = JSON.parse(fs.readFileSync(tokensPath, 'utf8')).tenants || [];
      } catch {
        previous = [];
      }
    }
    const tenants = [...previous.filter((t) => !codes.includes(t.code)), ...result];
    const body = {
      note: 'Demo API tokens made by scripts/provision.js; the databases hold only their hashes.',
      tenants,
    };
    fs.writeFileSync(tokensPath, `${JSON.stringify(body, null, 1)}\n`, { mode: 0o600 });
    fs.chmodSync(tokensPath, 0o600);
    return { tokensPath, tenants };
  } finally {
    await pool.close();
  }
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`provision: ${err.message}`);
    process.exit(2);
  }
  const started = Date.now();
  try {
    const { tokensPath } = await provision(opts);
    if (!opts.quiet) {
      const codes = tenantCodes(opts);
      console.log(
        `provision: ${codes.length} tenants (${codes[0]}..${codes[codes.length - 1]}; ${opts.inactive.length} inactive), ` +
          `${opts.users} users, ${opts.products} products and ${opts.orders} orders each, in ${Date.now() - started} ms`,
      );
      console.log(`provision: registry ${path.resolve(opts.dbPath)}, tokens ${tokensPath}`);
    }
  } catch (err) {
    console.error(`provision: ${err.code ? `${err.code}: ` : ''}${err.message}`);
    process.exit(1);
  }
}

if (require.main === module) {
  main();
}

module.exports = { provision, tenantCodes, parseArgs };
