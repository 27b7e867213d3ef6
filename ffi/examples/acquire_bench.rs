//! The Rust half of the C benchmark (`benches/c/run.sh`): acquire + release
//! N times on one thread, straight through the core (`Pool::get` + drop) and
//! through the C ABI functions called from Rust (handle table and panic
//! boundary, without C). Prints `name ns_per_op` lines.
//!
//! Usage: `acquire_bench DB_PATH ITERATIONS`

use std::ffi::CString;
use std::time::Instant;

use litepool::{litepool_acquire, litepool_config, litepool_config_default, litepool_free, litepool_open};
use litepool::{litepool_pool, litepool_release, litepool_result};
use litepool_core::{Pool, PoolConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: acquire_bench DB_PATH ITERATIONS")?;
    let n: u32 = args.next().ok_or("usage: acquire_bench DB_PATH ITERATIONS")?.parse()?;

    let pool = Pool::new(&path, PoolConfig::default().max_size(4).min_idle(1))?;
    for _ in 0..1000 {
        drop(pool.get()?);
    }
    let start = Instant::now();
    for _ in 0..n {
        drop(pool.get()?);
    }
    println!("rust_core {:.1}", start.elapsed().as_nanos() as f64 / f64::from(n));
    drop(pool);

    let mut cfg = std::mem::MaybeUninit::<litepool_config>::uninit();
    // SAFETY: `cfg` is writable memory for one config; config_default fills it.
    let mut cfg = unsafe {
        litepool_config_default(cfg.as_mut_ptr());
        cfg.assume_init()
    };
    cfg.max_size = 4;
    cfg.min_idle = 1;
    let c_path = CString::new(path)?;
    let mut pool: *mut litepool_pool = std::ptr::null_mut();
    // SAFETY: valid NUL-terminated path, a valid config, a writable out pointer.
    let rc = unsafe { litepool_open(c_path.as_ptr(), &cfg, &mut pool) };
    if rc != litepool_result::LITEPOOL_OK {
        return Err(format!("litepool_open: {rc:?}").into());
    }
    let once = || {
        let mut conn = std::ptr::null_mut();
        // SAFETY: `conn` is a writable out pointer.
        let rc = unsafe { litepool_acquire(pool, 0, &mut conn) };
        assert_eq!(rc, litepool_result::LITEPOOL_OK);
        assert_eq!(litepool_release(conn), litepool_result::LITEPOOL_OK);
    };
    for _ in 0..1000 {
        once();
    }
    let start = Instant::now();
    for _ in 0..n {
        once();
    }
    println!("rust_via_c_abi {:.1}", start.elapsed().as_nanos() as f64 / f64::from(n));
    litepool_free(pool);
    Ok(())
}
