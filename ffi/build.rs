//! Gives liblitepool.so an ELF SONAME, `liblitepool.so.<major>`
//! (`liblitepool.so.0` for 0.x), so a program records the ABI it was linked
//! against rather than the unversioned development name. `make install`
//! (scripts/install.sh) installs the file as `liblitepool.so.<version>` with
//! the symlinks `liblitepool.so.<major>` (the name the loader looks up) and
//! `liblitepool.so` (the name `-llitepool` finds at link time).
//!
//! A program linked against cargo's output directory (`-L target/debug
//! -Wl,-rpath,target/debug`, as the C tests, the examples and the benchmarks
//! do) asks the loader for `liblitepool.so.0` too, so this script also puts a
//! relative symlink `liblitepool.so.0 -> liblitepool.so` into that directory
//! (`target[/<triple>]/<profile>/`). It is the one file written outside
//! OUT_DIR; nothing else depends on it.
//!
//! Only for ELF targets: macOS (`-install_name`) and Windows have their own
//! conventions.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let elf = matches!(os.as_str(), "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos");
    if !elf {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
    let soname = format!("liblitepool.so.{major}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    if let Some(dir) = std::env::var_os("OUT_DIR").and_then(|out| profile_dir(Path::new(&out))) {
        link_soname(&dir, &soname);
    }
}

/// `target[/<triple>]/<profile>` from `OUT_DIR`, which cargo lays out as
/// `<profile>/build/litepool-ffi-<hash>/out`; `None` for any other layout.
fn profile_dir(out_dir: &Path) -> Option<PathBuf> {
    let build = out_dir.parent()?.parent()?;
    (build.file_name()? == "build").then(|| build.parent().map(Path::to_path_buf)).flatten()
}

#[cfg(unix)]
fn link_soname(dir: &Path, soname: &str) {
    let link = dir.join(soname);
    if std::fs::symlink_metadata(&link).is_err() {
        // Dangling until cargo links liblitepool.so beside it; a failure
        // (a read-only directory) only costs the convenience.
        if let Err(err) = std::os::unix::fs::symlink("liblitepool.so", &link) {
            println!("cargo:warning=could not create {}: {err}", link.display());
        }
    }
}

#[cfg(not(unix))]
fn link_soname(_dir: &Path, _soname: &str) {}
