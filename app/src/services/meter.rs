//! What this process keeps in memory about each token it verifies (issue 15): its rate-limit cell
//! (`rate_limits`) and the usage counted since the last write (`usage`), behind one lock.
//!
//! A verification reaches its token's meter through the verification cache's row it has just read (the row
//! carries a slot the first call fills), instead of looking the token up in two maps of every token in use: at
//! 10,000 busy tokens those look-ups were cache misses costing about 2% of a call. The cache starts over at every
//! change, so meters live in [`Meters`], one per token, and a row read again finds the same meter: a limit is
//! never reset by an unrelated change.

use super::{rate_limits::Cell, tidy::TidyAbove, usage::Calls};
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use std::{
    net::IpAddr,
    sync::{Arc, Mutex, MutexGuard, OnceLock},
};

/// Where a verification cache's row keeps its token's meter: empty when the row is read, filled from [`Meters`]
/// by the first call that needs it, and shared by every copy of the row.
pub type MeterSlot = Arc<OnceLock<Arc<Meter>>>;

/// One token's state in memory.
#[derive(Debug)]
pub struct Meter {
    token_id: i64,
    state: Mutex<MeterState>,
}

#[derive(Debug, Default)]
pub(super) struct MeterState {
    /// The rate-limit cell, once a call met a limit.
    pub(super) cell: Option<Cell>,
    /// The minute (Unix minutes) a refusal over the limit was last audited in.
    pub(super) audited_minute: Option<i64>,
    /// Calls counted since the last write, per hour (Unix seconds) and address. Usually one or two entries: a
    /// token used from more addresses in one interval spills the rest into the recorder's shared map.
    pub(super) calls: Vec<(i64, IpAddr, Calls)>,
    /// Whether the usage recorder has this meter in its list of meters to write.
    pub(super) listed: bool,
}

impl Meter {
    /// A meter of its own, in no registry (tests).
    pub fn detached(token_id: i64) -> Arc<Self> {
        Arc::new(Self { token_id, state: Mutex::default() })
    }

    pub fn token_id(&self) -> i64 {
        self.token_id
    }

    pub(super) fn state(&self) -> MutexGuard<'_, MeterState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Meters by token, kept while something still needs them: a cached row or the usage writer holds them, or
/// their cell still remembers calls.
#[derive(Debug)]
pub struct Meters {
    by_token: Mutex<(FxHashMap<i64, Arc<Meter>>, TidyAbove)>,
}

/// Meters are looked over for ones to drop when the map grows past this (then each time it has doubled since).
const TIDY_ABOVE: usize = 100_000;

impl Default for Meters {
    fn default() -> Self {
        Self { by_token: Mutex::new((FxHashMap::default(), TidyAbove::new(TIDY_ABOVE))) }
    }
}

impl Meters {
    fn lock(&self) -> MutexGuard<'_, (FxHashMap<i64, Arc<Meter>>, TidyAbove)> {
        self.by_token.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The meter of `token_id` (a new one when it has none); `now` decides which idle meters may be dropped.
    pub fn of(&self, token_id: i64, now: DateTime<Utc>) -> Arc<Meter> {
        let mut guard = self.lock();
        let (meters, tidy) = &mut *guard;
        tidy.retain(meters, |_, meter| Arc::strong_count(meter) > 1 || meter.state().is_busy(now));
        meters.entry(token_id).or_insert_with(|| Meter::detached(token_id)).clone()
    }

    /// Meters held (for tests).
    pub fn len(&self) -> usize {
        self.lock().0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tokens whose rate-limit cell is in memory (for `/metrics`; walks the meters).
    pub fn limited(&self) -> usize {
        self.lock().0.values().filter(|meter| meter.state().cell.is_some()).count()
    }

    /// Looks-overs of the map so far (for tests).
    #[cfg(test)]
    fn walks(&self) -> u64 {
        self.lock().1.walks()
    }
}

impl MeterState {
    /// Whether dropping this state would lose something: calls not yet written, a cell that still holds calls
    /// back (one whose time has come is the same as a fresh one), or a refusal audited this minute or the last.
    fn is_busy(&self, now: DateTime<Utc>) -> bool {
        let minute = now.timestamp().div_euclid(60);
        !self.calls.is_empty()
            || self.cell.as_ref().is_some_and(|cell| !cell.is_full(now))
            || self.audited_minute.is_some_and(|at| at >= minute - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Period, RateLimit};
    use chrono::{Duration, TimeZone};

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_token_has_one_meter_while_anything_holds_it() {
        let meters = Meters::default();
        let first = meters.of(7, start());
        assert!(Arc::ptr_eq(&first, &meters.of(7, start())));
        assert!(!Arc::ptr_eq(&first, &meters.of(8, start())));
        assert_eq!(first.token_id(), 7);
    }

    #[test]
    fn idle_meters_are_dropped_when_the_map_grows_and_held_or_busy_ones_are_kept() {
        let meters = Meters::default();
        let now = start();
        let limit = RateLimit { calls: 1, per: Period::Hour };
        // Held elsewhere (as a cached row holds its meter); busy with a refusal audited this minute; busy with a
        // cell that holds calls back for another hour; idle with a cell whose time has come.
        let held = meters.of(-1, now);
        meters.of(-2, now).state().audited_minute = Some(now.timestamp().div_euclid(60));
        meters.of(-3, now).state().cell = Some(spent(limit, now));
        meters.of(-4, now).state().cell = Some(spent(limit, now - Duration::hours(2)));
        for token_id in 0..i64::try_from(TIDY_ABOVE).unwrap() {
            drop(meters.of(token_id, now));
        }
        assert_eq!(meters.walks(), 1);
        assert!(meters.len() < 10, "{} meters kept", meters.len());
        assert!(Arc::ptr_eq(&held, &meters.of(-1, now)));
        assert!(meters.of(-2, now).state().audited_minute.is_some());
        assert!(meters.of(-3, now).state().cell.is_some());
        assert!(meters.of(-4, now).state().cell.is_none(), "a new meter");
    }

    /// A cell that took its one call at `at`.
    fn spent(limit: RateLimit, at: DateTime<Utc>) -> Cell {
        let mut cell = Cell::new(limit, at);
        assert!(cell.take(limit, at).is_ok());
        cell
    }

    #[test]
    fn many_tokens_in_use_do_not_walk_the_meters_on_every_new_one() {
        let meters = Meters::default();
        let now = start();
        // Every meter held, as 300,000 cached rows would hold theirs: nothing can be dropped.
        let held: Vec<_> = (0..300_000).map(|token_id| meters.of(token_id, now)).collect();
        assert_eq!(meters.len(), held.len());
        assert!(meters.walks() <= 3, "{} walks", meters.walks());
    }
}
