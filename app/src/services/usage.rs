//! Usage (issue 15): every verification outcome of a known token is counted in memory (a map lookup under a lock, no
//! database work on the request's path) and written once a minute, a few thousand tokens' counters per transaction
//! with a short pause between two (so a change waiting for the write lock never waits for the whole write), a few
//! hundred counters (token, hour, outcome) per upsert statement; what is waiting is also written when the server
//! stops. A reader (a usage report, the tokens table's requests) adds what memory holds to what the database
//! holds, so it writes nothing and waits at most for a commit of a write under way. The addresses a token
//! is used from are kept with first and last seen; a token's first use from an address it never used is an audit
//! event and a `token.new_address` webhook, raised by the writer, off the request's path, a few hundred new
//! addresses per transaction of their own after the counters (so a fleet's first calls never hold the database's
//! write lock for long). An address the writer already recorded has its last seen moved at most once a minute
//! (like a token's last use), so steady traffic from known addresses costs one batched statement a minute, not a
//! write per address per second. Counters older than the retention (90 days by default) are pruned by the same
//! task.

use super::{
    Actor, Core,
    notify::{self, Event},
};
use crate::{
    error::AppError,
    model::usage::{AddressRow, AddressSeen, BusyToken, DayUsage, OUTCOMES, UsageBucket, UsageReport, UsageSummary},
    store::{
        self, accounts,
        audit::{self, NewEvent},
        tokens,
        usage::{self as store_usage, UsageRow},
    },
};
use chrono::{DateTime, Duration, DurationRound, NaiveDate, TimeZone, Utc};
use rustc_hash::FxHashMap;
use sea_orm::DbErr;
use serde_json::json;
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::IpAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

/// How a verification of a known token ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UseOutcome {
    Accepted,
    Expired,
    Suspended,
    Address,
    Privilege,
    RateLimited,
}

impl UseOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => OUTCOMES[0],
            Self::Expired => OUTCOMES[1],
            Self::Suspended => OUTCOMES[2],
            Self::Address => OUTCOMES[3],
            Self::Privilege => OUTCOMES[4],
            Self::RateLimited => OUTCOMES[5],
        }
    }

    const ALL: [Self; 6] =
        [Self::Accepted, Self::Expired, Self::Suspended, Self::Address, Self::Privilege, Self::RateLimited];
}

/// The addresses shown per token.
const ADDRESSES_SHOWN: u64 = 10;

/// What was counted since the last write: per token, one entry per hour and address, so a verification costs two
/// small look-ups; the writer sums it up into counters and addresses, and a reader finds a token's entries without
/// walking the others'. The keys are ours (token ids) or small, so a fast hasher instead of SipHash.
#[derive(Default)]
struct Pending {
    /// token → its calls by hour and address.
    tokens: FxHashMap<i64, TokenCalls>,
    /// Entries (token, hour, address) in all.
    entries: usize,
}

/// An hour (as Unix seconds) and an address.
type Slot = (i64, IpAddr);

/// A [`Slot`] as an entry keeps it: the hour counted from the Unix epoch fits in 4 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Kept {
    hour: i32,
    ip: IpAddr,
}

impl Kept {
    fn of((hour, ip): Slot) -> Self {
        Self { hour: i32::try_from(hour.div_euclid(3600)).unwrap_or(i32::MAX), ip }
    }

    fn slot(self) -> Slot {
        (i64::from(self.hour) * 3600, self.ip)
    }
}

/// One token's calls since the last write, by hour and address. Most tokens are used from one address within an
/// hour, so that one entry is kept in place; a few more are a short list; a fleet's token (many addresses) gets a
/// map, so counting a call never walks more than [`FEW`] entries. With 100,000 tokens in use, one entry each, the
/// entries are the memory this takes: 64 bytes each with the token's id as the map's key (88 with the hour in 8
/// bytes and the first and last call in 12 each).
enum TokenCalls {
    One(Kept, Calls),
    Few(Vec<(Kept, Calls)>),
    Many(FxHashMap<Kept, Calls>),
}

/// Entries a token keeps as a list at most.
const FEW: usize = 8;

/// A token's calls from one address within one hour, since the last write.
#[derive(Debug, Clone, Copy)]
struct Calls {
    /// The first and last call, in microseconds from the start of the entry's hour (an hour has 3.6 billion, which
    /// a `u32` holds).
    first: u32,
    last: u32,
    /// Indexed by `UseOutcome as usize`; `u32` keeps an entry small (it saturates after four billion calls, 11
    /// hours at 100,000 calls a second with the database away).
    by_outcome: [u32; UseOutcome::ALL.len()],
}

/// Microseconds from the start of `at`'s hour.
fn into_hour(at: DateTime<Utc>) -> u32 {
    u32::try_from(at.timestamp_micros().rem_euclid(3_600_000_000)).unwrap_or(u32::MAX)
}

impl Calls {
    fn new(at: DateTime<Utc>) -> Self {
        let at = into_hour(at);
        Self { first: at, last: at, by_outcome: [0; UseOutcome::ALL.len()] }
    }

    /// The first and last call, in the hour starting at `hour` (Unix seconds): the entry's.
    fn span(&self, hour: i64) -> (DateTime<Utc>, DateTime<Utc>) {
        let at = |micros: u32| {
            DateTime::from_timestamp_micros(hour.saturating_mul(1_000_000).saturating_add(i64::from(micros)))
                .unwrap_or_default()
        };
        (at(self.first), at(self.last))
    }

    /// Counts one call ending in `outcome` at `at` (within the entry's hour).
    fn add(&mut self, outcome: UseOutcome, at: DateTime<Utc>) {
        self.by_outcome[outcome as usize] = self.by_outcome[outcome as usize].saturating_add(1);
        self.last = self.last.max(into_hour(at));
    }

    /// The outcomes counted, each with its calls.
    fn outcomes(&self) -> impl Iterator<Item = (UseOutcome, u64)> + '_ {
        UseOutcome::ALL
            .into_iter()
            .map(|outcome| (outcome, u64::from(self.by_outcome[outcome as usize])))
            .filter(|(_, n)| *n > 0)
    }

    fn merge(&mut self, other: &Calls) {
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        for (mine, theirs) in self.by_outcome.iter_mut().zip(other.by_outcome) {
            *mine = mine.saturating_add(theirs);
        }
    }
}

