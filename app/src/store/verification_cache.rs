//! The verification rows kept in memory, and the one rule that keeps them fresh, shared by both backends: rows are
//! tagged with the *generation* they were read at, and a newer generation empties the cache. Only the change feed
//! differs per backend (what a generation is, and how a change moves it on):
//!
//! - SQLite (`token_reader`): a counter in this process that moves on with every change made here and whenever a
//!   counter in the database, which triggers bump with every relevant change, is seen to have moved (looked at at
//!   most a millisecond apart, when `PRAGMA data_version` says anything was committed);
//! - PostgreSQL (`pg_changes`): a counter in this process that moves on with every `NOTIFY` the triggers send
//!   on commit, and with every reconnect of the listener.
//!
//! Only the rows are cached; every rule (expiry, grace period, suspension, owner, allowlist, privilege) is still
//! checked on each request by `services::verify`.

use super::{
    accounts::Account,
    tokens::{SecretHash, TokenChecks, Verifying},
};
use chrono::{DateTime, Utc};
use hashbrown::HashTable;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::{
    Arc, Mutex, MutexGuard,
    atomic::{AtomicU64, Ordering},
};

/// Rows kept in memory at most; when full, the cache starts over (one read each to fill it again). Above the
/// 100,000 tokens issue 17 measures, so those all stay in memory.
const CAPACITY: usize = 131_072;

/// A secret's SHA-256, as bytes: half the size of its hex form.
type Key = [u8; 32];

/// Where a key goes in the index: its first 8 bytes. A SHA-256's bytes are already evenly spread, and only
/// secrets Tessera issued (random) are ever kept, so they need no hashing again.
fn slot_hash(key: &Key) -> u64 {
    let mut first = [0; 8];
    first.copy_from_slice(&key[..8]);
    u64::from_le_bytes(first)
}

/// Rows by secret hash, each valid for the generation the cache is at.
pub struct VerificationCache {
    inner: Mutex<Inner>,
    hits: AtomicU64,
}

struct Inner {
    /// The generation the rows were read at (or later).
    generation: i64,
    /// The rows, in the order they were kept, each with its whole key (a look-up compares all 32 bytes).
    rows: Vec<(Key, Verifying)>,
    /// Where each key's row is in `rows`: 4 bytes a slot. A map holding the keys and rows in its slots (as this
    /// was, 129 bytes a slot) has its empty slots spread among the used ones, so with 100,000 rows all 131,072
    /// slots were resident (16.9 MB); `rows` and this index take 13.5 MB.
    index: HashTable<u32>,
    /// One copy of each owner for all their tokens' rows (one account may hold 100,000 tokens). Rows of one
    /// generation were read with no relevant change between them, so any of them may stand for the others.
    owners: FxHashMap<i64, Arc<Account>>,
    /// Each distinct set of checks once (privileges, allowlist, limit), shared by the rows that have it.
    checks: FxHashSet<Arc<TokenChecks>>,
}

impl Inner {
    fn clear(&mut self) {
        self.rows.clear();
        self.index.clear();
        self.owners.clear();
        self.checks.clear();
    }

    /// Where `key`'s row is in `rows`.
    fn position(&self, key: &Key) -> Option<usize> {
        let rows = &self.rows;
        self.index.find(slot_hash(key), |&at| rows[at as usize].0 == *key).map(|&at| at as usize)
    }
}

impl Default for VerificationCache {
    fn default() -> Self {
        let inner = Inner {
            generation: i64::MIN,
            rows: Vec::new(),
            index: HashTable::new(),
            owners: FxHashMap::default(),
            checks: FxHashSet::default(),
        };
        Self { inner: Mutex::new(inner), hits: AtomicU64::new(0) }
    }
}

impl VerificationCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn hit(&self, found: Option<Verifying>) -> Option<Verifying> {
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Look-ups answered from memory so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// The row for `hash` at `generation` (the current one, just read from the feed). A newer generation first
    /// empties the cache; an older one (this look-up raced a change another look-up has already seen) answers
    /// nothing, so the caller reads the database.
    pub fn get(&self, generation: i64, hash: &SecretHash) -> Option<Verifying> {
        let mut inner = self.lock();
        if inner.generation < generation {
            inner.clear();
            inner.generation = generation;
        }
        if inner.generation != generation {
            return None;
        }
        let found = inner.position(&hash.0).map(|at| inner.rows[at].1.clone());
        drop(inner);
        self.hit(found)
    }

