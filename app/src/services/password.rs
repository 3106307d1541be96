//! Passwords: Argon2id with OWASP's parameters (19 MiB, t=2, p=1), hashed and verified on tokio's blocking
//! pool with bounded concurrency, so a burst of logins neither stalls the async executor nor exhausts memory.
//! Unknown usernames are checked against a dummy hash, so they cost the same time as wrong passwords.

use crate::store::entities::account::StoredPasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use std::sync::{Mutex, mpsc};
use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A plaintext password on its way to be hashed or checked. No `Serialize`, and `Debug` hides it.
pub struct Password(String);

impl Password {
    pub fn new(plaintext: String) -> Self {
        Self(plaintext)
    }

    fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    /// Whether it is one of the most common passwords (any case).
    pub fn is_common(&self) -> bool {
        super::common_passwords::is_common(&self.0)
    }

    /// Whether it is `name`, ignoring case.
    pub fn is_name(&self, name: &str) -> bool {
        self.0.to_lowercase() == name.to_lowercase()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the password hashing task was cancelled")]
    Cancelled,
}

fn argon2() -> Argon2<'static> {
    // The constants are valid by construction; `Params::DEFAULT` is exactly OWASP's recommendation.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// Hashes and verifies passwords off the async executor, on threads of their own.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    dummy: Arc<StoredPasswordHash>,
    running: Arc<Running>,
    pool: Arc<HashPool>,
}

/// The threads that run Argon2: as many as may hash at once, alive as long as the `Passwords`. Tokio's blocking
/// pool starts and ends threads as load comes and goes, and the allocator keeps each thread's freed 19 MiB block
/// in that thread's arena: a sign-in storm left hundreds of MiB resident for good (issue 17 measured 392 MB after
/// 150 sign-ins). On threads of their own, that memory is bounded by the number of threads.
struct HashPool {
    jobs: mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// glibc raises its mmap threshold after the first large block is freed, so from then on each hash's 19 MiB comes
/// from the heap, where small allocations made meanwhile split the freed block and the next hash takes fresh
/// memory: the soak measured resident memory growing by 19 MiB per sign-in. A fixed threshold of 1 MiB keeps every
/// large block mapped on its own and returned to the system when freed (one `mmap`/`munmap` per hash, nothing
/// next to Argon2's 50 ms). Set once per process.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes the allocator's tuning; M_MMAP_THRESHOLD takes a size in bytes.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        });
    }
}

/// Lowers the calling thread's CPU priority to the least (nice 19). A hash takes 50 ms of a core; on a machine
/// where verification uses the same cores, a storm of sign-ins at normal priority starved it (issue 17 measured
/// verification's p99 at seconds while 50 people signed in on one core). At nice 19 the scheduler gives a hash
/// only what verification leaves: sign-ins wait a little longer under load, token checks do not.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only changes the scheduling weight; on Linux `PRIO_PROCESS` with 0 is this thread.
    unsafe {
        if libc::setpriority(libc::PRIO_PROCESS, 0, 19) != 0 {
            tracing::debug!("could not lower the priority of a hashing thread");
        }
    }
}