impl TokenCalls {
    /// The entry of `slot`, made (first and last at `at`, nothing counted) when missing; and whether it was made.
    fn slot(&mut self, slot: Slot, at: DateTime<Utc>) -> (&mut Calls, bool) {
        let slot = Kept::of(slot);
        let grow = match self {
            Self::One(mine, _) => *mine != slot,
            Self::Few(few) => few.len() >= FEW && few.iter().all(|(mine, _)| *mine != slot),
            Self::Many(_) => false,
        };
        if grow {
            let mut entries = Vec::new();
            self.for_each(|slot, calls| entries.push((Kept::of(slot), *calls)));
            *self = if entries.len() < FEW { Self::Few(entries) } else { Self::Many(entries.into_iter().collect()) };
        }
        match self {
            Self::One(_, calls) => (calls, false),
            Self::Few(few) => match few.iter().position(|(mine, _)| *mine == slot) {
                Some(at) => (&mut few[at].1, false),
                None => {
                    few.push((slot, Calls::new(at)));
                    let last = few.len() - 1;
                    (&mut few[last].1, true)
                }
            },
            Self::Many(many) => match many.entry(slot) {
                std::collections::hash_map::Entry::Occupied(entry) => (entry.into_mut(), false),
                std::collections::hash_map::Entry::Vacant(entry) => (entry.insert(Calls::new(at)), true),
            },
        }
    }

    fn for_each(&self, mut f: impl FnMut(Slot, &Calls)) {
        match self {
            Self::One(slot, calls) => f(slot.slot(), calls),
            Self::Few(few) => few.iter().for_each(|(slot, calls)| f(slot.slot(), calls)),
            Self::Many(many) => many.iter().for_each(|(slot, calls)| f(slot.slot(), calls)),
        }
    }
}

/// Widens `key`'s first and last use in `spans` to take in `first` and `last` (or enters them).
fn widen<K: std::hash::Hash + Eq, S: std::hash::BuildHasher>(
    spans: &mut HashMap<K, (DateTime<Utc>, DateTime<Utc>), S>,
    key: K,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
) {
    spans
        .entry(key)
        .and_modify(|(earliest, latest)| {
            *earliest = (*earliest).min(first);
            *latest = (*latest).max(last);
        })
        .or_insert((first, last));
}

/// (token, hour as Unix seconds, outcome) → calls.
type Counts = FxHashMap<(i64, i64, UseOutcome), u64>;
/// (token, address) → first and last use in this batch.
type Seen = FxHashMap<(i64, IpAddr), (DateTime<Utc>, DateTime<Utc>)>;

impl Pending {
    /// The entry of `token_id` in `slot`, made when missing.
    fn slot(&mut self, token_id: i64, slot: Slot, at: DateTime<Utc>) -> &mut Calls {
        match self.tokens.entry(token_id) {
            std::collections::hash_map::Entry::Occupied(entry) => {
                let (calls, made) = entry.into_mut().slot(slot, at);
                self.entries += usize::from(made);
                calls
            }
            std::collections::hash_map::Entry::Vacant(entry) => {
                self.entries += 1;
                entry.insert(TokenCalls::One(Kept::of(slot), Calls::new(at))).slot(slot, at).0
            }
        }
    }

    /// The tokens counted, in no order.
    fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.tokens.keys().copied()
    }

    /// The calls of the tokens `ids` as the database keeps them: counters per token, hour and outcome; addresses
    /// per token. A write sums up one transaction's tokens at a time, so the minute's write of 100,000 tokens in
    /// use never holds all their sums at once (it did: some 30 MiB more while it ran).
    fn totals(&self, ids: &[i64]) -> (Counts, Seen) {
        let (mut counts, mut seen) = (Counts::default(), Seen::default());
        for (token_id, calls) in ids.iter().filter_map(|id| self.tokens.get(id).map(|calls| (*id, calls))) {
            calls.for_each(|(hour, ip), calls| {
                for (outcome, n) in calls.outcomes() {
                    *counts.entry((token_id, hour, outcome)).or_default() += n;
                }
                let (first, last) = calls.span(hour);
                widen(&mut seen, (token_id, ip), first, last);
            });
        }
        (counts, seen)
    }
}

/// (token, address) pairs the writer knows are recorded, with the minute (Unix minutes) of the last seen it wrote.
type Known = FxHashMap<(i64, IpAddr), i64>;

/// Pairs remembered at most; past that the memory is dropped and rebuilt from the database as addresses come.
const KNOWN_AT_MOST: usize = 200_000;

/// Addresses this instance has not written yet, looked up and recorded per write at most. Each new one is an
/// insert, and maybe an audit event and a webhook row: 100,000 tokens used for the first time in one interval
/// held the database's write lock for seconds (sign-ins waiting on it failed). The rest wait for the next writes,
/// their first and last seen kept; the counters are written in full every time. 10,000 already recorded (a
/// restart) take about half a second on the bench machine's SQLite; 10,000 new ones, with their events, six.
const NEW_ADDRESSES_PER_WRITE: usize = 10_000;

/// New addresses recorded per transaction, and the pause between two: a writer waiting on SQLite's lock retries
/// every 100 ms once it has waited a while, so the pause lets it in, and no address transaction holds the lock for
/// more than a few hundred milliseconds.
const NEW_ADDRESSES_PER_TRANSACTION: usize = 500;
const PAUSE_BETWEEN_ADDRESS_BATCHES: std::time::Duration = std::time::Duration::from_millis(150);

/// Tokens whose counters are written per transaction, and the pause between two: the counters of 100,000 tokens
/// in use in one transaction held SQLite's write lock for 1.3-2.3 s on the bench machine under load, and every
/// change made meanwhile (a sign-in, a token created or revoked) waited for it. One of 2,000 holds it for tens of
/// milliseconds, while a waiter's retries are still a few milliseconds apart (SQLite's busy handler backs off to
/// 25 ms steps only after 50 ms, and to 100 ms after 230), so a shorter pause than the address batches' lets it
/// in. The pauses lengthen the minute's write (2.5 s more at 100,000 tokens: 7.5 s in all by hand on the bench
/// machine, with 10,000 addresses to check, while the longest sign-in took 146 ms); a write someone waits for
/// (a stopping server, a sort by requests) does not pause, but waits for a write under way.
const TOKENS_PER_TRANSACTION: usize = 2_000;
const PAUSE_BETWEEN_COUNTER_TRANSACTIONS: std::time::Duration = std::time::Duration::from_millis(50);

/// Cheap to clone; every clone counts into the same batch.
#[derive(Clone, Default)]
pub struct UsageRecorder {
    inner: Option<Arc<Mutex<Pending>>>,
    /// Only the writer touches this, never a request.
    known: Arc<Mutex<Known>>,
    /// Held for a whole flush, so one that someone waits for (a stopping server, a sort by requests) waits for a
    /// write already under way instead of reading before it commits. It also holds what only the writer needs (the
    /// window's start), so requests never wait while it is put aside.
    flushing: Arc<tokio::sync::Mutex<Writer>>,
    /// What readers add to the database's figures besides what is waiting; see [`Unwritten`].
    unwritten: Arc<Unwritten>,
}

/// The writer's own state between flushes.
#[derive(Default)]
struct Writer {
    /// The start of the tokens' requests window as the last write left it (none yet: ask the database).
    window: Option<DateTime<Utc>>,
}

