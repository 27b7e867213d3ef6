//! The pool's executor: "run this off the caller's thread". Worker
//! threads, started lazily and owned by the pool, run the SQL of
//! asynchronous calls ([`crate::Pool::call_with`], sessions' `submit`);
//! results go to a completion callback, which a binding turns into a
//! promise or a future on its event loop.
//!
//! Nothing here ever waits for a connection: a call is submitted only once
//! its lease was granted (the core's callback acquire), so a worker only
//! runs SQL. How many: `PoolConfig::workers`, by default as many as the
//! machine has cores, and never more than `max_size` — more busy SQL
//! threads than cores only steal time from the thread that delivers the
//! results (Node's event loop measured 67 ms p99 lag with 10 workers on 2
//! cores, 13 ms with 2).
//!
//! Hand-offs: a worker that releases a lease may grant it to the next
//! queued call, whose job it then runs itself, next, without waking another
//! thread; a worker out of work watches the queue for a few microseconds
//! before it parks, since the next call (often the event loop's next, a few
//! microseconds later) costs less to pick up than a futex wake-up.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// Work for a worker thread.
pub type Work = Box<dyn FnOnce() + Send>;

/// A pool's workers. Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    queue: Mutex<Queue>,
    /// `queue.jobs.len()`, readable without the lock (by a spinning worker).
    queued: AtomicUsize,
    work_ready: Condvar,
    max_workers: usize,
    name: String,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Work>,
    /// Worker threads alive.
    workers: usize,
    /// Parked on `work_ready`.
    idle: usize,
    /// Awake with nothing to do, watching `queued` (at most one at a time).
    spinning: usize,
    stopped: bool,
}

/// How long a worker out of work watches the queue before it parks.
const SPIN: Duration = Duration::from_micros(50);

thread_local! {
    /// On a worker thread: its executor (by address) and one job handed to
    /// it by code running on this very thread, which it runs next.
    static LOCAL: RefCell<Option<(usize, Option<Work>)>> = const { RefCell::new(None) };
}

impl Executor {
    /// An executor with up to `max_workers` threads (none started yet),
    /// named `sql-<name>` (Linux keeps 15 characters of it; the housekeeper is
    /// `litepool-<name>`).
    pub(crate) fn new(max_workers: usize, name: &str) -> Self {
        let inner = Inner {
            queue: Mutex::new(Queue::default()),
            queued: AtomicUsize::new(0),
            work_ready: Condvar::new(),
            max_workers: max_workers.max(1),
            name: format!("sql-{name}"),
        };
        Executor { inner: Arc::new(inner) }
    }

    /// Runs `work` on a worker: the calling worker itself, next, when it is
    /// one of ours; otherwise a spinning or idle worker, or a new one.
    pub fn submit(&self, work: Work) {
        let me = Arc::as_ptr(&self.inner) as usize;
        let work = LOCAL.with(|local| match &mut *local.borrow_mut() {
            Some((owner, slot @ None)) if *owner == me => {
                *slot = Some(work);
                None
            }
            _ => Some(work),
        });
        let Some(work) = work else { return };
        let mut q = self.inner.queue.lock();
        q.jobs.push_back(work);
        self.inner.queued.fetch_add(1, Ordering::Release);
        if q.jobs.len() <= q.spinning {
            // A spinning worker takes it.
        } else if q.idle > 0 {
            drop(q);
            self.inner.work_ready.notify_one();
        } else if q.workers < self.inner.max_workers {
            q.workers += 1;
            drop(q);
            self.start_worker();
        }
    }

    fn start_worker(&self) {
        let inner = Arc::clone(&self.inner);
        let started = std::thread::Builder::new().name(self.inner.name.clone()).spawn(move || worker(&inner));
        if started.is_err() {
            // No thread: run what is queued here rather than strand it.
            let mut q = self.inner.queue.lock();
            q.workers -= 1;
            if q.workers > 0 {
                return;
            }
            let jobs = std::mem::take(&mut q.jobs);
            self.inner.queued.store(0, Ordering::Release);
            drop(q);
            log::warn!("litepool: cannot start an executor thread; running {} job(s) inline", jobs.len());
            jobs.into_iter().for_each(|job| job());
        }
    }

    /// Lets the workers exit once the queue is empty (a job submitted later
    /// starts one again, which exits when done).
    pub fn stop(&self) {
        self.inner.queue.lock().stopped = true;
        self.inner.work_ready.notify_all();
    }

    /// Worker threads alive now.
    pub fn workers(&self) -> usize {
        self.inner.queue.lock().workers
    }
}

fn worker(inner: &Arc<Inner>) {
    let me = Arc::as_ptr(inner) as usize;
    LOCAL.with(|local| *local.borrow_mut() = Some((me, None)));
    loop {
        let next = LOCAL.with(|local| local.borrow_mut().as_mut().and_then(|(_, slot)| slot.take()));
        let job = match next {
            Some(job) => job,
            None => {
                let mut q = inner.queue.lock();
                let mut spun = false;
                loop {
                    if let Some(job) = q.jobs.pop_front() {
                        inner.queued.fetch_sub(1, Ordering::Release);
                        break job;
                    }
                    if q.stopped {
                        q.workers -= 1;
                        return;
                    }
                    if !spun && q.spinning == 0 {
                        spun = true;
                        q.spinning += 1;
                        drop(q);
                        let until = Instant::now() + SPIN;
                        while inner.queued.load(Ordering::Acquire) == 0 && Instant::now() < until {
                            std::thread::yield_now();
                        }
                        q = inner.queue.lock();
                        q.spinning -= 1;
                        continue;
                    }
                    q.idle += 1;
                    inner.work_ready.wait(&mut q);
                    q.idle -= 1;
                    spun = false;
                }
            }
        };
        // A panic loses only this job; whatever it owned (a lease, a
        // completion) is dropped while unwinding.
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
            log::error!("litepool: an executor job panicked: {}", crate::sqlite::panic_message(&*panic));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn runs_jobs_on_at_most_max_workers_and_stops() {
        let ex = Executor::new(2, "t");
        let (tx, rx) = mpsc::channel();
        for i in 0..100 {
            let tx = tx.clone();
            ex.submit(Box::new(move || tx.send((i, std::thread::current().name().map(str::to_owned))).unwrap()));
        }
        let got: Vec<_> = (0..100).map(|_| rx.recv().unwrap()).collect();
        assert!(got.iter().all(|(_, name)| name.as_deref() == Some("sql-t")));
        assert!(ex.workers() <= 2);
        ex.stop();
        let deadline = Instant::now() + Duration::from_secs(5);
        while ex.workers() > 0 {
            assert!(Instant::now() < deadline, "workers exit after stop");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_job_submitted_from_a_worker_runs_next_on_that_worker() {
        let ex = Executor::new(4, "local");
        let (tx, rx) = mpsc::channel();
        let inner = ex.clone();
        ex.submit(Box::new(move || {
            let me = std::thread::current().id();
            inner.submit(Box::new(move || tx.send(std::thread::current().id() == me).unwrap()));
        }));
        assert!(rx.recv().unwrap());
    }

    #[test]
    fn a_panicking_job_does_not_kill_the_worker() {
        let ex = Executor::new(1, "panic");
        ex.submit(Box::new(|| panic!("boom")));
        let (tx, rx) = mpsc::channel();
        ex.submit(Box::new(move || tx.send(()).unwrap()));
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
    }
}
