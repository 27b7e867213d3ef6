'use strict';
// Sequelize 6 over node-sqlite3 and over the drop-in (passed as
// `dialectModule`): the same scenario suite passes on both — models with
// associations, CRUD, a unique violation, managed and unmanaged
// transactions with rollback, concurrent requests, migrations through the
// query interface. Beyond node-sqlite3: concurrent read-modify-write
// transactions, which node-sqlite3 fails with SQLITE_BUSY, run on the
// drop-in with no error and no lost update, 20 and 200 at once.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { tempDir } = require('../helpers');
const { peer, DRIVERS, concurrently } = require('./helpers');

const sequelizePeer = peer('sequelize');
const { Sequelize, DataTypes, Transaction } = sequelizePeer.module || {};

/** Every Sequelize opened: closed after the file's tests, so a test that
 * failed before its own close() leaves no pool timer keeping the process
 * (and `node --test`) alive. */
const opened = [];
test.after(() => Promise.all(opened.map((s) => s.close().catch(() => {}))));

async function open(driver) {
  const sequelize = new Sequelize({
    dialect: 'sqlite',
    storage: path.join(tempDir(), 'orm.db'),
    dialectModule: driver,
    logging: false,
  });
  opened.push(sequelize);
  const User = sequelize.define('User', {
    name: { type: DataTypes.STRING, unique: true, allowNull: false },
    quota: { type: DataTypes.INTEGER, defaultValue: 0 },
  });
  const Post = sequelize.define('Post', { title: DataTypes.STRING });
  User.hasMany(Post);
  Post.belongsTo(User);
  await sequelize.sync();
  return { sequelize, User, Post };
}

