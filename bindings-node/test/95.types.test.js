'use strict';
// The package's types resolve and check, for `litepool` and
// `litepool/sqlite3`, under moduleResolution node10 (typesVersions),
// node16 and bundler, with strict on: the events, the logger option, the
// typed acquire mode, the drop-in's callbacks and `this`.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { tempDir } = require('./helpers');

const peers = path.join(__dirname, '..', '.peers', 'node_modules');
let tsc = null;
let missing = false;
try {
  tsc = require.resolve(path.join(peers, 'typescript', 'bin', 'tsc'));
  require.resolve(path.join(peers, '@types', 'node', 'package.json'));
} catch (err) {
  missing = `typescript and @types/node could not be loaded from bindings-node/.peers (${err.message.split('\n')[0]}); run bindings-node/run-tests.sh to install them`;
}

const SOURCE = `
import { Pool, AcquireOptions, PoolEventMap } from 'litepool';
import * as sqlite3 from 'litepool/sqlite3';

const pool = new Pool(':memory:', { max: 2, logger: (message: string) => console.log(message) });
const quiet = Pool.fromEnv(':memory:', { logger: false });
pool.on('leak', (info) => console.log(info.site, info.heldMillis));
pool.on('timeout', ({ state }) => console.log(state.waiting));
pool.on('close', ({ reason }) => { const r: 'idle' | 'lifetime' | 'broken' | 'dirty' | 'poolClosed' | 'evicted' = reason; void r; });
const mode: AcquireOptions['mode'] = 'write';
const opts: AcquireOptions = { mode };
const event: keyof PoolEventMap = 'acquire';
void opts; void event; void quiet;

const immediate: boolean = sqlite3.immediateTransactions;
void immediate;
const db = new sqlite3.Database(':memory:', sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE, function (err) { if (err) throw err; console.log(this.filename); });
db.run('INSERT INTO t VALUES (?)', 1, function (err) { if (!err) console.log(this.lastID, this.changes); });
db.get<{ x: number }>('SELECT 1 AS x', function (err, row) { console.log(row?.x, this.sql); });
db.each('SELECT 1', (err, row) => console.log(row), (err, count) => console.log(count));
db.on('trace', (sql) => console.log(sql.length));
db.on('change', (type, database, table, rowid) => console.log(type, database, table, rowid));
db.configure('busyTimeout', 100).configure('limit', sqlite3.LIMIT_LENGTH, 1000);
const stmt: sqlite3.Statement = db.prepare('SELECT ?', 1);
const back: sqlite3.Database = stmt.finalize();
const backup: sqlite3.Backup = db.backup('copy.db');
backup.step(-1, function (err, done) { console.log(done, this.remaining, this.pageCount); });
void back;
`;

for (const resolution of ['node10', 'node16', 'bundler']) {
  test(`types check under moduleResolution ${resolution}`, { skip: missing }, () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
    fs.symlinkSync(path.join(__dirname, '..'), path.join(dir, 'node_modules', 'litepool'));
    fs.symlinkSync(path.join(peers, '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'));
    fs.writeFileSync(path.join(dir, 'main.ts'), SOURCE);
    const module = { node10: 'commonjs', node16: 'node16', bundler: 'esnext' }[resolution];
    try {
      execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', module, '--moduleResolution', resolution, '--types', 'node', 'main.ts'], { cwd: dir, stdio: 'pipe' });
    } catch (err) {
      assert.fail(`tsc reported:\n${err.stdout}${err.stderr}`);
    }
  });
}