/// What memory holds that the database does not show yet, besides what is waiting: the batch a write under way
/// took (and how far its counters are committed), and the new addresses writes left for later. Readers (a usage
/// report, the tokens table's requests) read the database and then memory without a lock, and again if a write
/// changed what they see meanwhile: a write makes each change (taking its batch, committing a transaction of
/// counters, putting its batch away) between two steps of `generation`, odd while it is under way. A reader that
/// read the same even generation before and after its reads counted each call once, in the database or in memory.
/// So a reader never writes, never holds anything a write waits for, and waits only for a commit under way.
#[derive(Default)]
struct Unwritten {
    generation: AtomicU64,
    /// Wakes readers waiting for a change to end.
    settled: tokio::sync::Notify,
    state: Mutex<UnwrittenState>,
}

#[derive(Default)]
struct UnwrittenState {
    /// The batch of the write under way (empty between writes).
    taken: Arc<Pending>,
    /// The counters of the tokens in `taken` with ids below this are committed.
    committed_below: i64,
    /// New addresses left for a later write.
    left: Arc<Vec<Sighting>>,
}

impl Unwritten {
    fn state(&self) -> std::sync::MutexGuard<'_, UnwrittenState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks a change under way until the guard is dropped.
    fn changing(&self) -> Changing<'_> {
        self.generation.fetch_add(1, Ordering::SeqCst);
        Changing(self)
    }
}

/// A change readers must not read across: see [`Unwritten`].
struct Changing<'a>(&'a Unwritten);

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        self.0.settled.notify_waiters();
    }
}

/// Reads a reader repeats at most when writes keep changing what it sees; past that it keeps its last reading,
/// which may miss or repeat the calls of one transaction (a reading takes a few milliseconds, and transactions
/// of counters come 50 ms apart or one after another, so a second reading is rare and a twentieth unseen).
const READINGS_AT_MOST: usize = 20;

/// The hours the tokens table's "Requests (30 d)" counts: this one and the 719 before it.
const WINDOW_HOURS: i64 = 30 * 24;

/// The first hour of the requests window at `now`.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let hour = now.timestamp().div_euclid(3600) * 3600;
    Utc.timestamp_opt(hour, 0).single().unwrap_or(now) - Duration::hours(WINDOW_HOURS - 1)
}

impl UsageRecorder {
    /// Counts nothing (the command line).
    pub fn disabled() -> Self {
        Self { inner: None, ..Self::default() }
    }

    pub fn enabled() -> Self {
        Self { inner: Some(Arc::default()), ..Self::default() }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Remembers pairs a committed transaction wrote.
    fn remember(&self, written: Recorded) {
        let mut known = self.known();
        if known.len() + written.len() > KNOWN_AT_MOST {
            known.clear();
        }
        known.extend(written);
    }

    /// Forgets every pair (after a prune removed addresses, so a use from one of them is new again).
    pub fn forget_addresses(&self) {
        self.known().clear();
    }

    fn pending(&self) -> Option<std::sync::MutexGuard<'_, Pending>> {
        self.inner.as_ref().map(|inner| inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Counts one call of `token_id` that ended in `outcome`, at `at` from `ip`. Never waits on the database.
    pub fn count(&self, token_id: i64, outcome: UseOutcome, at: DateTime<Utc>, ip: IpAddr) {
        let Some(mut pending) = self.pending() else { return };
        let hour = at.timestamp().div_euclid(3600) * 3600;
        pending.slot(token_id, (hour, ip.to_canonical()), at).add(outcome, at);
    }

    /// Entries (token, hour, address) waiting to be written (for `/metrics`: the memory this takes is bounded by
    /// what one flush interval sees).
    pub fn waiting(&self) -> usize {
        self.pending().map_or(0, |pending| pending.entries)
    }

    /// Takes what is waiting, leaving a map sized for as much again: the next interval usually sees the same
    /// tokens, and growing a map rehashes it under the lock, on a request's path.
    fn take(&self) -> Pending {
        let Some(mut pending) = self.pending() else { return Pending::default() };
        let next = Pending {
            tokens: FxHashMap::with_capacity_and_hasher(pending.tokens.len(), Default::default()),
            entries: 0,
        };
        std::mem::replace(&mut *pending, next)
    }

    /// Puts back the entries of tokens `from` on (by id) of what a failed write took, so no count is lost while
    /// the database is away (those of the tokens before are written).
    fn put_back(&self, failed: &Pending, from: i64) {
        let Some(mut pending) = self.pending() else { return };
        for (&token_id, theirs) in failed.tokens.iter().filter(|(token_id, _)| **token_id >= from) {
            theirs.for_each(|slot, calls| pending.slot(token_id, slot, calls.span(slot.0).0).merge(calls));
        }
    }

    /// Takes what is waiting for a write, in readers' view (see [`Unwritten`]); with the new addresses left.
    fn take_for_write(&self) -> (Arc<Pending>, Arc<Vec<Sighting>>) {
        let _changing = self.unwritten.changing();
        let mut state = self.unwritten.state();
        let taken = Arc::new(self.take());
        state.taken = Arc::clone(&taken);
        state.committed_below = i64::MIN;
        (taken, Arc::clone(&state.left))
    }

    /// The generation once no change is under way (see [`Unwritten`]).
    async fn settled(&self) -> u64 {
        loop {
            let settled = self.unwritten.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            let generation = self.unwritten.generation.load(Ordering::SeqCst);
            if generation.is_multiple_of(2) {
                return generation;
            }
            settled.await;
        }
    }

    /// Whether a reading that began at `generation` (from [`Self::settled`]) saw one state, and so is to be kept;
    /// or, past [`READINGS_AT_MOST`] readings (`readings` counts them), kept all the same.
    fn kept(&self, generation: u64, readings: &mut usize) -> bool {
        *readings += 1;
        self.unwritten.generation.load(Ordering::SeqCst) == generation || *readings >= READINGS_AT_MOST
    }

    /// What memory holds beside the database now.
    fn reading(&self) -> Reading<'_> {
        let state = self.unwritten.state();
        Reading {
            recorder: self,
            taken: Arc::clone(&state.taken),
            committed_below: state.committed_below,
            left: Arc::clone(&state.left),
        }
    }
}

/// What memory holds beside the database: see [`UsageRecorder::reading`].
struct Reading<'a> {
    recorder: &'a UsageRecorder,
    taken: Arc<Pending>,
    committed_below: i64,
    left: Arc<Vec<Sighting>>,
}

