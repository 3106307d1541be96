//! Passwords: Argon2id with OWASP's parameters (19 MiB, t=2, p=1), hashed and verified on tokio's blocking
//! pool with bounded concurrency, so a burst of logins neither stalls the async executor nor exhausts memory.
//! Unknown usernames are checked against a dummy hash, so they cost the same time as wrong passwords.

use crate::store::entities::account::StoredPasswordHash;
use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};
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
/// pool starts and ends threads as load comes and goes, and the allocator kept each thread's freed 19 MiB block:
/// a sign-in storm left hundreds of MiB resident for good (issue 17 measured 392 MB after 150 sign-ins). Here
/// the threads are fixed and each hash maps its memory from the system and hands it back ([`Memory`]).
struct HashPool {
    jobs: mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

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
        let dummy = hash(&Password::new("tessera-dummy-password".into()))?;
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
        self.pool.run(move || running.run(permit, || span.in_scope(|| hash(&password)))).await?
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
            .run(move || running.run(permit, || span.in_scope(|| matches(&password, &hash.0))))
            .await
            .unwrap_or(false);
        known && matched
    }
}

/// Argon2's working memory for one hash (19 MiB for OWASP's parameters), mapped from the system for the hash and
/// handed back when it ends. Through the allocator, freed blocks this size were what it held on to (glibc split
/// them for small allocations and took fresh memory for the next hash; mimalloc kept them for a while), so
/// resident memory grew with sign-ins; kept per thread instead, they would stay resident for good, one per CPU.
/// A mapping costs a few thousand page faults, a millisecond or two next to the hash's 50 ms, and starts zeroed,
/// so no password's derived state outlives its hash.
struct Memory {
    blocks: std::ptr::NonNull<Block>,
    len: usize,
}

// SAFETY: the mapping is owned by this value alone, like a `Vec<Block>`.
unsafe impl Send for Memory {}

impl Memory {
    fn map(len: usize) -> Result<Self, PasswordError> {
        let bytes = len.checked_mul(size_of::<Block>()).filter(|bytes| *bytes > 0);
        let bytes = bytes.ok_or_else(|| PasswordError::Hash(format!("no memory size for {len} blocks")))?;
        // SAFETY: an anonymous private mapping of `bytes`, checked for failure; nothing else refers to it.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(PasswordError::Hash(format!("mapping {bytes} bytes: {}", std::io::Error::last_os_error())));
        }
        let blocks = std::ptr::NonNull::new(address.cast::<Block>())
            .ok_or_else(|| PasswordError::Hash("the system mapped memory at address 0".into()))?;
        Ok(Self { blocks, len })
    }

    fn as_mut_slice(&mut self) -> &mut [Block] {
        // SAFETY: the mapping holds `len` blocks, page-aligned (a `Block` asks for 64 bytes), zero-filled (a valid
        // `Block`: plain integers), and is borrowed mutably through `self` only.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_ptr(), self.len) }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`, which no borrow outlives.
        unsafe {
            libc::munmap(self.blocks.as_ptr().cast(), self.len * size_of::<Block>());
        }
    }
}

/// A new Argon2id hash of `password` with a random salt, in PHC string form.
fn hash(password: &Password) -> Result<StoredPasswordHash, PasswordError> {
    let failed = |e: &dyn fmt::Display| PasswordError::Hash(e.to_string());
    let argon2 = argon2();
    let params = argon2.params();
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    getrandom::fill(&mut salt).map_err(|e| failed(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(
            password.expose(),
            &salt,
            &mut out,
            Memory::map(params.block_count())?.as_mut_slice(),
        )
        .map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(StoredPasswordHash(hash.to_string()))
}

/// Whether `password` hashes to `stored` (a PHC string, with the parameters it was made with). The outputs are
/// compared in constant time (`Output`'s equality). A malformed hash matches nothing.
fn matches(password: &Password, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else { return false };
    let Ok(version) = parsed.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let mut out = [0u8; Output::MAX_LENGTH];
    let Some(out) = out.get_mut(..expected.len()) else { return false };
    let Ok(mut memory) = Memory::map(params.block_count()) else { return false };
    let argon2 = Argon2::new(algorithm, version, params);
    if argon2.hash_password_into_with_memory(password.expose(), salt, out, memory.as_mut_slice()).is_err() {
        return false;
    }
    Output::new(out).is_ok_and(|computed| computed == *expected)
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
    async fn hashes_agree_with_the_argon2_crates_own_hasher_both_ways_whatever_the_parameters() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let passwords = Passwords::new(1).unwrap();
        // Hashes stored before this code existed (the crate's own hasher), with our parameters and with others.
        let others = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8_192, 3, 1, Some(32)).unwrap());
        for hasher in [argon2(), others] {
            let stored = hasher.hash_password(b"correct horse").unwrap().to_string();
            let stored = StoredPasswordHash(stored);
            assert!(passwords.verify(Password::new("correct horse".into()), Some(stored.clone())).await);
            assert!(!passwords.verify(Password::new("correct horsf".into()), Some(stored)).await);
        }
        // Ours verified by the crate's verifier.
        let ours = passwords.hash(Password::new("battery staple".into())).await.unwrap();
        assert!(argon2().verify_password(b"battery staple", ours.0.as_str()).is_ok());
        assert!(argon2().verify_password(b"battery stapler", ours.0.as_str()).is_err());
        // Two hashes of one password differ (a fresh salt each).
        let again = passwords.hash(Password::new("battery staple".into())).await.unwrap();
        assert_ne!(ours.0, again.0);
        // A malformed stored hash matches nothing rather than failing loudly.
        for junk in
            ["", "$argon2id$v=19$m=19456,t=2,p=1$", "plaintext", "$argon2id$v=99$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"]
        {
            let junk = StoredPasswordHash(junk.to_owned());
            assert!(!passwords.verify(Password::new("plaintext".into()), Some(junk)).await);
        }
    }

    /// Resident memory of this process in MiB (Linux).
    fn resident_mib() -> f64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096.0 / (1024.0 * 1024.0)
    }

    #[test]
    fn each_hash_hands_its_19_mib_back_to_the_system() {
        // Measured in a process of its own (this test binary, running only the test below): other tests hash
        // at the same time in this one.
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "services::password::tests::twelve_hashes_in_a_quiet_process", "--ignored"])
            .args(["--test-threads=1", "--nocapture"])
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{printed}{}", String::from_utf8_lossy(&output.stderr));
        assert!(printed.contains("1 passed"), "the measurement ran: {printed}");
    }

    #[test]
    #[ignore = "run by each_hash_hands_its_19_mib_back_to_the_system in a process of its own"]
    fn twelve_hashes_in_a_quiet_process() {
        let password = Password::new("correct horse".into());
        let stored = hash(&password).unwrap();
        let before = resident_mib();
        for _ in 0..6 {
            assert!(matches(&password, &stored.0));
            hash(&password).unwrap();
        }
        // One 19 MiB block kept would show; nothing else runs in this process.
        let grown = resident_mib() - before;
        assert!(grown < 4.0, "resident memory grew by {grown:.1} MiB over twelve hashes");
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
