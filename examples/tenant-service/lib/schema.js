'use strict';
// The schemas: the tenant registry in the main database, and the tables every
// tenant database has. Times are Unix epoch milliseconds; money is integer
// cents. Tenant tables are always named with their schema (`tenant_k001.users`)
// as the design note does: on a shared pool the schema name is what picks the
// tenant's file, so an unqualified name would reach `main` instead.

/** The tenant registry: one row per tenant, its file relative to the main database's directory. */
const REGISTRY_SCHEMA = `
CREATE TABLE IF NOT EXISTS tenants (
  code       TEXT    PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 64 AND code NOT GLOB '*[^a-z0-9_]*'),
  name       TEXT    NOT NULL DEFAULT '',
  file       TEXT    NOT NULL,
  active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at INTEGER NOT NULL
);
`;

/**
 * A tenant database's tables, created under `schema` (`tenant_<code>` on the
 * shared pool, `main` for a file opened on its own). Stock can never go
 * negative (CHECK), so an order that would oversell fails even if the
 * service's own check were wrong.
 */
function tenantSchema(schema) {
  return `
CREATE TABLE IF NOT EXISTS ${schema}.users (
  id             INTEGER PRIMARY KEY,
  name           TEXT    NOT NULL,
  email          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  role           TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
  token_selector TEXT    NOT NULL UNIQUE,
  token_hash     TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ${schema}.products (
  id          INTEGER PRIMARY KEY,
  sku         TEXT    NOT NULL UNIQUE,
  name        TEXT    NOT NULL,
  price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
  stock       INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE TABLE IF NOT EXISTS ${schema}.orders (
  id          INTEGER PRIMARY KEY,
  user_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
  reference   TEXT    UNIQUE,
  total_cents INTEGER NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ${schema}.order_items (
  order_id    INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  product_id  INTEGER NOT NULL REFERENCES products (id),
  quantity    INTEGER NOT NULL CHECK (quantity > 0),
  price_cents INTEGER NOT NULL,
  PRIMARY KEY (order_id, product_id)
);
CREATE INDEX IF NOT EXISTS ${schema}.orders_by_user ON orders (user_id);
`;
}

module.exports = { REGISTRY_SCHEMA, tenantSchema };