impl Reading<'_> {
    /// The calls of `token_id` the database does not hold yet: (hour as Unix seconds, outcome, calls).
    fn calls(&self, token_id: i64) -> Vec<(i64, UseOutcome, u64)> {
        let mut out = Vec::new();
        let mut add = |calls: &TokenCalls| {
            calls.for_each(|(hour, _), calls| out.extend(calls.outcomes().map(|(outcome, n)| (hour, outcome, n))));
        };
        if token_id >= self.committed_below
            && let Some(calls) = self.taken.tokens.get(&token_id)
        {
            add(calls);
        }
        if let Some(pending) = self.recorder.pending()
            && let Some(calls) = pending.tokens.get(&token_id)
        {
            add(calls);
        }
        out
    }

    /// The addresses `token_id` was used from that the database may not show yet, or not with these times: each
    /// with its first and last use.
    fn addresses(&self, token_id: i64) -> FxHashMap<IpAddr, (DateTime<Utc>, DateTime<Utc>)> {
        let mut out: FxHashMap<IpAddr, (DateTime<Utc>, DateTime<Utc>)> = FxHashMap::default();
        let mut add = |ip: IpAddr, first: DateTime<Utc>, last: DateTime<Utc>| widen(&mut out, ip, first, last);
        // Recording an address is idempotent, so what a write under way may have recorded already is taken too.
        for &(_, ip, first, last) in self.left.iter().filter(|(id, ..)| *id == token_id) {
            add(ip, first, last);
        }
        if let Some(calls) = self.taken.tokens.get(&token_id) {
            calls.for_each(|(hour, ip), calls| {
                let (first, last) = calls.span(hour);
                add(ip, first, last);
            });
        }
        if let Some(pending) = self.recorder.pending()
            && let Some(calls) = pending.tokens.get(&token_id)
        {
            calls.for_each(|(hour, ip), calls| {
                let (first, last) = calls.span(hour);
                add(ip, first, last);
            });
        }
        out
    }
}

fn minute_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

/// Writes what was counted since the last flush, a few thousand tokens per transaction, and raises the new-address
/// events. On a failure the counts not yet written go back into memory for the next flush. The write runs as a task
/// of its own: a list sorted by requests flushes first, and a client hanging up drops that request's future, which
/// must not drop counts already taken out of memory for a write under way.
///
/// This is the write someone waits for (a stopping server, the tokens table sorted by requests, the busiest tokens,
/// which order by what the database holds): its transactions
/// of counters follow each other without a pause, as the whole write is on that caller's path. The minute's write
/// is [`flush_in_background`].
pub async fn flush(core: &Core) -> Result<(), DbErr> {
    flush_at(core, Pace::Prompt).await
}

/// The minute's write: as [`flush`], with a pause between two transactions of counters, so a change waiting for
/// the database's write lock (a sign-in, a token created) gets in after one of them.
pub async fn flush_in_background(core: &Core) -> Result<(), DbErr> {
    flush_at(core, Pace::Patient).await
}

/// Whether a write pauses between its transactions of counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    /// Someone waits for the write: no pause.
    Prompt,
    /// Nobody waits for it: [`PAUSE_BETWEEN_COUNTER_TRANSACTIONS`] between two.
    Patient,
}

async fn flush_at(core: &Core, pace: Pace) -> Result<(), DbErr> {
    let core = core.clone();
    tokio::spawn(async move { flush_now(&core, pace).await })
        .await
        .map_err(|err| DbErr::Custom(format!("the usage write stopped: {err}")))?
}

