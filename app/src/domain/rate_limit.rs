//! A token's rate limit: at most N calls per second, minute or hour (issue 15), written `N/second`,
//! `N/minute` or `N/hour`. Enforced with GCRA (the generic cell rate algorithm): up to N calls at once, then one
//! every period/N, so no window of one period ever sees more than N calls beyond the first burst.

use std::fmt;

/// The most calls a limit may allow per period.
pub const RATE_LIMIT_MAX: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Second,
    Minute,
    Hour,
}

impl Period {
    pub fn seconds(self) -> u64 {
        match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3600,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    pub calls: u32,
    pub per: Period,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    #[error("Write a rate limit as N/second, N/minute or N/hour, e.g. 100/minute.")]
    Malformed,
    #[error("A rate limit allows from 1 to 1,000,000 calls per period.")]
    OutOfRange,
}

impl RateLimit {
    /// Parses `N/second`, `N/minute` or `N/hour` exactly as written (surrounding spaces aside), as the OpenAPI
    /// document's pattern says.
    pub fn parse(raw: &str) -> Result<Self, RateLimitError> {
        let (calls, per) = raw.trim().split_once('/').ok_or(RateLimitError::Malformed)?;
        if calls.is_empty() || !calls.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RateLimitError::Malformed);
        }
        let calls: u32 = calls.parse().map_err(|_| RateLimitError::OutOfRange)?;
        if calls == 0 || calls > RATE_LIMIT_MAX {
            return Err(RateLimitError::OutOfRange);
        }
        let per = match per {
            "second" => Period::Second,
            "minute" => Period::Minute,
            "hour" => Period::Hour,
            _ => return Err(RateLimitError::Malformed),
        };
        Ok(Self { calls, per })
    }

    /// An optional limit from a form field: empty means none.
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, RateLimitError> {
        if raw.trim().is_empty() { Ok(None) } else { Self::parse(raw).map(Some) }
    }

    /// The time between calls at the steady rate, in nanoseconds.
    pub fn interval_nanos(self) -> u64 {
        self.per.seconds() * 1_000_000_000 / u64::from(self.calls)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.calls, self.per.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_three_periods() {
        for (raw, printed) in [("100/minute", "100/minute"), ("5/second", "5/second"), (" 20/hour ", "20/hour")] {
            assert_eq!(RateLimit::parse(raw).map(|l| l.to_string()).as_deref(), Ok(printed), "{raw}");
        }
        assert_eq!(RateLimit::parse_optional("  "), Ok(None));
    }

    #[test]
    fn refuses_what_is_not_a_limit() {
        for raw in [
            "100",
            "/minute",
            "-1/minute",
            "1.5/minute",
            "+3/minute",
            "10/day",
            "ten/minute",
            "5/s",
            "5/Minute",
            "5 /minute",
        ] {
            assert_eq!(RateLimit::parse(raw), Err(RateLimitError::Malformed), "{raw}");
        }
        for raw in ["0/second", "1000001/hour", "99999999999/minute"] {
            assert_eq!(RateLimit::parse(raw), Err(RateLimitError::OutOfRange), "{raw}");
        }
    }
}
