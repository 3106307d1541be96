//! A big account's token names, searched in memory (issue 17). The tokens table's search finds names containing
//! what is typed, anywhere in them, which no index of the database can answer: SQLite and PostgreSQL walk every
//! name of the account and count the matches, two walks of 100,000 names for a search with a full first page
//! (~25 ms on the bench machine, once per keystroke). Here the account's names sit in one buffer in creation
//! order, with their name order beside it, and a search is one pass of `memchr`'s substring finder over it (well
//! under a millisecond); the page's rows are then read by id.
//!
//! Fresh on every instance: each search first reads the account's change counter (`token_counts.changes`, moved
//! on by triggers with every token added, deleted, renamed or moved, m0017) and uses the names held only if they
//! were read at that same value; otherwise the database answers that search, as it did before this index, and the
//! names are read again in the background (the counter first, then the names, so names read across a change are
//! newer than the value they are kept under, and are read once more). A token created, renamed or revoked by
//! another instance or the command line is therefore found, or no longer found, by the very next search. Reading
//! 100,000 names takes ~100-250 ms on the bench machine: an account whose names change all the time is searched
//! by the database, reading them at most every fifth of the time (`REREAD_PAUSE`).
//!
//! Only accounts with at least [`INDEXED_FROM`] tokens are held (the database walks a smaller account's names in
//! well under a millisecond); an account's names are dropped after [`IDLE`] without a search, and at most
//! [`MAX_NAMES`] names are held in all (the least recently searched account goes first).

use super::entities::token;
use memchr::memmem;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// Accounts with at least this many tokens are searched in memory.
pub const INDEXED_FROM: u64 = 1_000;
/// An account's names are dropped after this long without a search.
pub const IDLE: Duration = Duration::from_secs(300);
/// After reading an account's names took some time, they are not read again before this many times that time.
const REREAD_PAUSE: u32 = 5;
/// Names held at most over all accounts (~30 bytes each with their ids and orders).
pub const MAX_NAMES: usize = 1_000_000;

/// The order a search's matches are paged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameOrder {
    /// Creation time, then id: the list's default.
    Created,
    /// The name (unique in an account, ignoring case).
    Name,
}

/// The names of the big accounts searched lately.
#[derive(Default)]
pub struct NameIndex {
    accounts: Mutex<HashMap<i64, Held>>,
    /// The accounts whose names are being read, or were last read.
    reading: Mutex<HashMap<i64, Reading>>,
    /// Whether the task dropping idle accounts runs.
    reaping: AtomicBool,
}

enum Reading {
    Under,
    Took { ended: Instant, took: Duration },
}

struct Held {
    names: Arc<Names>,
    used: Instant,
}

/// One account's names as of one value of its change counter.
struct Names {
    changes: i64,
    /// The name keys in creation order (then id), each followed by a newline, which no name holds.
    text: Vec<u8>,
    /// Where each name starts in `text`.
    starts: Vec<u32>,
    /// Each name's token.
    ids: Vec<i64>,
    /// The names' positions in name order.
    by_name: Vec<u32>,
}

/// A page of a search: its tokens' ids in the order asked for, and how many tokens match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub ids: Vec<i64>,
    pub total: u64,
}