async fn flush_now(core: &Core, pace: Pace) -> Result<(), DbErr> {
    let mut writer = core.usage.flushing.lock().await;
    let window = window_start(core.clock.now());
    let slide = writer.window.is_none_or(|start| start < window);
    let (pending, left) = core.usage.take_for_write();
    if pending.entries == 0 && left.is_empty() && !slide {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let Written { recorded, later, window, failed } = write(core, &pending, &left, window, pace).await;
    if window.is_some() {
        writer.window = window;
    }
    let (entries, left) = (pending.entries, later.len());
    {
        let _changing = core.usage.unwritten.changing();
        if let Some((from, _)) = &failed {
            // The counters of the tokens before `from` are written and must not be written again.
            core.usage.put_back(&pending, *from);
        }
        let mut state = core.usage.unwritten.state();
        state.taken = Arc::default();
        state.left = Arc::new(later);
    }
    match failed {
        None => {
            tracing::debug!(
                entries,
                addresses = recorded,
                left,
                micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                "usage written"
            );
            Ok(())
        }
        Some((_, err)) => {
            tracing::warn!(error = %err, "writing usage counters failed; keeping them for the next try");
            Err(err)
        }
    }
}

/// A new address left for a later write: (token, address, first seen, last seen).
type Sighting = (i64, IpAddr, DateTime<Utc>, DateTime<Utc>);

/// Address pairs (token, address) recorded, each with the minute (Unix minutes) of the last seen written.
type Recorded = Vec<((i64, IpAddr), i64)>;

/// What a write did.
struct Written {
    /// The address pairs now recorded (or seen again); the writer remembers them as each transaction commits.
    recorded: usize,
    /// New addresses left for the next write (beyond [`NEW_ADDRESSES_PER_WRITE`], or not reached).
    later: Vec<Sighting>,
    /// The requests window's start in force, once the first transaction went in.
    window: Option<DateTime<Utc>>,
    /// Where the counters stopped: those of tokens from this id on were not written, and why.
    failed: Option<(i64, DbErr)>,
}

/// Writes `pending` and the new addresses an earlier write `left`, and moves the tokens' requests window to start
/// at `window` (the hours leaving it are taken out of each token's calls in `token_requests`; the calls written
/// for hours inside it are added). The counters go in transactions of [`TOKENS_PER_TRANSACTION`] tokens each, in
/// the order of their ids (with a pause between two when `pace` is patient), each summed up just before it goes
/// in, then the addresses new to this instance in transactions of their own, with a pause between two, so a
/// change waiting for the database's write lock waits for one of them, not for the whole write. A transaction
/// that fails ends the write: the counters written before it stay written (putting them back would count them
/// twice), those of the tokens from the failed one on are answered in `failed` for the caller to put back, and
/// the new addresses are left for the next write.
async fn write(core: &Core, pending: &Pending, left: &[Sighting], window: DateTime<Utc>, pace: Pace) -> Written {
    let mut ids: Vec<i64> = pending.ids().chain(left.iter().map(|(id, ..)| *id)).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut left: Vec<&Sighting> = left.iter().collect();
    left.sort_unstable_by_key(|(id, ..)| *id);

    // The pairs the database has to be asked about, of all the runs.
    let mut unknown: Vec<Sighting> = Vec::new();
    let mut recorded = 0;
    let mut in_force = None;
    // At least one transaction, which moves the window even when nothing was counted.
    let runs: Vec<&[i64]> = if ids.is_empty() { vec![&[]] } else { ids.chunks(TOKENS_PER_TRANSACTION).collect() };
    let mut left_rest = left.as_slice();
    for (n, run) in runs.into_iter().enumerate() {
        if n > 0 && pace == Pace::Patient {
            tokio::time::sleep(PAUSE_BETWEEN_COUNTER_TRANSACTIONS).await;
        }
        let last = run.last().copied().unwrap_or(i64::MAX);
        let (left_these, rest) = left_rest.split_at(left_rest.partition_point(|(id, ..)| *id <= last));
        left_rest = rest;
        let (counts, mut seen) = pending.totals(run);
        for &&(token_id, ip, first, last) in left_these {
            widen(&mut seen, (token_id, ip), first, last);
        }
        // Which pairs were written recently enough to skip, and which the database has to be asked about.
        let mut again = Vec::new();
        {
            let known = core.usage.known();
            for ((token_id, ip), (first, last)) in seen {
                match known.get(&(token_id, ip)) {
                    Some(&minute) if minute_of(last) <= minute => {}
                    Some(_) => again.push((token_id, ip, last)),
                    None => unknown.push((token_id, ip, first, last)),
                }
            }
        }
        // By token, as the transaction takes its rows.
        let mut increments: Vec<(i64, i64, UseOutcome, u64)> =
            counts.into_iter().map(|((token_id, hour, outcome), count)| (token_id, hour, outcome, count)).collect();
        increments.sort_unstable_by_key(|&(token_id, hour, outcome, _)| (token_id, hour, outcome as usize));
        again.sort_unstable_by_key(|&(token_id, ip, _)| (token_id, ip));
        match write_counters(core, run, &increments, &again, window).await {
            Ok(start) => {
                in_force = Some(start);
                recorded += again.len();
                core.usage
                    .remember(again.iter().map(|&(token_id, ip, last)| ((token_id, ip), minute_of(last))).collect());
            }
            Err(err) => {
                // The tokens after this run were not summed up: their new addresses an earlier write left wait
                // for the next one (their calls go back into memory, with their addresses).
                unknown.extend(left_rest.iter().map(|sighting| **sighting));
                let from = run.first().copied().unwrap_or(i64::MIN);
                return Written { recorded, later: unknown, window: in_force, failed: Some((from, err)) };
            }
        }
    }

    // The counters are in. The addresses this instance has not written yet, the earliest first (the rest for
    // later), go in transactions of their own, a few hundred pairs each with a pause between, so a backlog of new
    // addresses (each an insert, an audit event and a webhook row) never holds the write lock for long: 10,000
    // new addresses in one transaction held it for six seconds on the bench machine, and the sign-in locks task
    // waiting on it failed ("database is locked"). Each batch skips the tokens revoked by then. A batch that fails
    // is left, with the rest, for the next write; the counters written above stay written.
    unknown.sort_unstable_by_key(|&(token_id, ip, first, _)| (first, token_id, ip));
    let mut later = unknown.split_off(unknown.len().min(NEW_ADDRESSES_PER_WRITE));
    let mut batches = unknown.chunks(NEW_ADDRESSES_PER_TRANSACTION).peekable();
    while let Some(batch) = batches.next() {
        match record_new_addresses(core, batch).await {
            Ok(written) => {
                recorded += written.len();
                core.usage.remember(written);
            }
            Err(err) => {
                tracing::warn!(error = %err, "recording new addresses failed; keeping them for the next write");
                later.extend(batch.iter().copied());
                later.extend(batches.flatten().copied());
                break;
            }
        }
        if batches.peek().is_some() {
            tokio::time::sleep(PAUSE_BETWEEN_ADDRESS_BATCHES).await;
        }
    }
    Written { recorded, later, window: in_force, failed: None }
}

/// One transaction of counters, for the tokens `ids` (in order): the tokens' rows first, by id (a revoke deletes
/// the token's row and then, cascading, its counters and window row, so taking them the other way round could
/// deadlock with it on PostgreSQL; the last-use writer also goes by id), then the window (moved by the first
/// transaction of a write; the others find it moved, or moved further by another instance), then the calls of
/// the tokens still there, and the last seen of their known addresses. Answers the window's start in force.
async fn write_counters(
    core: &Core,
    ids: &[i64],
    increments: &[(i64, i64, UseOutcome, u64)],
    again: &[(i64, IpAddr, DateTime<Utc>)],
    window: DateTime<Utc>,
) -> Result<DateTime<Utc>, DbErr> {
    let txn = store::begin_write(&core.db).await?;
    let done: Result<DateTime<Utc>, DbErr> = async {
        let existing: HashSet<i64> = store_usage::existing_tokens(&txn, ids).await?.into_iter().collect();
        let increments: Vec<store_usage::Increment> = increments
            .iter()
            .filter(|(token_id, ..)| existing.contains(token_id))
            .map(|&(token_id, hour, outcome, count)| {
                let hour = Utc.timestamp_opt(hour, 0).single().unwrap_or_default();
                (token_id, hour, outcome.as_str(), i64::try_from(count).unwrap_or(i64::MAX))
            })
            .collect();
        let start = store_usage::slide_window(&txn, window).await?;
        let mut in_window: FxHashMap<i64, i64> = FxHashMap::default();
        for &(token_id, _, _, count) in increments.iter().filter(|(_, hour, ..)| *hour >= start) {
            *in_window.entry(token_id).or_default() += count;
        }
        let mut in_window: Vec<(i64, i64)> = in_window.into_iter().collect();
        in_window.sort_unstable();
        store_usage::add_to_window(&txn, &in_window).await?;
        store_usage::add_all(&txn, &increments).await?;
        let again: Vec<_> = again.iter().filter(|(token_id, ..)| existing.contains(token_id)).copied().collect();
        seen_again(&txn, &again).await?;
        Ok(start)
    }
    .await;
    // Readers' view then moves past these tokens, in one change with the commit: a reader finds their calls in the
    // database or in memory, never in both.
    let changing = core.usage.unwritten.changing();
    let start = store::finish(txn, done).await;
    if start.is_ok() {
        core.usage.unwritten.state().committed_below = ids.last().map_or(i64::MIN, |last| last.saturating_add(1));
    }
    drop(changing);
    start
}

/// Moves the last seen of addresses already recorded forward.
async fn seen_again(db: &impl sea_orm::ConnectionTrait, again: &[(i64, IpAddr, DateTime<Utc>)]) -> Result<(), DbErr> {
    let sightings: Vec<store_usage::Sighting> =
        again.iter().map(|&(token_id, ip, last)| (token_id, ip.to_string(), last)).collect();
    store_usage::seen_again(db, &sightings).await
}

/// Records `batch`, pairs this instance has not written yet, in one transaction: those the database already holds
/// (another instance, or an earlier run, wrote them) are seen again; the others are inserted one by one, race-free
/// across instances, and the insert that wins raises the event. The pairs recorded, with the minute written.
async fn record_new_addresses(core: &Core, batch: &[Sighting]) -> Result<Recorded, DbErr> {
    let mut ids: Vec<i64> = batch.iter().map(|(id, ..)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let txn = store::begin_write(&core.db).await?;
    let done: Result<(Recorded, bool), DbErr> = async {
        // The tokens first, by id, as the counters' transaction takes them (a token revoked since is skipped).
        let existing: HashSet<i64> = store_usage::existing_tokens(&txn, &ids).await?.into_iter().collect();
        let recorded: HashSet<(i64, String)> = store_usage::known_addresses(&txn, &ids).await?.into_iter().collect();
        let (mut again, mut written, mut raised) = (Vec::new(), Vec::new(), false);
        for &(token_id, ip, first, last) in batch.iter().filter(|(token_id, ..)| existing.contains(token_id)) {
            let text = ip.to_string();
            if recorded.contains(&(token_id, text.clone())) {
                again.push((token_id, ip, last));
            } else if store_usage::seen_from(&txn, token_id, &text, first, last).await? {
                raised |= new_address(&txn, core, token_id, &text, first).await?;
            }
            written.push(((token_id, ip), minute_of(last)));
        }
        seen_again(&txn, &again).await?;
        Ok((written, raised))
    }
    .await;
    let (written, raised) = store::finish(txn, done).await?;
    if raised {
        core.notifications.wake();
    }
    Ok(written)
}

/// A token's first use from `ip`: an audit event by its owner through it, and `token.new_address`.
async fn new_address(
    db: &impl sea_orm::ConnectionTrait,
    core: &Core,
    token_id: i64,
    ip: &str,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let Some(token) = tokens::find_by_id(db, token_id).await? else { return Ok(false) };
    let Some(owner) = accounts::find_by_id(db, token.account_id).await? else { return Ok(false) };
    let event =
        NewEvent::by("token.new_address", &owner).via(Some(&token.name)).target(token.name.as_str()).from_ip(Some(ip));
    audit::record(db, event, at).await?;
    let data = json!({"account": owner.username, "token": {"name": token.name}, "ip": ip, "first_seen": at});
    notify::emit(db, core, Event { kind: "token.new_address", data, mail: None }).await?;
    Ok(true)
}

/// Runs the writer (every `every`) and the daily prune until the last other holder of `core` is gone.
pub fn spawn(core: Core, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pruned: Option<DateTime<Utc>> = None;
        loop {
            tick.tick().await;
            let last = Arc::strong_count(&core.notifications) <= 1;
            let _ = flush_in_background(&core).await;
            if last {
                return;
            }
            let now = core.clock.now();
            if pruned.is_none_or(|at| now - at >= Duration::hours(1)) {
                pruned = Some(now);
                let before = now - Duration::days(i64::from(core.usage_retention_days));
                match store_usage::prune(&core.db, before).await {
                    Ok(0) => {}
                    Ok(rows) => {
                        core.usage.forget_addresses();
                        tracing::info!(rows, "pruned usage older than the retention");
                    }
                    Err(err) => tracing::warn!(error = %err, "pruning usage failed"),
                }
            }
        }
    });
}