    /// Keeps `found`, read from the database at `generation` (read from the feed *before* the database). A newer
    /// generation seen meanwhile emptied the cache, and the row must not come back into it.
    pub fn insert(&self, generation: i64, hash: &SecretHash, found: &Verifying) {
        let key = hash.0;
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.rows.len() >= CAPACITY {
            inner.clear();
        }
        let account = inner.owners.entry(found.account.id).or_insert_with(|| found.account.clone()).clone();
        let checks = match inner.checks.get(&*found.checks) {
            Some(shared) => shared.clone(),
            None => {
                inner.checks.insert(found.checks.clone());
                found.checks.clone()
            }
        };
        let row = Verifying { token: found.token.clone(), secret: found.secret, account, checks };
        // Two look-ups that both missed both keep what they read: the later one's row replaces the earlier's.
        if let Some(at) = inner.position(&key) {
            inner.rows[at].1 = row;
            return;
        }
        let Ok(at) = u32::try_from(inner.rows.len()) else { return };
        let Inner { rows, index, .. } = &mut *inner;
        rows.push((key, row));
        index.insert_unique(slot_hash(&key), at, |&at| slot_hash(&rows[at as usize].0));
    }

    /// Takes note that the token whose secret hashes to `hash` was last used at `at` (as the last-use recorder
    /// noted it), if its row is held: its later calls within the minute then need not ask the recorder. Only the
    /// last use changes, and only forwards; no other answer depends on it.
    pub fn noted(&self, hash: &SecretHash, at: DateTime<Utc>) {
        let mut inner = self.lock();
        if let Some(position) = inner.position(&hash.0) {
            let last = &mut inner.rows[position].1.token.last_used_at;
            if last.is_none_or(|last| last < at) {
                *last = Some(at);
            }
        }
    }