/// Whether a name key can hold every byte of `needle`: anything else matches no name. Needles with other bytes
/// are left to the database, so this index never has to agree with it on them (nor on its separator).
fn searchable(needle: &str) -> bool {
    !needle.is_empty() && needle.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl NameIndex {
    /// Page `offset..offset + limit` of `account_id`'s tokens whose names contain `needle` (lower case, as name
    /// keys are), in `order`, or `None` when this index does not answer it (an account with fewer than
    /// [`INDEXED_FROM`] tokens, a needle with characters no name holds): the caller asks the database.
    #[allow(clippy::too_many_arguments)]
    pub async fn search(
        self: &Arc<Self>,
        db: &DatabaseConnection,
        account_id: i64,
        needle: &str,
        order: NameOrder,
        descending: bool,
        offset: u64,
        limit: u64,
    ) -> Result<Option<Found>, DbErr> {
        if !searchable(needle) {
            return Ok(None);
        }
        let Some(names) = self.names(db, account_id).await? else { return Ok(None) };
        let matching = names.matching(needle.as_bytes(), order);
        let total = matching.len() as u64;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(matching.len());
        let end = usize::try_from(offset.saturating_add(limit)).unwrap_or(usize::MAX).min(matching.len());
        let page: Vec<u32> = if descending {
            matching.iter().rev().skip(start).take(end - start).copied().collect()
        } else {
            matching[start..end].to_vec()
        };
        Ok(Some(Found { ids: page.into_iter().map(|at| names.ids[at as usize]).collect(), total }))
    }

    /// The account's names as of its counter now; `None` for a small account (or one too big to hold), and while
    /// they are being read (again, after a change): the database answers meanwhile, as fast as it did before
    /// this index, instead of the search waiting for 100,000 names to be read (~100-250 ms).
    async fn names(self: &Arc<Self>, db: &DatabaseConnection, account_id: i64) -> Result<Option<Arc<Names>>, DbErr> {
        let Some((tokens, changes)) = counter(db, account_id).await? else { return Ok(None) };
        if tokens < INDEXED_FROM || tokens > MAX_NAMES as u64 {
            self.lock().remove(&account_id);
            return Ok(None);
        }
        let mut accounts = self.lock();
        if let Some(held) = accounts.get_mut(&account_id).filter(|held| held.names.changes == changes) {
            held.used = Instant::now();
            return Ok(Some(held.names.clone()));
        }
        drop(accounts);
        self.refresh(db.clone(), account_id, changes);
        Ok(None)
    }

    /// Reads the account's names in the background unless that is under way, or the last reading of them ended
    /// less than [`REREAD_PAUSE`] times its duration ago (an account changing all the time is then searched by
    /// the database, with at most a fifth of a core spent reading its names).
    fn refresh(self: &Arc<Self>, db: DatabaseConnection, account_id: i64, changes: i64) {
        {
            let mut reading = self.reading.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            match reading.get(&account_id) {
                Some(Reading::Under) => return,
                Some(Reading::Took { ended, took }) if now < *ended + *took * REREAD_PAUSE => return,
                _ => {}
            }
            reading.insert(account_id, Reading::Under);
        }
        let index = self.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            match read(&db, account_id, changes).await {
                Ok(names) => index.hold(account_id, Arc::new(names)),
                // The database keeps answering the account's searches; the next one tries again after the pause.
                Err(err) => {
                    tracing::warn!(account_id, error = %err, "could not read an account's token names for search")
                }
            }
            let mut reading = index.reading.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            reading.insert(account_id, Reading::Took { ended: Instant::now(), took: started.elapsed() });
        });
    }

    fn hold(self: &Arc<Self>, account_id: i64, names: Arc<Names>) {
        let mut accounts = self.lock();
        // Names changed in place by a rename since this reading began are newer than it.
        if accounts.get(&account_id).is_some_and(|held| held.names.changes > names.changes) {
            return;
        }
        accounts.remove(&account_id);
        let mut held: usize = accounts.values().map(|held| held.names.ids.len()).sum();
        while held + names.ids.len() > MAX_NAMES {
            let Some((&oldest, _)) = accounts.iter().min_by_key(|(_, held)| held.used) else { break };
            held -= accounts.remove(&oldest).map_or(0, |gone| gone.names.ids.len());
        }
        accounts.insert(account_id, Held { names, used: Instant::now() });
        drop(accounts);
        if !self.reaping.swap(true, Ordering::AcqRel) {
            tokio::spawn(reap(Arc::downgrade(self)));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Held>> {
        // A panic while holding the lock leaves nothing half-changed (each change is one map operation).
        self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A token of `account_id` was renamed to `key` (its new name key) by a transaction of this process in which
    /// the account's change counter reached `changes` (read after the rename, before the commit). When the names
    /// held are those of the value just before, that rename was the only change since: they are changed in place
    /// and held at `changes`, so the next search is answered from memory instead of by the database while all the
    /// names are read again (~15 ms at 100,000 names against well under one; issue 17's search right after a
    /// rename). Otherwise nothing: the next search finds the counter moved and reads them again, as before.
    pub fn renamed(&self, account_id: i64, changes: i64, token_id: i64, key: &str) {
        let Some(held) = self.lock().get(&account_id).map(|held| held.names.clone()) else { return };
        if held.changes != changes - 1 {
            return;
        }
        let Some(names) = held.renamed(changes, token_id, key) else { return };
        let mut accounts = self.lock();
        // Kept only over what it was made from: the names may have been read again meanwhile.
        if let Some(now) = accounts.get_mut(&account_id).filter(|now| Arc::ptr_eq(&now.names, &held)) {
            now.names = Arc::new(names);
        }
    }

    /// Whether the account's names are held (any change to them is worth telling [`Self::renamed`]).
    pub fn holds(&self, account_id: i64) -> bool {
        self.lock().contains_key(&account_id)
    }

    /// The change counter's value the account's names are held at, if they are (for tests).
    pub fn held_at(&self, account_id: i64) -> Option<i64> {
        self.lock().get(&account_id).map(|held| held.names.changes)
    }
}

/// Drops the accounts not searched for [`IDLE`], checking every fifth of it, until none is held.
async fn reap(index: Weak<NameIndex>) {
    loop {
        tokio::time::sleep(IDLE / 5).await;
        let Some(index) = index.upgrade() else { return };
        index.reading.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|_, reading| match reading {
            Reading::Under => true,
            Reading::Took { ended, .. } => ended.elapsed() < IDLE,
        });
        let mut accounts = index.lock();
        accounts.retain(|_, held| held.used.elapsed() < IDLE);
        if accounts.is_empty() {
            // Under the lock: an account held from now on finds the flag down and starts a new task.
            index.reaping.store(false, Ordering::Release);
            return;
        }
    }
}

/// The account's names, as of `changes` or later: read after the counter, so a change committed in between
/// leaves names newer than `changes`, which the next search finds moved on.
async fn read(db: &DatabaseConnection, account_id: i64, changes: i64) -> Result<Names, DbErr> {
    let rows: Vec<(i64, String)> = token::Entity::find()
        .select_only()
        .column(token::Column::Id)
        .column(token::Column::NameKey)
        .filter(token::Column::AccountId.eq(account_id))
        .order_by_asc(token::Column::CreatedAt)
        .order_by_asc(token::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    tokio::task::spawn_blocking(move || Names::new(changes, rows))
        .await
        .map_err(|err| DbErr::Custom(format!("reading the names failed: {err}")))
}

/// The account's name change counter now (in a transaction: after its own changes), if it ever had a token.
pub async fn changes(db: &impl ConnectionTrait, account_id: i64) -> Result<Option<i64>, DbErr> {
    Ok(counter(db, account_id).await?.map(|(_, changes)| changes))
}

/// The account's token count and name change counter (`None`: it never had a token).
async fn counter(db: &impl ConnectionTrait, account_id: i64) -> Result<Option<(u64, i64)>, DbErr> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let select = Query::select()
        .columns([Alias::new("tokens"), Alias::new("changes")])
        .from(Alias::new("token_counts"))
        .and_where(Expr::col(Alias::new("account_id")).eq(account_id))
        .to_owned();
    let Some(row) = db.query_one_raw(db.get_database_backend().build(&select)).await? else { return Ok(None) };
    let tokens = u64::try_from(row.try_get::<i64>("", "tokens")?).unwrap_or_default();
    Ok(Some((tokens, row.try_get::<i64>("", "changes")?)))
}

impl Names {
    /// `rows`: (id, name key) in creation order.
    fn new(changes: i64, rows: Vec<(i64, String)>) -> Self {
        let mut text = Vec::with_capacity(rows.iter().map(|(_, name)| name.len() + 1).sum());
        let mut starts = Vec::with_capacity(rows.len());
        let mut ids = Vec::with_capacity(rows.len());
        for (id, name) in rows {
            starts.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
            text.extend_from_slice(name.as_bytes());
            text.push(b'\n');
            ids.push(id);
        }
        let mut names = Self { changes, text, starts, ids, by_name: Vec::new() };
        let mut by_name: Vec<u32> = (0..names.ids.len() as u32).collect();
        by_name.sort_unstable_by(|&a, &b| {
            names.name(a).cmp(names.name(b)).then(names.ids[a as usize].cmp(&names.ids[b as usize]))
        });
        names.by_name = by_name;
        names
    }

    /// These names with `token_id`'s changed to `key`, held at `changes`; `None` when the token is not among them.
    /// Its place in creation order stays; in name order it moves to where `key` now sorts.
    fn renamed(&self, changes: i64, token_id: i64, key: &str) -> Option<Self> {
        let at = self.ids.iter().position(|&id| id == token_id)?;
        let start = self.starts[at] as usize;
        let end = self.starts.get(at + 1).map_or(self.text.len(), |&next| next as usize);
        let mut text = Vec::with_capacity(self.text.len() - (end - start) + key.len() + 1);
        text.extend_from_slice(&self.text[..start]);
        text.extend_from_slice(key.as_bytes());
        text.push(b'\n');
        text.extend_from_slice(&self.text[end..]);
        let moved = |offset: u32| u32::try_from(i64::from(offset) + text.len() as i64 - self.text.len() as i64);
        let mut starts = self.starts.clone();
        for start in &mut starts[at + 1..] {
            *start = moved(*start).ok()?;
        }
        let mut names = Self { changes, text, starts, ids: self.ids.clone(), by_name: Vec::new() };
        let at = at as u32;
        let mut by_name: Vec<u32> = self.by_name.iter().copied().filter(|&other| other != at).collect();
        let place = by_name
            .partition_point(|&other| (names.name(other), names.ids[other as usize]) < (key.as_bytes(), token_id));
        by_name.insert(place, at);
        names.by_name = by_name;
        Some(names)
    }

    /// The name at position `at` (without its newline).
    fn name(&self, at: u32) -> &[u8] {
        let start = self.starts[at as usize] as usize;
        let end = self.starts.get(at as usize + 1).map_or(self.text.len(), |&next| next as usize) - 1;
        &self.text[start..end]
    }

    /// The positions of the names containing `needle` (which holds no newline), ascending in `order`.
    fn matching(&self, needle: &[u8], order: NameOrder) -> Vec<u32> {
        let finder = memmem::Finder::new(needle);
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(offset) = finder.find(&self.text[from..]) {
            let at = from + offset;
            // The name holding `at`: the last one starting at or before it.
            let position = self.starts.partition_point(|&start| start as usize <= at) - 1;
            found.push(position as u32);
            // On to the next name: a second match in this one adds nothing.
            from = self.starts.get(position + 1).map_or(self.text.len(), |&next| next as usize);
        }
        match order {
            NameOrder::Created => found,
            NameOrder::Name => {
                let mut wanted = vec![false; self.ids.len()];
                for &at in &found {
                    wanted[at as usize] = true;
                }
                self.by_name.iter().copied().filter(|&at| wanted[at as usize]).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[(i64, &str)]) -> Names {
        Names::new(1, list.iter().map(|&(id, name)| (id, name.to_owned())).collect())
    }

    fn ids(names: &Names, found: &[u32]) -> Vec<i64> {
        found.iter().map(|&at| names.ids[at as usize]).collect()
    }

    #[test]
    fn a_name_matches_once_however_often_it_holds_the_text_and_only_within_itself() {
        let held = names(&[(1, "abab"), (2, "ba"), (3, "b"), (4, "ab"), (5, "xyz")]);
        assert_eq!(ids(&held, &held.matching(b"ab", NameOrder::Created)), vec![1, 4]);
        // "ba" across the end of "b" and the start of "ab" is not a name.
        assert_eq!(ids(&held, &held.matching(b"bab", NameOrder::Created)), vec![1]);
        assert_eq!(ids(&held, &held.matching(b"b", NameOrder::Created)), vec![1, 2, 3, 4]);
        assert_eq!(ids(&held, &held.matching(b"z", NameOrder::Created)), vec![5]);
        assert_eq!(ids(&held, &held.matching(b"q", NameOrder::Created)), Vec::<i64>::new());
    }

    #[test]
    fn name_order_is_the_names_order_whatever_the_creation_order() {
        let held = names(&[(7, "deploy-2"), (3, "backup-1"), (9, "deploy-1"), (4, "ci")]);
        assert_eq!(ids(&held, &held.matching(b"-", NameOrder::Name)), vec![3, 9, 7]);
        assert_eq!(ids(&held, &held.matching(b"-", NameOrder::Created)), vec![7, 3, 9]);
    }

    #[test]
    fn a_renamed_name_is_found_by_its_new_name_only_in_its_creation_place_and_new_name_place() {
        let held = names(&[(7, "deploy-2"), (3, "backup-1"), (9, "deploy-1"), (4, "ci")]);
        let renamed = held.renamed(2, 3, "zz-backup-longer").unwrap();
        assert_eq!(renamed.changes, 2);
        assert_eq!(ids(&renamed, &renamed.matching(b"backup-1", NameOrder::Created)), Vec::<i64>::new());
        assert_eq!(ids(&renamed, &renamed.matching(b"zz-backup", NameOrder::Created)), vec![3]);
        // The names after it (longer now) are found as before; creation order keeps the renamed one's place.
        assert_eq!(ids(&renamed, &renamed.matching(b"-", NameOrder::Created)), vec![7, 3, 9]);
        assert_eq!(ids(&renamed, &renamed.matching(b"ci", NameOrder::Created)), vec![4]);
        assert_eq!(ids(&renamed, &renamed.matching(b"-", NameOrder::Name)), vec![9, 7, 3]);
        // A shorter name, sorting first now; and every name in name order.
        let shorter = renamed.renamed(3, 7, "a").unwrap();
        assert_eq!(ids(&shorter, &shorter.by_name), vec![7, 4, 9, 3]);
        assert_eq!(ids(&shorter, &shorter.matching(b"deploy-", NameOrder::Created)), vec![9]);
        assert!(held.renamed(2, 99, "gone").is_none(), "a token not among the names");
    }

    #[test]
    fn a_rename_is_applied_only_to_the_names_of_the_value_just_before() {
        let index = NameIndex::default();
        index
            .lock()
            .insert(1, Held { names: Arc::new(names(&[(7, "deploy-2"), (3, "backup-1")])), used: Instant::now() });
        // Another change came in between (the counter moved by two): the names are left to be read again.
        index.renamed(1, 3, 3, "other");
        assert_eq!(index.held_at(1), Some(1));
        index.renamed(1, 2, 3, "other");
        assert_eq!(index.held_at(1), Some(2));
        let held = index.lock().get(&1).map(|held| held.names.clone()).unwrap();
        assert_eq!(ids(&held, &held.matching(b"other", NameOrder::Created)), vec![3]);
        // An account not held stays so.
        index.renamed(2, 5, 3, "other");
        assert!(!index.holds(2));
    }

    #[test]
    fn only_characters_a_name_key_holds_are_searched_here() {
        assert!(searchable("deploy-_09"));
        for needle in ["", "Deploy", "a b", "a\nb", "é", "a%", "a\0"] {
            assert!(!searchable(needle), "{needle:?}");
        }
    }
}
