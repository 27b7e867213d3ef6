#!/usr/bin/env node
'use strict';
// `npm pack` / `npm publish` hooks.
//
//   node scripts/pack.js prepack    checks the addon, writes native/ and the LICENSE files
//   node scripts/pack.js postpack   removes what prepack wrote
//
// prepack refuses to pack an addon built in debug (one with DWARF
// .debug_info: `napi build` without --release, 10x the size); the release
// build is `npx napi build --platform --release` (make demo and make package
// do it; make test's debug build goes to target/napi-debug, out of the way).
// It copies LICENSE-MIT and LICENSE-APACHE from the repository root (npm
// packs no symlinks, so they are copies, ignored by git), and puts the Rust
// sources the install-time build needs (scripts/install.js) into native/:
//
// native/pool-core  the core crate as `cargo package -p litepool` packs it
//                   (a standalone manifest, no workspace inheritance)
// native/binding    this package's crate: src/, build.rs, and Cargo.toml with
//                   the workspace's values filled in and litepool pointing at
//                   ../pool-core; plus the workspace's Cargo.lock, so a build
//                   from source gets the dependency versions litepool is
//                   tested with
// native/ and the LICENSE copies are ignored by git and only exist between
// the two hooks.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PKG = path.resolve(__dirname, '..');
const ROOT = path.resolve(PKG, '..');
const NATIVE = path.join(PKG, 'native');

function workspaceTables() {
  const text = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8');
  const tables = {};
  let current = null;
  for (const line of text.split('\n')) {
    const header = /^\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      current = header[1];
      tables[current] = {};
    } else if (current) {
      const kv = /^([A-Za-z0-9_-]+)\s*=\s*(.+?)\s*$/.exec(line);
      if (kv) tables[current][kv[1]] = kv[2];
    }
  }
  return tables;
}

/** bindings-node/Cargo.toml with `x.workspace = true` resolved, standalone. */
function standaloneManifest() {
  const ws = workspaceTables();
  const pkgValues = ws['workspace.package'] || {};
  const depValues = ws['workspace.dependencies'] || {};
  const out = [];
  let section = null;
  for (const line of fs.readFileSync(path.join(PKG, 'Cargo.toml'), 'utf8').split('\n')) {
    const header = /^\[([^\]]+)\]\s*$/.exec(line);
    if (header) section = header[1];
    const inherited = /^([A-Za-z0-9_-]+)\.workspace\s*=\s*true\s*$/.exec(line);
    if (!inherited) {
      out.push(line);
      continue;
    }
    const name = inherited[1];
    if (section === 'package') {
      if (!(name in pkgValues)) throw new Error(`workspace.package has no ${name}`);
      out.push(`${name} = ${pkgValues[name]}`);
    } else if (name === 'litepool') {
      out.push('litepool = { path = "../pool-core" }');
    } else {
      if (!(name in depValues)) throw new Error(`workspace.dependencies has no ${name}`);
      out.push(`${name} = ${depValues[name]}`);
    }
  }
  out.push('', '# Built on its own, outside the litepool workspace.', '[workspace]', '');
  return out.join('\n');
}

function vendor() {
  fs.rmSync(NATIVE, { recursive: true, force: true });
  fs.mkdirSync(path.join(NATIVE, 'binding'), { recursive: true });
  const target = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target');
  execFileSync('cargo', ['package', '-q', '-p', 'litepool', '--no-verify', '--allow-dirty'], { cwd: ROOT, stdio: 'inherit' });
  const crates = fs.readdirSync(path.join(target, 'package')).filter((f) => /^litepool-\d.*\.crate$/.test(f));
  const version = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8')).version;
  const crate = crates.find((f) => f === `litepool-${version}.crate`);
  if (!crate) throw new Error(`cargo package wrote no litepool-${version}.crate (found: ${crates.join(', ') || 'none'})`);
  execFileSync('tar', ['xzf', path.join(target, 'package', crate), '-C', NATIVE]);
  fs.renameSync(path.join(NATIVE, `litepool-${version}`), path.join(NATIVE, 'pool-core'));
  fs.writeFileSync(path.join(NATIVE, 'binding', 'Cargo.toml'), standaloneManifest());
  fs.copyFileSync(path.join(PKG, 'build.rs'), path.join(NATIVE, 'binding', 'build.rs'));
  fs.cpSync(path.join(PKG, 'src'), path.join(NATIVE, 'binding', 'src'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'Cargo.lock'), path.join(NATIVE, 'binding', 'Cargo.lock'));
}

const LICENSES = ['LICENSE-MIT', 'LICENSE-APACHE'];

/** Every addon in the package root must be a release build. */
function checkAddons() {
  const addons = fs.readdirSync(PKG).filter((f) => /^litepool\..+\.node$/.test(f));
  if (addons.length === 0) {
    throw new Error('no litepool.*.node to pack: build it first (npx napi build --platform --release)');
  }
  for (const addon of addons) {
    const sections = execFileSync('readelf', ['-S', '-W', path.join(PKG, addon)], { encoding: 'utf8' });
    if (/\.debug_info\b/.test(sections)) {
      throw new Error(`${addon} is a debug build; rebuild it with: npx napi build --platform --release`);
    }
  }
}

function prepack() {
  checkAddons();
  for (const name of LICENSES) fs.copyFileSync(path.join(ROOT, name), path.join(PKG, name));
  vendor();
}

function postpack() {
  fs.rmSync(NATIVE, { recursive: true, force: true });
  for (const name of LICENSES) fs.rmSync(path.join(PKG, name), { force: true });
}

const command = process.argv[2];
if (command === 'prepack') {
  try {
    prepack();
  } catch (err) {
    postpack();
    console.error(`litepool prepack: ${err.message}`);
    process.exit(1);
  }
} else if (command === 'postpack') {
  postpack();
} else {
  console.error('usage: node scripts/pack.js prepack|postpack');
  process.exit(2);
}
