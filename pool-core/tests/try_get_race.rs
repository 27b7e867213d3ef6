//! Regression: `try_get()` opening a connection used to count it in
//! `pending`, which the housekeeper reads as "open one for me"; it then
//! opened a second one (total above max_size) and `try_get` underflowed
//! `pending` (a panic in debug builds). Found from the C tests.

use std::time::Duration;

use litepool::{AcquireOptions, Error, Pool, PoolConfig};

#[test]
fn try_get_never_lets_the_pool_grow_past_max_size() -> litepool::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..60 {
        let config = PoolConfig::default().max_size(2).min_idle(1);
        let pool = Pool::new(dir.path().join(format!("{i}.db")), config)?;
        // Half the rounds race the housekeeper's min_idle opening; the
        // other half start from it. Either way, once `a` takes the idle
        // connection the housekeeper may be opening the next one for
        // min_idle, and try_get cannot wait for a connection being opened:
        // at max_size counting it, Exhausted is its answer (then `get`
        // waits for that one).
        if i % 2 == 0 {
            pool.get()?;
        }
        let a = pool.try_get()?;
        let b = match pool.try_get() {
            Err(Error::Exhausted { .. }) => pool.get()?,
            other => other?,
        };
        let third = pool.acquire(AcquireOptions { timeout: Some(Duration::from_millis(20)), ..Default::default() });
        assert!(
            matches!(third, Err(Error::Timeout { .. })),
            "round {i}: a third lease with max_size 2: {:?}",
            pool.state()
        );
        assert_eq!(pool.state().total, 2, "round {i}");
        drop((a, b));
    }
    Ok(())
}