/// The token named `name` of the actor's account, authorised as the token service authorises.
async fn token_of(core: &Core, actor: &Actor, name: &str) -> Result<tokens::Token, AppError> {
    let owner = super::tokens::authorise(actor)?;
    super::tokens::find(core, owner, name).await
}

/// How a period is cut up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
}

impl std::str::FromStr for Bucket {
    type Err = AppError;

    fn from_str(raw: &str) -> Result<Self, AppError> {
        match raw {
            "hour" => Ok(Self::Hour),
            "day" => Ok(Self::Day),
            _ => Err(AppError::invalid("bucket", "The bucket is “hour” or “day”.")),
        }
    }
}

/// The longest period one report covers.
pub const MAX_DAYS: i64 = 400;

/// The start of the bucket holding `at`.
fn bucket_start(core: &Core, bucket: Bucket, at: DateTime<Utc>) -> DateTime<Utc> {
    match bucket {
        Bucket::Hour => at.duration_trunc(Duration::hours(1)).unwrap_or(at),
        Bucket::Day => {
            let day = at.with_timezone(&core.time_zone).date_naive();
            day_start(core, day)
        }
    }
}

fn day_start(core: &Core, day: NaiveDate) -> DateTime<Utc> {
    super::audit::start_of(day, core.time_zone)
}

fn next_bucket(core: &Core, bucket: Bucket, start: DateTime<Utc>) -> DateTime<Utc> {
    match bucket {
        Bucket::Hour => start + Duration::hours(1),
        Bucket::Day => {
            let day = start.with_timezone(&core.time_zone).date_naive();
            day.succ_opt().map_or(start + Duration::days(1), |next| day_start(core, next))
        }
    }
}

/// Sums hourly rows into buckets covering `[from, to)`: every bucket, those without calls too.
fn buckets(core: &Core, bucket: Bucket, from: DateTime<Utc>, to: DateTime<Utc>, rows: &[UsageRow]) -> Vec<UsageBucket> {
    let mut out = Vec::new();
    let mut start = bucket_start(core, bucket, from);
    let mut rows = rows.iter().peekable();
    while start < to {
        let end = next_bucket(core, bucket, start);
        let mut outcomes = BTreeMap::new();
        while let Some(row) = rows.next_if(|row| row.hour < end) {
            if row.hour >= start {
                *outcomes.entry(row.outcome.clone()).or_insert(0) += u64::try_from(row.count).unwrap_or(0);
            }
        }
        let accepted = outcomes.get("accepted").copied().unwrap_or(0);
        let refused = outcomes.iter().filter(|(name, _)| *name != "accepted").map(|(_, n)| n).sum();
        out.push(UsageBucket { start, accepted, refused, outcomes });
        start = end;
    }
    out
}

/// A token's usage over `[from, to)` by hour or day (at most [`MAX_DAYS`] days).
pub async fn report(
    core: &Core,
    actor: &Actor,
    name: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    bucket: Bucket,
) -> Result<UsageReport, AppError> {
    let token = token_of(core, actor, name).await?;
    let now = core.clock.now();
    // By default up to the end of the current hour, so the calls of this very hour are in.
    let to = to.unwrap_or_else(|| next_bucket(core, Bucket::Hour, bucket_start(core, Bucket::Hour, now)));
    let from = from.unwrap_or(to - Duration::days(30));
    if from >= to {
        return Err(AppError::invalid("from", "“from” must be before “to”."));
    }
    if to - from > Duration::days(MAX_DAYS) {
        return Err(AppError::invalid("from", format!("A report covers at most {MAX_DAYS} days.")));
    }
    if bucket == Bucket::Hour && to - from > Duration::days(31) {
        return Err(AppError::invalid("bucket", "Hourly buckets cover at most 31 days; use bucket=day."));
    }
    let start = bucket_start(core, bucket, from);
    // What the database holds and what memory holds beside it, as one state: nothing is written for a report, nor
    // waited for but a commit under way.
    let mut readings = 0;
    let (mut rows, unwritten) = loop {
        let generation = core.usage.settled().await;
        let rows = store_usage::between(&core.db, token.id, start, to).await?;
        let unwritten = core.usage.reading().calls(token.id);
        if core.usage.kept(generation, &mut readings) {
            break (rows, unwritten);
        }
    };
    // Addresses are merged, not added up: any reading of them will do.
    let addresses = latest_addresses(core, token.id, core.usage.reading().addresses(token.id)).await?;
    for (hour, outcome, calls) in unwritten {
        let hour = Utc.timestamp_opt(hour, 0).single().unwrap_or_default();
        if hour >= start && hour < to {
            rows.push(UsageRow {
                hour,
                outcome: outcome.as_str().to_owned(),
                count: i64::try_from(calls).unwrap_or(i64::MAX),
            });
        }
    }
    rows.sort_by_key(|row| row.hour);
    Ok(UsageReport {
        token: token.name,
        bucket: match bucket {
            Bucket::Hour => "hour".into(),
            Bucket::Day => "day".into(),
        },
        from: start,
        to,
        buckets: buckets(core, bucket, start, to, &rows),
        addresses,
    })
}

