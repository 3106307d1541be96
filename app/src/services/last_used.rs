//! "Last used" time and client IP of each token (SPEC §3), recorded at most once a minute per token and written
//! off the request path: verification only drops a note into a channel; a background task writes the notes of
//! the last second in one transaction.

use super::tidy::TidyAbove;
use crate::store::tokens::{self, LastUse};
use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashMap;
use sea_orm::DatabaseConnection;
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};
use tokio::sync::mpsc;

/// A token's last use is written again only when the stored one is at least this old.
pub const RESOLUTION: Duration = Duration::minutes(1);
/// Notes waiting to be written; when the writer falls this far behind, further notes are dropped (they are
/// only "last used" hints, and the next minute brings another).
const QUEUE: usize = 16 * 1024;

/// Cheap to clone; every clone feeds the same writer.
#[derive(Clone, Default)]
pub struct LastUsedRecorder {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    notes: mpsc::Sender<LastUse>,
    /// When each token was last noted, so a busy token sends one note a minute, not one a request.
    noted: Mutex<Noted>,
}

struct Noted {
    at: FxHashMap<i64, DateTime<Utc>>,
    tidy: TidyAbove,
}

impl Default for Noted {
    fn default() -> Self {
        Self { at: FxHashMap::default(), tidy: TidyAbove::new(4 * QUEUE) }
    }
}

impl LastUsedRecorder {
    /// A recorder that records nothing (command-line tools).
    pub fn disabled() -> Self {
        Self { inner: None }
    }

    /// Starts the writer task on the current tokio runtime; it writes every `flush_every`.
    pub fn spawn(db: DatabaseConnection, flush_every: std::time::Duration) -> Self {
        let (notes, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_notes(db, receiver, flush_every));
        Self { inner: Some(Arc::new(Inner { notes, noted: Mutex::default() })) }
    }

    /// Notes that token `token_id` (whose stored last use is `stored`) was used at `now` from `ip`. Never waits.
    ///
    /// Returns when the token was last noted (`now` if this call noted it) whenever the stored last use was too
    /// old to answer: the caller keeps it as the token's stored last use (the verification cache's row), so the
    /// token's next calls within the minute are answered by it instead of by this recorder's map and lock.
    pub fn touch(
        &self,
        token_id: i64,
        stored: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        ip: IpAddr,
    ) -> Option<DateTime<Utc>> {
        let inner = self.inner.as_ref()?;
        let recent = |at: DateTime<Utc>| now - at < RESOLUTION && now >= at;
        if stored.is_some_and(recent) {
            return None;
        }
        {
            let mut noted = inner.noted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(at) = noted.at.get(&token_id).copied().filter(|at| recent(*at)) {
                return Some(at);
            }
            // Notes older than a minute no longer hold anything back: forget them so the map stays small.
            let Noted { at, tidy } = &mut *noted;
            tidy.retain(at, |_, at| now - *at < RESOLUTION);
            at.insert(token_id, now);
        }
        let _ = inner.notes.try_send(LastUse { token_id, at: now, ip });
        Some(now)
    }
}

async fn write_notes(db: DatabaseConnection, mut receiver: mpsc::Receiver<LastUse>, flush_every: std::time::Duration) {
    let mut tick = tokio::time::interval(flush_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::new();
    loop {
        tick.tick().await;
        let open = loop {
            match receiver.try_recv() {
                Ok(note) => batch.push(note),
                Err(mpsc::error::TryRecvError::Empty) => break true,
                Err(mpsc::error::TryRecvError::Disconnected) => break false,
            }
        };
        if !batch.is_empty() {
            // One row per token: the latest note wins.
            let mut latest: HashMap<i64, LastUse> = HashMap::new();
            for note in batch.drain(..) {
                match latest.get(&note.token_id) {
                    Some(seen) if seen.at >= note.at => {}
                    _ => {
                        latest.insert(note.token_id, note);
                    }
                }
            }
            // By token id, the order the usage writer takes the same rows in (no deadlock between the two).
            let mut uses: Vec<LastUse> = latest.into_values().collect();
            uses.sort_unstable_by_key(|note| note.token_id);
            if let Err(err) = tokens::record_last_use(&db, &uses).await {
                tracing::warn!(error = %err, tokens = uses.len(), "could not record when tokens were last used");
            }
        }
        if !open {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_touch_tells_when_the_token_was_last_noted_unless_its_stored_last_use_answered() {
        let (notes, mut receiver) = mpsc::channel(QUEUE);
        let recorder = LastUsedRecorder { inner: Some(Arc::new(Inner { notes, noted: Mutex::default() })) };
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        // Stored within the minute: nothing to note, nothing asked.
        assert_eq!(recorder.touch(7, Some(now - Duration::seconds(59)), now, ip), None);
        assert!(receiver.try_recv().is_err());
        // Stored too long ago: noted now, and said so.
        assert_eq!(recorder.touch(7, Some(now - Duration::minutes(2)), now, ip), Some(now));
        assert_eq!(receiver.try_recv().map(|note| (note.token_id, note.at)).ok(), Some((7, now)));
        // The same stale stored time again within the minute: not noted twice; the earlier note is the answer.
        let later = now + Duration::seconds(20);
        assert_eq!(recorder.touch(7, Some(now - Duration::minutes(2)), later, ip), Some(now));
        assert!(receiver.try_recv().is_err(), "one note a minute");
        // A minute after the note, the next call is noted again.
        let next = now + RESOLUTION;
        assert_eq!(recorder.touch(7, Some(now), next, ip), Some(next));
        assert_eq!(receiver.try_recv().map(|note| note.at).ok(), Some(next));
        assert_eq!(LastUsedRecorder::disabled().touch(7, None, now, ip), None);
    }

    #[test]
    fn a_minute_with_more_tokens_in_use_than_the_tidy_size_does_not_walk_the_notes_on_every_call() {
        let (notes, _receiver) = mpsc::channel(QUEUE);
        let inner = Arc::new(Inner { notes, noted: Mutex::default() });
        let recorder = LastUsedRecorder { inner: Some(inner.clone()) };
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        // 300,000 tokens, each used for the first time within the same minute: every note is recent.
        for token_id in 0..300_000 {
            recorder.touch(token_id, None, now, ip);
        }
        let noted = inner.noted.lock().unwrap();
        assert_eq!(noted.at.len(), 300_000, "each token noted once");
        assert!(noted.tidy.walks() <= 3, "{} walks of the notes", noted.tidy.walks());
        drop(noted);
        // A minute later the stale notes go at the next walk.
        let later = now + Duration::minutes(2);
        for token_id in 300_000..1_000_000 {
            recorder.touch(token_id, None, later, ip);
            if inner.noted.lock().unwrap().at.len() < 300_000 {
                return;
            }
        }
        panic!("the notes of two minutes ago were never dropped");
    }
}