impl HashPool {
    fn new(threads: usize) -> Result<Self, PasswordError> {
        return_large_blocks_to_the_system();
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    yield_to_requests();
                    loop {
                        // The lock is held only while waiting for the next job, never while running one.
                        let next = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
                        let Ok(job) = next else { return }; // every sender is gone: the `Passwords` was dropped
                        // A panicking hash must not take the thread with it (its caller sees `Cancelled`).
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .map_err(|e| PasswordError::Hash(format!("starting a hashing thread: {e}")))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` on a hashing thread and waits for its answer without blocking the executor.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, PasswordError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        self.jobs.send(job).map_err(|_| PasswordError::Cancelled)?;
        answered.await.map_err(|_| PasswordError::Cancelled)
    }
}

/// Counts the hashes running right now and the most ever at once (for `/metrics` and the tests).
#[derive(Default)]
struct Running {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Running {
    /// Runs `work` holding `permit`. The permit lives in the hashing job, not in the future awaiting it: a
    /// client that hangs up drops that future, but the hash runs to its end, and until then no other may start
    /// in its place. So the bound holds however many clients disconnect.
    fn run<T>(&self, permit: OwnedSemaphorePermit, work: impl FnOnce() -> T) -> T {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let result = work();
        self.now.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
        result
    }
}

impl Passwords {
    /// `max_concurrent` hashes may run at once (each takes 19 MiB); the rest wait their turn.
    pub fn new(max_concurrent: usize) -> Result<Self, PasswordError> {
        let dummy = hash_blocking(&Password::new("tessera-dummy-password".into()))?;
        let threads = max_concurrent.max(1);
        Ok(Self {
            permits: Arc::new(Semaphore::new(threads)),
            dummy: Arc::new(dummy),
            running: Arc::default(),
            pool: Arc::new(HashPool::new(threads)?),
        })
    }

    /// The most hashes that have ever run at the same time.
    pub fn peak_concurrent(&self) -> usize {
        self.running.peak.load(Ordering::SeqCst)
    }

    pub async fn hash(&self, password: Password) -> Result<StoredPasswordHash, PasswordError> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| PasswordError::Cancelled)?;
        let span = tracing::Span::current();
        let running = self.running.clone();
        self.pool.run(move || running.run(permit, || span.in_scope(|| hash_blocking(&password)))).await?
    }

    /// Whether `password` matches `stored`. With no stored hash (unknown user) it still does the full work
    /// against a dummy hash and answers `false`.
    pub async fn verify(&self, password: Password, stored: Option<StoredPasswordHash>) -> bool {
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return false;
        };
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| (*self.dummy).clone());
        let span = tracing::Span::current();
        let running = self.running.clone();
        let matched = self
            .pool
            .run(move || {
                running.run(permit, || {
                    span.in_scope(|| argon2().verify_password(password.expose(), hash.0.as_str()).is_ok())
                })
            })
            .await
            .unwrap_or(false);
        known && matched
    }
}

fn hash_blocking(password: &Password) -> Result<StoredPasswordHash, PasswordError> {
    argon2()
        .hash_password(password.expose())
        .map(|hash| StoredPasswordHash(hash.to_string()))
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_owasp_parameters_and_verifies() {
        let passwords = Passwords::new(2).unwrap();
        let hash = passwords.hash(Password::new("correct horse".into())).await.unwrap();
        assert!(hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", hash.0);
        assert!(!hash.0.contains("correct horse"));
        assert!(passwords.verify(Password::new("correct horse".into()), Some(hash.clone())).await);
        assert!(!passwords.verify(Password::new("wrong".into()), Some(hash)).await);
    }

    #[tokio::test]
    async fn unknown_users_never_verify_even_with_the_dummy_password() {
        let passwords = Passwords::new(1).unwrap();
        assert!(!passwords.verify(Password::new("tessera-dummy-password".into()), None).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn abandoned_checks_never_run_more_hashes_at_once_than_the_bound() {
        let passwords = Passwords::new(2).unwrap();
        // 200 sign-ins, one a millisecond, each abandoned by its client a millisecond after it began (a client
        // hanging up drops the request's future). A permit freed by the drop would let the next one start a
        // hash beside the one still running.
        let checks: Vec<_> = (0..200u64)
            .map(|i| {
                let passwords = passwords.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(i)).await;
                    let check = passwords.verify(Password::new("guess".into()), None);
                    let _ = tokio::time::timeout(std::time::Duration::from_millis(1), check).await;
                })
            })
            .collect();
        for check in checks {
            check.await.unwrap();
        }
        assert!(passwords.peak_concurrent() >= 1);
        assert!(passwords.peak_concurrent() <= 2, "{} hashes ran at once", passwords.peak_concurrent());
    }

    #[test]
    fn debug_hides_the_password() {
        assert_eq!(format!("{:?}", Password::new("hunter2".into())), "Password(<redacted>)");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_runs_on_its_own_threads_however_many_sign_ins_come() {
        let passwords = Passwords::new(2).unwrap();
        let names = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
        let mut handles = Vec::new();
        for _ in 0..12 {
            let (passwords, names) = (passwords.clone(), names.clone());
            handles.push(tokio::spawn(async move {
                passwords
                    .pool
                    .run(move || {
                        let name = std::thread::current().name().unwrap_or("").to_owned();
                        names.lock().unwrap().insert(name);
                    })
                    .await
                    .unwrap();
                passwords.verify(Password::new("guess".into()), None).await
            }));
        }
        for handle in handles {
            assert!(!handle.await.unwrap());
        }
        let names = names.lock().unwrap().clone();
        assert!(names.iter().all(|n| n.starts_with("argon2-")) && names.len() <= 2, "{names:?}");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_the_lowest_priority_and_requests_at_normal() {
        let passwords = Passwords::new(1).unwrap();
        // getpriority(PRIO_PROCESS, 0) reads the calling thread's nice value on Linux.
        let nice = || unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let hashing = passwords.pool.run(nice).await.unwrap();
        assert_eq!((hashing, nice() < 19), (19, true));
    }
}
