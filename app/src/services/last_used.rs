//! "Last used" time and client IP of each token (SPEC §3), recorded at most once a minute per token and written
//! off the request path: verification only drops a note into a channel; a background task writes the notes of
//! the last second in one transaction.

use crate::store::tokens::{self, LastUse};
use chrono::{DateTime, Duration, Utc};
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
    noted: Mutex<HashMap<i64, DateTime<Utc>>>,
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
        Self { inner: Some(Arc::new(Inner { notes, noted: Mutex::new(HashMap::new()) })) }
    }

    /// Notes that token `token_id` (whose stored last use is `stored`) was used at `now` from `ip`. Never waits.
    pub fn touch(&self, token_id: i64, stored: Option<DateTime<Utc>>, now: DateTime<Utc>, ip: IpAddr) {
        let Some(inner) = &self.inner else { return };
        if stored.is_some_and(|at| now - at < RESOLUTION && now >= at) {
            return;
        }
        {
            let mut noted = inner.noted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if noted.get(&token_id).is_some_and(|at| now - *at < RESOLUTION && now >= *at) {
                return;
            }
            // Notes older than a minute no longer hold anything back: forget them so the map stays small.
            if noted.len() > 4 * QUEUE {
                noted.retain(|_, at| now - *at < RESOLUTION);
            }
            noted.insert(token_id, now);
        }
        let _ = inner.notes.try_send(LastUse { token_id, at: now, ip: ip.to_canonical().to_string() });
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
            let uses: Vec<LastUse> = latest.into_values().collect();
            if let Err(err) = tokens::record_last_use(&db, &uses).await {
                tracing::warn!(error = %err, tokens = uses.len(), "could not record when tokens were last used");
            }
        }
        if !open {
            return;
        }
    }
}
