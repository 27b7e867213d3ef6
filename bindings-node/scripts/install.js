#!/usr/bin/env node
'use strict';
// npm's `install` hook for the litepool package: makes sure
// `require('litepool')` finds a native addon on this machine.
//
//   1. Run by `npm ci` / `npm install` inside bindings-node itself (a
//      litepool checkout): does nothing. Developers build explicitly
//      (`npx napi build --platform --release`, or `make test` / `make demo`).
//   2. The prebuilt addon shipped in the package loads: done. The package
//      ships litepool.linux-x64-gnu.node (glibc Linux on x86-64).
//   3. Otherwise (another platform, or a prebuilt addon that does not load,
//      e.g. an older glibc), builds it from source with cargo, in release:
//      from LITEPOOL_SOURCE_DIR when set (a litepool checkout), from the
//      checkout the package sits in (`npm install /path/to/litepool/
//      bindings-node`), else from the Rust sources shipped in the package's
//      native/ directory (the core crate and the binding, put there by
//      `npm pack`). Needs Rust (cargo,
//      https://rustup.rs) and the SQLite headers (Debian: libsqlite3-dev);
//      cargo fetches the crates from crates.io. A first build takes a few
//      minutes. The result is copied to litepool.<platform>.node beside
//      index.js, where the loader looks.
//
// Environment: LITEPOOL_SKIP_BUILD=1 skips step 3 (the install succeeds and
// require() fails later, saying what is missing); LITEPOOL_SOURCE_DIR; and
// CARGO_TARGET_DIR (default: native/target, or the checkout's target/).
// Exits non-zero with a message saying what to do when the build fails.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PKG = path.resolve(__dirname, '..');

function log(message) {
  console.log(`litepool: ${message}`);
}

function fail(message) {
  console.error(`litepool: ${message}`);
  process.exit(1);
}

/** The `<platform>` part of the file name the loader (index.js) requires. */
function platformSuffix() {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
    const glibc = Boolean(report && report.header && report.header.glibcVersionRuntime);
    if (arch === 'arm') return glibc ? 'linux-arm-gnueabihf' : 'linux-arm-musleabihf';
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  if (platform === 'android' && arch === 'arm') return 'android-arm-eabi';
  return `${platform}-${arch}`;
}

/** Whether the package's loader finds a working addon, tried in a fresh process. */
function addonLoads() {
  const env = { ...process.env };
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH;
  const script = `try { require(${JSON.stringify(path.join(PKG, 'index.js'))}); } catch (err) {
    process.stderr.write(String(err && err.message).split('\\n')[0]); process.exit(1); }`;
  const probe = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  return { ok: probe.status === 0, error: (probe.stderr || '').trim() };
}

/** The crate to build: LITEPOOL_SOURCE_DIR's bindings-node, or native/binding. */
function sourceManifest() {
  if (process.env.LITEPOOL_SOURCE_DIR) {
    const manifest = path.join(path.resolve(process.env.LITEPOOL_SOURCE_DIR), 'bindings-node', 'Cargo.toml');
    if (!fs.existsSync(manifest)) fail(`LITEPOOL_SOURCE_DIR has no bindings-node/Cargo.toml (looked for ${manifest})`);
    return { manifest, targetDir: path.join(path.resolve(process.env.LITEPOOL_SOURCE_DIR), 'target') };
  }
  // A litepool checkout (`npm install /path/to/litepool/bindings-node`).
  const checkout = path.resolve(PKG, '..');
  if (fs.existsSync(path.join(PKG, 'Cargo.toml')) && fs.existsSync(path.join(checkout, 'pool-core', 'Cargo.toml'))) {
    return { manifest: path.join(PKG, 'Cargo.toml'), targetDir: path.join(checkout, 'target') };
  }
  const manifest = path.join(PKG, 'native', 'binding', 'Cargo.toml');
  if (!fs.existsSync(manifest)) {
    fail(
      `no Rust sources to build from (${manifest} is missing). ` +
        'Set LITEPOOL_SOURCE_DIR to a litepool checkout, or build there: ' +
        'cd bindings-node && npm ci && npx napi build --platform --release',
    );
  }
  return { manifest, targetDir: path.join(PKG, 'native', 'target') };
}

function libraryFileName() {
  if (process.platform === 'win32') return 'litepool_node.dll';
  if (process.platform === 'darwin') return 'liblitepool_node.dylib';
  return 'liblitepool_node.so';
}

function buildFromSource(reason) {
  if (process.env.LITEPOOL_SKIP_BUILD === '1') {
    log(`no usable prebuilt addon (${reason}); LITEPOOL_SKIP_BUILD=1, not building one`);
    return;
  }
  const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
  if (cargo.status !== 0) {
    fail(
      `no usable prebuilt addon (${reason}), and cargo is not on PATH to build one. ` +
        'Install Rust (https://rustup.rs) and the SQLite headers (Debian: apt-get install libsqlite3-dev), ' +
        'then reinstall; or set LITEPOOL_SKIP_BUILD=1 to install without the addon.',
    );
  }
  const { manifest, targetDir } = sourceManifest();
  const target = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : targetDir;
  log(`no usable prebuilt addon (${reason}); building it from source (cargo build --release)`);
  const build = spawnSync('cargo', ['build', '--release', '--manifest-path', manifest], {
    stdio: 'inherit',
    env: { ...process.env, CARGO_TARGET_DIR: target },
  });
  if (build.status !== 0) {
    fail(
      `cargo build failed (exit ${build.status}). It needs the SQLite headers (Debian: apt-get install libsqlite3-dev) ` +
        'and network access to crates.io.',
    );
  }
  const built = path.join(target, 'release', libraryFileName());
  const dest = path.join(PKG, `litepool.${platformSuffix()}.node`);
  fs.copyFileSync(built, dest);
  const after = addonLoads();
  if (!after.ok) fail(`built ${dest}, but it does not load: ${after.error}`);
  log(`built ${path.basename(dest)}`);
}

function main() {
  // npm sets INIT_CWD to where npm was run: the package's own directory
  // means a developer's `npm ci` in bindings-node, not an install as a dependency.
  if (process.env.INIT_CWD && path.resolve(process.env.INIT_CWD) === PKG) return;
  const loaded = addonLoads();
  if (loaded.ok) return;
  const file = `litepool.${platformSuffix()}.node`;
  buildFromSource(fs.existsSync(path.join(PKG, file)) ? `${file} does not load: ${loaded.error}` : `no ${file} in the package`);
}

main();
