'use strict';
// knex over node-sqlite3 and over the drop-in (a Client_SQLite3 whose
// _driver() returns it): the same scenario suite passes on both — schema
// building and migrations, CRUD with a join, transactions (commit, rollback,
// savepoints), concurrent requests. Beyond node-sqlite3: a pool with
// max > 1 (knex issue #3176: transactions on one connection collide with
// writes on another and fail with SQLITE_BUSY) works on the drop-in.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { tempDir } = require('../helpers');
const { peer, DRIVERS, concurrently, dropIn } = require('./helpers');

const knexPeer = peer('knex');
const knexFactory = knexPeer.module;

/** Every knex opened: destroyed after the file's tests, so a test that
 * failed before its own destroy() does not leave tarn's reaping interval
 * keeping the process (and `node --test`) alive for good. */
const opened = [];
test.after(() => Promise.all(opened.map((k) => k.destroy().catch(() => {}))));

/** knex on `driver`, with the pool it is given. */
function open(driver, pool = { min: 1, max: 1 }) {
  const Client = require(path.join(__dirname, '..', '..', '.peers', 'node_modules', 'knex', 'lib', 'dialects', 'sqlite3'));
  class Driven extends Client {
    _driver() {
      return driver;
    }
  }
  const knex = knexFactory({
    client: Driven,
    connection: { filename: path.join(tempDir(), 'knex.db') },
    useNullAsDefault: true,
    pool,
  });
  opened.push(knex);
  return knex;
}

const migrations = {
  getMigrations: async () => ['001_accounts', '002_entries'],
  getMigrationName: (m) => m,
  getMigration: async (m) => ({
    '001_accounts': {
      up: (k) => k.schema.createTable('accounts', (t) => {
        t.increments('id');
        t.string('name').notNullable().unique();
        t.integer('balance').notNullable().defaultTo(0);
      }),
      down: (k) => k.schema.dropTable('accounts'),
    },
    '002_entries': {
      up: (k) => k.schema.createTable('entries', (t) => {
        t.increments('id');
        t.integer('account_id').references('accounts.id');
        t.integer('amount');
      }).then(() => k.schema.alterTable('accounts', (t) => t.string('currency').defaultTo('EUR'))),
      down: (k) => k.schema.dropTable('entries'),
    },
  })[m],
};

for (const [name, driver, missing] of DRIVERS) {
  const skip = knexPeer.missing || missing;

  test(`${name}: migrations up and down`, { skip }, async () => {
    const knex = open(driver);
    const [batch, done] = await knex.migrate.latest({ migrationSource: migrations });
    assert.equal(batch, 1);
    assert.deepEqual(done, ['001_accounts', '002_entries']);
    assert.ok(await knex.schema.hasColumn('accounts', 'currency'));
    await knex.migrate.rollback({ migrationSource: migrations });
    assert.ok(!(await knex.schema.hasTable('entries')));
    assert.ok(!(await knex.schema.hasTable('accounts')));
    await knex.destroy();
  });

  test(`${name}: CRUD, a join, a unique violation`, { skip }, async () => {
    const knex = open(driver);
    await knex.migrate.latest({ migrationSource: migrations });
    const [id] = await knex('accounts').insert({ name: 'ada', balance: 5 });
    await knex('entries').insert([{ account_id: id, amount: 2 }, { account_id: id, amount: 3 }]);
    const rows = await knex('accounts').join('entries', 'accounts.id', 'entries.account_id')
      .select('accounts.name').sum('entries.amount as total').groupBy('accounts.name');
    assert.deepEqual(rows, [{ name: 'ada', total: 5 }]);
    assert.equal(await knex('accounts').where({ id }).update({ balance: 9 }), 1);
    assert.equal((await knex('accounts').where({ id }).first()).balance, 9);
    await assert.rejects(knex('accounts').insert({ name: 'ada' }), { code: 'SQLITE_CONSTRAINT' });
    assert.equal(await knex('entries').where('amount', '<', 3).del(), 1);
    const [{ n }] = await knex('entries').count('* as n');
    assert.equal(n, 1);
    await knex.destroy();
  });

  test(`${name}: transactions commit, roll back, and nest as savepoints`, { skip }, async () => {
    const knex = open(driver);
    await knex.migrate.latest({ migrationSource: migrations });
    await knex.transaction(async (trx) => {
      await trx('accounts').insert({ name: 'kept' });
      await assert.rejects(trx.transaction(async (inner) => {
        await inner('accounts').insert({ name: 'inner' });
        throw new Error('inner rolls back');
      }), /inner rolls back/);
    });
    await assert.rejects(knex.transaction(async (trx) => {
      await trx('accounts').insert({ name: 'dropped' });
      throw new Error('rolls back');
    }), /rolls back/);
    const trx = await knex.transaction();
    await trx('accounts').insert({ name: 'manual' });
    await trx.rollback();
    assert.deepEqual((await knex('accounts').select('name')).map((r) => r.name), ['kept']);
    await knex.destroy();
  });

  test(`${name}: 40 concurrent requests`, { skip }, async () => {
    const knex = open(driver);
    await knex.migrate.latest({ migrationSource: migrations });
    await knex('accounts').insert({ name: 'hot' });
    const { failures, messages } = await concurrently(40, async (i) => {
      if (i % 2) await knex('accounts').where({ name: 'hot' }).increment('balance', 1);
      else await knex('accounts').select();
    });
    assert.equal(failures, 0, messages.join('; '));
    assert.equal((await knex('accounts').where({ name: 'hot' }).first()).balance, 20);
    await knex.destroy();
  });

  // knex issue #3176: with pool.max > 1 each pooled connection is its own
  // node-sqlite3 Database; a transaction (knex's BEGIN is deferred) that
  // reads then writes collides with writers on the other connections.
  test(`${name}: pool.max 5, 40 concurrent read-modify-write transactions and writes (knex #3176)`, { skip }, async (t) => {
    const knex = open(driver, { min: 1, max: 5 });
    await knex.migrate.latest({ migrationSource: migrations });
    await knex('accounts').insert({ name: 'hot' });
    const { failures, messages } = await concurrently(40, async (i) => {
      if (i % 4 === 3) return knex('accounts').where({ name: 'hot' }).increment('balance', 1);
      return knex.transaction(async (trx) => {
        const row = await trx('accounts').where({ name: 'hot' }).first();
        await trx('accounts').where({ name: 'hot' }).update({ balance: row.balance + 1 });
      });
    });
    // node-sqlite3's own read here can still fail with SQLITE_BUSY (a
    // connection of its pool left holding a lock): recorded, not fatal, for
    // the peer.
    let balance;
    try {
      balance = (await knex('accounts').where({ name: 'hot' }).first()).balance;
    } catch (e) {
      if (driver === dropIn) throw e;
      balance = `unreadable (${e.code})`;
    }
    t.diagnostic(`${name}: ${failures} of 40 failed (${messages.join('; ') || 'none'}), balance ${balance} (expected ${40 - failures})`);
    await knex.destroy();
    if (driver === dropIn) {
      assert.equal(failures, 0, messages.join('; '));
      assert.equal(balance, 40, 'no lost update');
    }
  });
}
