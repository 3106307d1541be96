//! Counters behind `GET /metrics` (SPEC §4), in the Prometheus text format. Counting is one relaxed atomic add,
//! cheap enough for the token verification hot path; the text is only built when scraped.

use super::verify::Refusal;
use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering},
};

/// How an API call's token check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Verified: the call goes on.
    Ok,
    /// 401: unknown, revoked or expired token, wrong user, suspended owner.
    Invalid,
    /// 403: the client address or the privilege was refused.
    Forbidden,
    /// Refused before any look-up: no or malformed `Authorization` header, bad checksum, unreadable request.
    Malformed,
    /// Our failure (500).
    Error,
    /// 429: over the token's rate limit.
    RateLimited,
}

impl Verification {
    const ALL: [Self; 6] = [Self::Ok, Self::Invalid, Self::Forbidden, Self::Malformed, Self::Error, Self::RateLimited];

    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Invalid => "invalid",
            Self::Forbidden => "forbidden",
            Self::Malformed => "malformed",
            Self::Error => "error",
            Self::RateLimited => "rate_limited",
        }
    }
}

impl From<&Refusal> for Verification {
    fn from(refusal: &Refusal) -> Self {
        match refusal {
            Refusal::MissingOrMalformed | Refusal::BadSecret(_) => Self::Malformed,
            Refusal::InvalidToken => Self::Invalid,
            Refusal::AddressNotAllowed { .. } | Refusal::MissingPrivilege(_) => Self::Forbidden,
            Refusal::Internal => Self::Error,
            Refusal::RateLimited { .. } => Self::RateLimited,
        }
    }
}

/// The process's counters. Shared by every request through `Core`.
#[derive(Debug, Default)]
pub struct Metrics {
    verifications: [AtomicU64; 6],
    /// Responses by status class, 1xx to 5xx.
    responses: [AtomicU64; 5],
}

/// Values read at scrape time from elsewhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct Gauges {
    /// Token rows held in memory for verification (`None`: no cache).
    pub verification_cache_entries: Option<usize>,
    /// Verifications answered from memory since start (`None`: no cache).
    pub verification_cache_hits: Option<u64>,
    /// On PostgreSQL, whether the change listener is connected (while it is not, nothing is answered from memory).
    pub verification_feed_listening: Option<bool>,
    /// Usage counters and addresses waiting in memory for the next write.
    pub usage_waiting: usize,
    /// Tokens with rate-limit state in memory.
    pub rate_limited_tokens: usize,
    /// On SQLite, the bytes its library holds for all connections together (page caches, prepared statements).
    pub sqlite_memory_bytes: Option<i64>,
}

impl Metrics {
    pub fn count_verification(&self, outcome: Verification) {
        self.verifications[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a response by its status class; codes outside 100–599 are not counted.
    pub fn count_response(&self, status: u16) {
        if let Some(counter) = (status / 100).checked_sub(1).and_then(|class| self.responses.get(usize::from(class))) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn verifications(&self, outcome: Verification) -> u64 {
        self.verifications[outcome as usize].load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::with_capacity(1024);
        let _ = write!(
            out,
            "# HELP tessera_usage_counters_waiting Usage counters and addresses in memory, waiting for the next write.\n\
             # TYPE tessera_usage_counters_waiting gauge\n\
             tessera_usage_counters_waiting {}\n\
             # HELP tessera_rate_limit_tokens Tokens whose rate-limit state is held in memory.\n\
             # TYPE tessera_rate_limit_tokens gauge\n\
             tessera_rate_limit_tokens {}\n",
            gauges.usage_waiting, gauges.rate_limited_tokens
        );
        out.push_str(
            "# HELP tessera_api_verifications_total API calls whose token was checked, by outcome.\n\
             # TYPE tessera_api_verifications_total counter\n",
        );
        for outcome in Verification::ALL {
            let _ = writeln!(
                out,
                "tessera_api_verifications_total{{outcome=\"{}\"}} {}",
                outcome.label(),
                self.verifications(outcome)
            );
        }
        out.push_str(
            "# HELP tessera_http_requests_total HTTP requests answered, by status class.\n\
             # TYPE tessera_http_requests_total counter\n",
        );
        for (class, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "tessera_http_requests_total{{class=\"{}xx\"}} {}",
                class + 1,
                counter.load(Ordering::Relaxed)
            );
        }
        if let Some(entries) = gauges.verification_cache_entries {
            out.push_str(
                "# HELP tessera_verification_cache_entries Token rows held in memory for verification.\n\
                 # TYPE tessera_verification_cache_entries gauge\n",
            );
            let _ = writeln!(out, "tessera_verification_cache_entries {entries}");
        }
        if let Some(hits) = gauges.verification_cache_hits {
            out.push_str(
                "# HELP tessera_verification_cache_hits_total Token look-ups answered from memory.\n\
                 # TYPE tessera_verification_cache_hits_total counter\n",
            );
            let _ = writeln!(out, "tessera_verification_cache_hits_total {hits}");
        }
        if let Some(listening) = gauges.verification_feed_listening {
            out.push_str(
                "# HELP tessera_verification_feed_up Whether the PostgreSQL change listener is connected (1) or \
                 every look-up reads the database until it reconnects (0).\n\
                 # TYPE tessera_verification_feed_up gauge\n",
            );
            let _ = writeln!(out, "tessera_verification_feed_up {}", u8::from(listening));
        }
        if let Some(bytes) = gauges.sqlite_memory_bytes {
            out.push_str(
                "# HELP tessera_sqlite_memory_bytes Memory SQLite holds for all connections together (page caches, \
                 prepared statements).\n\
                 # TYPE tessera_sqlite_memory_bytes gauge\n",
            );
            let _ = writeln!(out, "tessera_sqlite_memory_bytes {bytes}");
        }
        out.push_str("# HELP tessera_build_info The running version of Tessera.\n# TYPE tessera_build_info gauge\n");
        let _ = writeln!(out, "tessera_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_up_in_the_text_format() {
        let metrics = Metrics::default();
        metrics.count_verification(Verification::Ok);
        metrics.count_verification(Verification::Ok);
        metrics.count_verification((&Refusal::InvalidToken).into());
        metrics.count_verification((&Refusal::MissingPrivilege("passwd".into())).into());
        metrics.count_response(200);
        metrics.count_response(404);
        metrics.count_response(503);
        metrics.count_response(42);
        let text = metrics.render(Gauges {
            verification_cache_entries: Some(3),
            verification_cache_hits: Some(7),
            verification_feed_listening: Some(false),
            usage_waiting: 4,
            rate_limited_tokens: 0,
            sqlite_memory_bytes: Some(1_048_576),
        });
        for line in [
            "tessera_api_verifications_total{outcome=\"ok\"} 2",
            "tessera_api_verifications_total{outcome=\"invalid\"} 1",
            "tessera_api_verifications_total{outcome=\"forbidden\"} 1",
            "tessera_api_verifications_total{outcome=\"malformed\"} 0",
            "tessera_http_requests_total{class=\"2xx\"} 1",
            "tessera_usage_counters_waiting 4",
            "tessera_http_requests_total{class=\"4xx\"} 1",
            "tessera_http_requests_total{class=\"5xx\"} 1",
            "tessera_http_requests_total{class=\"1xx\"} 0",
            "tessera_verification_cache_entries 3",
            "tessera_verification_cache_hits_total 7",
            "tessera_verification_feed_up 0",
            "tessera_sqlite_memory_bytes 1048576",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert!(text.ends_with('\n'));
    }
}