/// The token's [`ADDRESSES_SHOWN`] latest addresses: those recorded, with the uses memory holds (`seen`) merged in.
async fn latest_addresses(
    core: &Core,
    token_id: i64,
    seen: FxHashMap<IpAddr, (DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Vec<AddressSeen>, DbErr> {
    let mut seen: Vec<(String, DateTime<Utc>, DateTime<Utc>)> =
        seen.into_iter().map(|(ip, (first, last))| (ip.to_string(), first, last)).collect();
    // Only the latest of these can be among the latest of all; their records hold their first use.
    seen.sort_unstable_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    seen.truncate(ADDRESSES_SHOWN as usize);
    let mut recorded = store_usage::addresses(&core.db, token_id, ADDRESSES_SHOWN).await?;
    if !seen.is_empty() {
        let ips = seen.iter().map(|(ip, ..)| ip.clone()).collect();
        recorded.extend(store_usage::addresses_among(&core.db, token_id, ips).await?);
    }
    let mut by_ip: HashMap<String, (DateTime<Utc>, DateTime<Utc>)> = HashMap::new();
    let rows = recorded.into_iter().map(|a| (a.ip, a.first_seen, a.last_seen)).chain(seen);
    for (ip, first, last) in rows {
        widen(&mut by_ip, ip, first, last);
    }
    let mut out: Vec<AddressSeen> =
        by_ip.into_iter().map(|(ip, (first_seen, last_seen))| AddressSeen { ip, first_seen, last_seen }).collect();
    out.sort_unstable_by(|a, b| b.last_seen.cmp(&a.last_seen).then_with(|| a.ip.cmp(&b.ip)));
    out.truncate(ADDRESSES_SHOWN as usize);
    Ok(out)
}

/// The Manage page's view: the last 30 days by day, and the latest addresses.
pub async fn summary(core: &Core, actor: &Actor, name: &str) -> Result<UsageSummary, AppError> {
    let now = core.clock.now();
    let today = now.with_timezone(&core.time_zone).date_naive();
    let first = today - Duration::days(29);
    let report = report(core, actor, name, Some(day_start(core, first)), None, Bucket::Day).await?;
    Ok(UsageSummary {
        days: report
            .buckets
            .iter()
            .map(|b| DayUsage {
                day: b.start.with_timezone(&core.time_zone).format("%Y-%m-%d").to_string(),
                accepted: b.accepted,
                refused: b.refused,
            })
            .collect(),
        addresses: report
            .addresses
            .into_iter()
            .map(|a| AddressRow {
                ip: a.ip,
                first_seen: notify::local(core, a.first_seen),
                last_seen: notify::local(core, a.last_seen),
            })
            .collect(),
    })
}

/// Calls in the requests window (this hour and the 719 before it: 30 days) of the actor's tokens named `names`
/// (the tokens table's column), by name: what the database keeps beside each token, with the calls memory holds
/// added and those of hours that left the window since the last write taken out. Nothing is written for it, nor
/// waited for: a page of the table costs a few reads, however many tokens are busy.
pub async fn last_30_days(core: &Core, actor: &Actor, names: &[String]) -> Result<HashMap<String, u64>, AppError> {
    let Some(owner) = actor.account() else { return Ok(HashMap::new()) };
    let keys: Vec<String> = names.iter().map(|name| name.to_ascii_lowercase()).collect();
    let window = window_start(core.clock.now());
    // The stored window's start, the calls kept beside the tokens and those in memory, as one state: read again
    // should this instance's writer or another instance (moving the window) change any of them in between.
    let mut readings = 0;
    let (stored, rows, left, unwritten) = loop {
        let generation = core.usage.settled().await;
        let stored = store_usage::window_start(&core.db).await?;
        let rows = store_usage::requests_by_name(&core.db, owner.id, keys.clone()).await?;
        let ids: Vec<i64> = rows.iter().map(|(id, ..)| *id).collect();
        // Hours that left the window since the last write moved it (in the minute after an hour starts).
        let left: HashMap<i64, i64> = if stored.is_none_or(|stored| stored < window) {
            store_usage::calls_between(&core.db, &ids, stored, window).await?.into_iter().collect()
        } else {
            HashMap::new()
        };
        let reading = core.usage.reading();
        let unwritten: HashMap<i64, Vec<(i64, UseOutcome, u64)>> =
            ids.iter().map(|&id| (id, reading.calls(id))).collect();
        let moved = store_usage::window_start(&core.db).await? != stored;
        if core.usage.kept(generation, &mut readings) && !moved {
            break (stored, rows, left, unwritten);
        }
    };
    let from = stored.map_or(window, |stored| stored.max(window)).timestamp();
    let totals = rows
        .into_iter()
        .map(|(id, name, kept)| {
            let unwritten: u64 = unwritten
                .get(&id)
                .into_iter()
                .flatten()
                .filter(|(hour, ..)| *hour >= from)
                .map(|(.., calls)| calls)
                .sum();
            let kept = u64::try_from(kept - left.get(&id).copied().unwrap_or(0)).unwrap_or(0);
            (name, kept.saturating_add(unwritten))
        })
        .collect();
    Ok(totals)
}

/// The `limit` busiest tokens of every account over the requests window (the tokens table's "Requests (30 d)", the
/// same numbers), busiest first (administrators: `all`).
pub async fn busiest(core: &Core, actor: &Actor, limit: u64) -> Result<Vec<BusyToken>, AppError> {
    actor.require(crate::domain::ALL)?;
    flush(core).await?;
    let busiest = store_usage::busiest(&core.db, limit).await?;
    let ids: Vec<i64> = busiest.iter().map(|(id, _)| *id).collect();
    let mut names = tokens::names_with_owners(&core.db, &ids).await?;
    // A token revoked between the two queries is left out.
    Ok(busiest
        .into_iter()
        .filter_map(|(id, total)| {
            let (account, token) = names.remove(&id)?;
            Some(BusyToken { account, token, requests: u64::try_from(total).unwrap_or(0) })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, hour, minute, 0).single().unwrap_or_default()
    }

    /// The sums of every token in `pending`.
    fn sums(pending: &Pending) -> (Counts, Seen) {
        pending.totals(&pending.ids().collect::<Vec<_>>())
    }

    #[test]
    fn a_run_of_tokens_sums_up_only_its_own_calls() {
        let usage = UsageRecorder::enabled();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for token in [9, 3, 7, 5] {
            usage.count(token, UseOutcome::Accepted, at(9, 10), a);
        }
        let pending = usage.take();
        let mut ids: Vec<i64> = pending.ids().collect();
        ids.sort_unstable();
        assert_eq!(ids, [3, 5, 7, 9]);
        // A token of the run without calls (only an address left by an earlier write) adds nothing.
        let (counts, seen) = pending.totals(&[4, 5, 7]);
        let mut tokens: Vec<i64> = counts.keys().map(|(token, ..)| *token).collect();
        tokens.sort_unstable();
        assert_eq!(tokens, [5, 7]);
        assert_eq!(seen.len(), 2);
        assert!(seen.contains_key(&(5, a)) && seen.contains_key(&(7, a)));
    }

    #[test]
    fn one_entry_per_token_hour_and_address_sums_up_into_counters_and_addresses() {
        let usage = UsageRecorder::enabled();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "::ffff:192.0.2.2".parse().unwrap());
        usage.count(7, UseOutcome::Accepted, at(9, 10), a);
        usage.count(7, UseOutcome::Accepted, at(9, 20), b);
        usage.count(7, UseOutcome::RateLimited, at(9, 30), a);
        usage.count(7, UseOutcome::Accepted, at(10, 5), a);
        usage.count(8, UseOutcome::Privilege, at(9, 0), a);
        assert_eq!(usage.waiting(), 4);
        let (counts, seen) = sums(&usage.take());
        let hour = |h| at(h, 0).timestamp();
        let expected: Counts = [
            ((7, hour(9), UseOutcome::Accepted), 2),
            ((7, hour(9), UseOutcome::RateLimited), 1),
            ((7, hour(10), UseOutcome::Accepted), 1),
            ((8, hour(9), UseOutcome::Privilege), 1),
        ]
        .into_iter()
        .collect();
        assert_eq!(counts, expected);
        // The mapped IPv6 form is the IPv4 address; an address's first and last span both hours.
        let b = b.to_canonical();
        let expected: Seen =
            [((7, a), (at(9, 10), at(10, 5))), ((7, b), (at(9, 20), at(9, 20))), ((8, a), (at(9, 0), at(9, 0)))]
                .into_iter()
                .collect();
        assert_eq!(seen, expected);
        assert_eq!(usage.waiting(), 0);
    }

    #[test]
    fn an_entry_keeps_its_first_and_last_call_to_the_microsecond_in_64_bytes() {
        assert!(std::mem::size_of::<(i64, TokenCalls)>() <= 64, "{}", std::mem::size_of::<(i64, TokenCalls)>());
        let usage = UsageRecorder::enabled();
        let a: IpAddr = "2001:db8::7".parse().unwrap();
        let first = at(9, 0) + Duration::microseconds(1);
        let last = at(9, 59) + Duration::seconds(59) + Duration::microseconds(999_999);
        usage.count(7, UseOutcome::Accepted, first, a);
        usage.count(7, UseOutcome::Accepted, last, a);
        // The next hour is an entry of its own, its call a nanosecond-precise time kept to the microsecond.
        let next = at(10, 0) + Duration::nanoseconds(1_500);
        usage.count(7, UseOutcome::Accepted, next, a);
        let (counts, seen) = sums(&usage.take());
        assert_eq!(counts.get(&(7, at(9, 0).timestamp(), UseOutcome::Accepted)), Some(&2));
        assert_eq!(counts.get(&(7, at(10, 0).timestamp(), UseOutcome::Accepted)), Some(&1));
        let microsecond = at(10, 0) + Duration::microseconds(1);
        assert_eq!(seen.get(&(7, a)), Some(&(first, microsecond)));
    }

    #[test]
    fn a_token_used_from_many_addresses_keeps_each_one_as_its_entries_grow() {
        let usage = UsageRecorder::enabled();
        let ip = |n: u8| IpAddr::from([192, 0, 2, n]);
        // One address, then a few, then more than a list keeps: each call stays with its address and hour.
        for round in 0..3 {
            for n in 0..20 {
                usage.count(7, UseOutcome::Accepted, at(9, round * 10 + u32::from(n)), ip(n));
            }
            usage.count(7, UseOutcome::Expired, at(10, round), ip(0));
        }
        assert_eq!(usage.waiting(), 21);
        let (counts, seen) = sums(&usage.take());
        assert_eq!(counts.get(&(7, at(9, 0).timestamp(), UseOutcome::Accepted)), Some(&60));
        assert_eq!(counts.get(&(7, at(10, 0).timestamp(), UseOutcome::Expired)), Some(&3));
        assert_eq!(seen.len(), 20);
        assert_eq!(seen.get(&(7, ip(0))), Some(&(at(9, 0), at(10, 2))));
        assert_eq!(seen.get(&(7, ip(19))), Some(&(at(9, 19), at(9, 39))));
    }

    #[test]
    fn a_batch_put_back_after_a_failed_write_adds_to_what_came_meanwhile() {
        let usage = UsageRecorder::enabled();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        usage.count(7, UseOutcome::Accepted, at(9, 10), a);
        let failed = usage.take();
        usage.count(7, UseOutcome::Accepted, at(9, 40), a);
        usage.put_back(&failed, i64::MIN);
        let (counts, seen) = sums(&usage.take());
        assert_eq!(counts.get(&(7, at(9, 0).timestamp(), UseOutcome::Accepted)), Some(&2));
        assert_eq!(seen.get(&(7, a)), Some(&(at(9, 10), at(9, 40))));
    }

    #[test]
    fn calls_counted_from_many_threads_at_once_are_all_written() {
        let usage = UsageRecorder::enabled();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        std::thread::scope(|scope| {
            for thread in 0..8 {
                let usage = &usage;
                scope.spawn(move || {
                    for i in 0..10_000 {
                        usage.count((thread + i) % 8, UseOutcome::Accepted, at(9, 0), a);
                        if thread == 0 && i % 1_000 == 0 {
                            // A write under way meanwhile, which fails and puts its batch back.
                            usage.put_back(&usage.take(), i64::MIN);
                        }
                    }
                });
            }
        });
        let (counts, _) = sums(&usage.take());
        assert_eq!(counts.values().sum::<u64>(), 80_000);
        assert!((0..8).all(|token| counts.get(&(token, at(9, 0).timestamp(), UseOutcome::Accepted)) == Some(&10_000)));
    }
}