    /// Rows held now (for `/metrics`).
    pub fn len(&self) -> usize {
        self.lock().rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{
        accounts::Account,
        entities::account::StoredPasswordHash,
        tokens::{SecretMatch, Token},
    };
    use chrono::Utc;

    fn key(hex: &str) -> SecretHash {
        SecretHash::from_hex(hex).unwrap()
    }

    const H: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const OTHER: &str = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

    fn row(name: &str) -> Verifying {
        row_with(name, "")
    }

    fn row_with(name: &str, allowlist: &str) -> Verifying {
        Verifying::new(&token(name, allowlist), account(), "h").expect("the hash is its secret's")
    }

    fn token(name: &str, allowlist: &str) -> Token {
        Token {
            id: 1,
            account_id: 1,
            name: name.into(),
            name_key: name.into(),
            secret_hash: "h".into(),
            hint: "x".into(),
            created_at: Utc::now(),
            expires_at: None,
            allowlist: allowlist.into(),
            privileges: "all".into(),
            previous_secret_hash: None,
            previous_valid_until: None,
            last_used_at: None,
            last_used_ip: None,
            rate_limit: None,
        }
    }

    fn account() -> Account {
        let now = Utc::now();
        Account {
            id: 1,
            username: "alice".into(),
            username_key: "alice".into(),
            password_hash: StoredPasswordHash(String::new()),
            privileges: "all".into(),
            suspended: false,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_kept_row_knows_which_secret_it_was_found_by_and_the_previous_one_ends_with_its_grace() {
        let now = Utc::now();
        let until = now + chrono::Duration::minutes(5);
        let rotated = Token {
            secret_hash: "new".into(),
            previous_secret_hash: Some("old".into()),
            previous_valid_until: Some(until),
            ..token("ci", "")
        };
        let current = Verifying::new(&rotated, account(), "new").unwrap();
        assert_eq!(current.secret, SecretMatch::Current);
        assert!(current.secret.accepted_at(until + chrono::Duration::days(365)));
        let previous = Verifying::new(&rotated, account(), "old").unwrap();
        assert_eq!(previous.secret, SecretMatch::Previous(Some(until)));
        assert!(previous.secret.accepted_at(now));
        assert!(!previous.secret.accepted_at(until), "the grace period ends at its end");
        // Kept under the old secret's hash, the row still says so: a hit after the grace is refused by the caller.
        let cache = VerificationCache::default();
        cache.get(1, &key(OTHER));
        cache.insert(1, &key(OTHER), &previous);
        assert!(!cache.get(1, &key(OTHER)).unwrap().secret.accepted_at(until));
        let no_end = Token { previous_valid_until: None, ..rotated.clone() };
        assert!(!Verifying::new(&no_end, account(), "old").unwrap().secret.accepted_at(now));
        assert!(Verifying::new(&rotated, account(), "neither").is_none());
    }

    #[test]
    fn a_newer_generation_empties_the_cache() {
        let cache = VerificationCache::default();
        let h = H;
        assert!(cache.get(1, &key(h)).is_none());
        cache.insert(1, &key(h), &row("ci"));
        assert_eq!(cache.get(1, &key(h)).map(|r| r.token.name.clone()).as_deref(), Some("ci"));
        assert!(cache.get(2, &key(h)).is_none(), "generation 2 must not see a row read at 1");
        assert!(cache.is_empty());
    }

    #[test]
    fn a_row_read_before_a_change_never_enters_the_cache_after_it() {
        let cache = VerificationCache::default();
        assert!(cache.get(1, &key(H)).is_none());
        // Another look-up sees generation 2 while this one was reading the database at 1.
        assert!(cache.get(2, &key(OTHER)).is_none());
        cache.insert(1, &key(H), &row("stale"));
        assert!(cache.get(2, &key(H)).is_none());
        // A late look-up still at generation 1 is told nothing, so it reads the database.
        assert!(cache.get(1, &key(H)).is_none());
    }

    #[test]
    fn the_rows_of_one_owner_share_one_copy_of_the_owner_and_of_equal_checks_and_other_keys_miss() {
        let cache = VerificationCache::default();
        let (first, second) = (row("ci"), row("deploy"));
        assert!(!Arc::ptr_eq(&first.account, &second.account));
        cache.get(1, &key(H));
        cache.insert(1, &key(H), &first);
        cache.insert(1, &key(OTHER), &second);
        let (a, b) = (cache.get(1, &key(H)).unwrap(), cache.get(1, &key(OTHER)).unwrap());
        assert_eq!((&*a.token.name, &*b.token.name), ("ci", "deploy"));
        assert!(Arc::ptr_eq(&a.account, &b.account));
        assert!(!Arc::ptr_eq(&first.checks, &second.checks));
        assert!(Arc::ptr_eq(&a.checks, &b.checks), "equal checks are kept once");
        assert!(cache.get(1, &key(&H.replace('9', "8"))).is_none());
    }

    #[test]
    fn a_hash_is_found_by_all_its_bytes_and_a_second_read_of_it_replaces_the_first() {
        let cache = VerificationCache::default();
        cache.get(1, &key(H));
        cache.insert(1, &key(H), &row("ci"));
        // The same first 8 bytes (the same slot in the index), another hash: not that row.
        let mut near = H[..60].to_owned();
        near.push_str("ffff");
        assert!(cache.get(1, &key(&near)).is_none());
        cache.insert(1, &key(&near), &row("near"));
        assert_eq!(&*cache.get(1, &key(H)).unwrap().token.name, "ci");
        assert_eq!(&*cache.get(1, &key(&near)).unwrap().token.name, "near");
        // Two look-ups that both missed both keep their row: one entry, the later row.
        cache.insert(1, &key(H), &row("ci, renamed"));
        assert_eq!(&*cache.get(1, &key(H)).unwrap().token.name, "ci, renamed");
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn a_noted_last_use_moves_only_forwards_and_only_in_its_own_row() {
        let cache = VerificationCache::default();
        cache.get(1, &key(H));
        cache.insert(1, &key(H), &row("ci"));
        cache.insert(1, &key(OTHER), &row("deploy"));
        let at = Utc::now();
        cache.noted(&key(H), at);
        assert_eq!(cache.get(1, &key(H)).unwrap().token.last_used_at, Some(at));
        assert_eq!(cache.get(1, &key(OTHER)).unwrap().token.last_used_at, None, "the other token was not used");
        // A note of an earlier call, arriving late, does not move it back.
        cache.noted(&key(H), at - chrono::Duration::seconds(30));
        assert_eq!(cache.get(1, &key(H)).unwrap().token.last_used_at, Some(at));
        // A secret not held is no row to note.
        cache.noted(&key(&H.replace('9', "8")), at);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn a_full_cache_starts_over_and_keeps_the_new_row() {
        let cache = VerificationCache::default();
        cache.get(1, &key(H));
        let kept = row("ci");
        // Distinct hashes whose first 8 bytes (the index's hash) are spread, as a SHA-256's are.
        let hashes: Vec<String> =
            (0..CAPACITY as u64).map(|n| format!("{:016x}{n:048x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))).collect();
        for hash in &hashes {
            cache.insert(1, &key(hash), &kept);
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.get(1, &key(&hashes[CAPACITY - 1])).is_some() && cache.get(1, &key(&hashes[0])).is_some());
        cache.insert(1, &key(H), &row("new"));
        assert_eq!(cache.len(), 1);
        assert!(cache.get(1, &key(&hashes[0])).is_none());
        assert_eq!(&*cache.get(1, &key(H)).unwrap().token.name, "new");
    }

    #[test]
    fn rows_with_other_checks_keep_their_own() {
        let cache = VerificationCache::default();
        cache.get(1, &key(H));
        cache.insert(1, &key(H), &row("ci"));
        cache.insert(1, &key(OTHER), &row_with("office", "192.0.2.0/24"));
        let (open, office) = (cache.get(1, &key(H)).unwrap(), cache.get(1, &key(OTHER)).unwrap());
        assert!(!Arc::ptr_eq(&open.checks, &office.checks));
        assert!(open.checks.allowlist.allows("198.51.100.7".parse().unwrap()));
        assert!(!office.checks.allowlist.allows("198.51.100.7".parse().unwrap()));
        assert!(office.checks.allowlist.allows("192.0.2.7".parse().unwrap()));
    }
}