for (const [name, driver, missing] of DRIVERS) {
  const skip = sequelizePeer.missing || missing;

  test(`${name}: CRUD with associations`, { skip }, async () => {
    const { sequelize, User, Post } = await open(driver);
    const ada = await User.create({ name: 'ada', quota: 3 });
    await Post.bulkCreate([{ title: 'one', UserId: ada.id }, { title: 'two', UserId: ada.id }]);
    const found = await User.findOne({ where: { name: 'ada' }, include: Post, order: [[Post, 'id', 'ASC']] });
    assert.deepEqual(found.Posts.map((p) => p.title), ['one', 'two']);
    await found.update({ quota: 4 });
    assert.equal((await User.findByPk(ada.id)).quota, 4);
    assert.equal(await Post.count({ where: { UserId: ada.id } }), 2);
    await Post.destroy({ where: { title: 'one' } });
    assert.deepEqual((await Post.findAll()).map((p) => p.title), ['two']);
    const [affected] = await User.update({ quota: 10 }, { where: {} });
    assert.equal(affected, 1);
    await sequelize.close();
  });

  test(`${name}: a unique violation is a SequelizeUniqueConstraintError`, { skip }, async () => {
    const { sequelize, User } = await open(driver);
    await User.create({ name: 'bob' });
    await assert.rejects(User.create({ name: 'bob' }), (err) => {
      assert.equal(err.name, 'SequelizeUniqueConstraintError');
      assert.equal(err.parent.code, 'SQLITE_CONSTRAINT');
      return true;
    });
    await assert.rejects(User.create({}), { name: 'SequelizeValidationError' });
    await sequelize.close();
  });

  test(`${name}: managed transactions commit, and roll back on a throw`, { skip }, async () => {
    const { sequelize, User } = await open(driver);
    await sequelize.transaction(async (t) => {
      await User.create({ name: 'c1' }, { transaction: t });
      await User.create({ name: 'c2' }, { transaction: t });
    });
    await assert.rejects(sequelize.transaction(async (t) => {
      await User.create({ name: 'r1' }, { transaction: t });
      throw new Error('roll back');
    }), /roll back/);
    await assert.rejects(sequelize.transaction(async (t) => {
      await User.create({ name: 'r2' }, { transaction: t });
      await User.create({ name: 'c1' }, { transaction: t }); // unique violation
    }), { name: 'SequelizeUniqueConstraintError' });
    assert.deepEqual((await User.findAll({ order: [['name', 'ASC']] })).map((u) => u.name), ['c1', 'c2']);
    await sequelize.close();
  });

  test(`${name}: unmanaged transactions, commit and rollback`, { skip }, async () => {
    const { sequelize, User } = await open(driver);
    const t1 = await sequelize.transaction();
    await User.create({ name: 'kept' }, { transaction: t1 });
    assert.equal(await User.count({ where: { name: 'kept' }, transaction: t1 }), 1);
    await t1.commit();
    const t2 = await sequelize.transaction({ type: Transaction.TYPES.IMMEDIATE });
    await User.create({ name: 'dropped' }, { transaction: t2 });
    await t2.rollback();
    assert.deepEqual((await User.findAll()).map((u) => u.name), ['kept']);
    await sequelize.close();
  });

  test(`${name}: 30 concurrent requests without transactions`, { skip }, async () => {
    const { sequelize, User } = await open(driver);
    await User.create({ name: 'hot', quota: 0 });
    const { failures, messages } = await concurrently(30, async (i) => {
      if (i % 3 === 0) await User.create({ name: `u${i}` });
      else if (i % 3 === 1) await User.increment('quota', { by: 1, where: { name: 'hot' } });
      else await User.findAll();
    });
    assert.equal(failures, 0, messages.join('; '));
    assert.equal((await User.findOne({ where: { name: 'hot' } })).quota, 10);
    await sequelize.close();
  });

  test(`${name}: migrations through the query interface`, { skip }, async () => {
    const { sequelize } = await open(driver);
    const qi = sequelize.getQueryInterface();
    await qi.createTable('Tenants', {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      code: { type: DataTypes.STRING, allowNull: false },
    });
    await qi.addColumn('Tenants', 'plan', { type: DataTypes.STRING, defaultValue: 'free' });
    await qi.addIndex('Tenants', ['code'], { unique: true, name: 'tenants_code' });
    await qi.bulkInsert('Tenants', [{ code: 'a', plan: 'free' }, { code: 'b', plan: 'pro' }]);
    await qi.renameColumn('Tenants', 'plan', 'tier');
    await qi.changeColumn('Tenants', 'tier', { type: DataTypes.STRING, allowNull: false, defaultValue: 'free' });
    const columns = await qi.describeTable('Tenants');
    assert.deepEqual(Object.keys(columns).sort(), ['code', 'id', 'tier']);
    const [rows] = await sequelize.query('SELECT code, tier FROM Tenants ORDER BY code');
    assert.deepEqual(rows, [{ code: 'a', tier: 'free' }, { code: 'b', tier: 'pro' }]);
    await qi.removeColumn('Tenants', 'tier');
    await qi.dropTable('Tenants');
    assert.ok(!(await qi.showAllTables()).includes('Tenants'));
    await sequelize.close();
  });

  for (const n of [20, 200]) {
    test(`${name}: ${n} concurrent read-modify-write transactions`, { skip }, async (t) => {
      const { sequelize, User } = await open(driver);
      await User.create({ name: 'counter', quota: 0 });
      const start = Date.now();
      const { failures, messages } = await concurrently(n, () => sequelize.transaction(async (tx) => {
        const u = await User.findOne({ where: { name: 'counter' }, transaction: tx });
        await u.update({ quota: u.quota + 1 }, { transaction: tx });
      }));
      const quota = (await User.findOne({ where: { name: 'counter' } })).quota;
      const lost = n - failures - quota;
      t.diagnostic(`${name}: ${n} transactions, ${failures} failed (${messages.join('; ') || 'none'}), ${lost} lost updates, final quota ${quota}, ${Date.now() - start} ms`);
      await sequelize.close();
      if (driver === require('../../lib/sqlite3')) {
        assert.equal(failures, 0, messages.join('; '));
        assert.equal(quota, n, 'no lost update');
      }
    });
  }
}
