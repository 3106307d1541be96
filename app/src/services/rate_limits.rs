//! Per-token rate limits (issue 15), enforced in memory on each instance with GCRA: a token limited to N calls
//! per period may make N calls at once, then one every period/N. With several instances each enforces the limit
//! on its own share of the calls (the form and the docs say so). Time comes from the core's clock, so tests drive
//! it without sleeping.

use super::tidy::TidyAbove;
use crate::domain::RateLimit;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use std::sync::{Arc, Mutex};

/// What a limited call is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Seconds until the next call would be allowed (at least 1).
    pub retry_after: u64,
}

/// The state of one token: its limit and its theoretical arrival time (GCRA's TAT), in nanoseconds since the
/// Unix epoch (an `i64` holds them until 2262; every interval here is at most an hour).
#[derive(Debug, Clone, Copy)]
struct Cell {
    limit: RateLimit,
    tat: i64,
}

/// The outcome of a call under a limit, for the `RateLimit` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: RateLimit,
    /// Calls left at once.
    pub remaining: u32,
    /// Seconds until the quota is full again.
    pub reset: u64,
}

#[derive(Clone)]
pub struct RateLimiter {
    /// By token id (ours, so a fast hasher: every verification of a limited token looks here).
    cells: Arc<Mutex<(FxHashMap<i64, Cell>, TidyAbove)>>,
    /// The minute (Unix minutes) each limited token's refusal was last audited in.
    audited: Arc<Mutex<(FxHashMap<i64, i64>, TidyAbove)>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            cells: Arc::new(Mutex::new((FxHashMap::default(), TidyAbove::new(TIDY_ABOVE)))),
            audited: Arc::new(Mutex::new((FxHashMap::default(), TidyAbove::new(TIDY_ABOVE)))),
        }
    }
}

/// Cells not touched for this long are forgotten when the map grows past `TIDY_ABOVE` (then each time it has
/// doubled since: `TidyAbove`); they would allow a full burst anyway.
const FORGET_AFTER_NANOS: i64 = 3_600 * 1_000_000_000 * 2;
const TIDY_ABOVE: usize = 100_000;

fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn ceil_seconds(nanos: i64) -> u64 {
    u64::try_from((nanos.max(0) + 999_999_999) / 1_000_000_000).unwrap_or(u64::MAX)
}

impl RateLimiter {
    /// Takes one call of `token_id` under `limit` at `now`: the quota left, or how long to wait.
    pub fn check(&self, token_id: i64, limit: RateLimit, now: DateTime<Utc>) -> Result<Quota, Limited> {
        let now = nanos(now);
        let interval = i64::try_from(limit.interval_nanos()).unwrap_or(i64::MAX);
        let tolerance = interval.saturating_mul(i64::from(limit.calls - 1));
        let mut guard = self.cells.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (cells, tidy) = &mut *guard;
        tidy.retain(cells, |_, cell| cell.tat > now - FORGET_AFTER_NANOS);
        let cell = cells.entry(token_id).or_insert(Cell { limit, tat: now });
        if cell.limit != limit {
            // The limit was changed: start afresh under the new one.
            *cell = Cell { limit, tat: now };
        }
        let tat = cell.tat.max(now);
        if tat - now > tolerance {
            return Err(Limited { retry_after: ceil_seconds(tat - now - tolerance).max(1) });
        }
        cell.tat = tat.saturating_add(interval);
        let used = cell.tat - now;
        let remaining =
            u32::try_from((interval.saturating_mul(i64::from(limit.calls)) - used).max(0) / interval).unwrap_or(0);
        Ok(Quota { limit, remaining, reset: ceil_seconds(used) })
    }

    /// Whether this refusal is the token's first in this minute (the one that is audited).
    pub fn first_refusal_this_minute(&self, token_id: i64, now: DateTime<Utc>) -> bool {
        let minute = now.timestamp().div_euclid(60);
        let mut guard = self.audited.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (audited, tidy) = &mut *guard;
        tidy.retain(audited, |_, at| *at >= minute - 1);
        audited.insert(token_id, minute) != Some(minute)
    }

    /// Tokens with a cell (for `/metrics`; bounded by the tidying above).
    pub fn tracked(&self) -> usize {
        self.cells.lock().map_or(0, |cells| cells.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Period;
    use chrono::{Duration, TimeZone};

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_burst_of_n_then_one_every_period_over_n() {
        let limiter = RateLimiter::default();
        let limit = RateLimit { calls: 10, per: Period::Minute };
        let t0 = start();
        for i in 0..10 {
            let quota = limiter.check(1, limit, t0).unwrap();
            assert_eq!(quota.remaining, 9 - i);
        }
        assert_eq!(limiter.check(1, limit, t0), Err(Limited { retry_after: 6 }));
        // One call comes back every 6 s.
        assert!(limiter.check(1, limit, t0 + Duration::milliseconds(5_999)).is_err());
        assert!(limiter.check(1, limit, t0 + Duration::seconds(6)).is_ok());
        assert!(limiter.check(1, limit, t0 + Duration::seconds(6)).is_err());
        // Other tokens are not affected.
        assert!(limiter.check(2, limit, t0).is_ok());
    }

    #[test]
    fn at_twice_the_rate_half_the_calls_are_refused_and_no_window_sees_more_than_a_burst_and_the_rate() {
        let limiter = RateLimiter::default();
        let limit = RateLimit { calls: 100, per: Period::Second };
        let t0 = start();
        // 200 calls a second for 10 seconds, evenly spaced.
        let mut accepted = Vec::new();
        for i in 0..2_000 {
            let at = t0 + Duration::microseconds(i * 5_000);
            if limiter.check(7, limit, at).is_ok() {
                accepted.push(at);
            }
        }
        // In all: the burst of 100 plus the rate for 10 seconds; about half of the 2,000 refused.
        assert!((1_099..=1_101).contains(&accepted.len()), "{}", accepted.len());
        // The worst second (the first: the burst, and the rate refilling it) stays within 2N; every later second
        // gets exactly the rate.
        for window in accepted.windows(201) {
            assert!(window[200] - window[0] >= Duration::seconds(1), "more than 2N in one second");
        }
        let last_second = accepted.iter().filter(|at| **at >= t0 + Duration::seconds(9)).count();
        assert_eq!(last_second, 100);
    }

    #[test]
    fn a_changed_limit_starts_afresh() {
        let limiter = RateLimiter::default();
        let t0 = start();
        let one = RateLimit { calls: 1, per: Period::Hour };
        assert!(limiter.check(1, one, t0).is_ok());
        assert!(limiter.check(1, one, t0).is_err());
        let more = RateLimit { calls: 5, per: Period::Hour };
        assert!(limiter.check(1, more, t0).is_ok());
    }

    #[test]
    fn more_limited_tokens_than_the_tidy_size_do_not_walk_the_cells_on_every_call() {
        let limiter = RateLimiter::default();
        let limit = RateLimit { calls: 10, per: Period::Minute };
        let t0 = start();
        for token_id in 0..300_000 {
            assert!(limiter.check(token_id, limit, t0).is_ok());
            assert!(limiter.first_refusal_this_minute(token_id, t0));
        }
        assert_eq!(limiter.tracked(), 300_000);
        let cells = limiter.cells.lock().unwrap();
        let audited = limiter.audited.lock().unwrap();
        assert!(cells.1.walks() <= 3 && audited.1.walks() <= 3, "{} and {} walks", cells.1.walks(), audited.1.walks());
    }
}
