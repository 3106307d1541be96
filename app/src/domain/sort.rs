//! The orders a token list can be shown in, and their one spelling in URLs, the native API and the CLI.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// What a token list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSort {
    Name,
    #[default]
    Created,
    Expires,
    LastUsed,
    /// Calls in the last 30 days.
    Requests,
}

impl TokenSort {
    pub const ALL: [Self; 5] = [Self::Name, Self::Created, Self::Expires, Self::LastUsed, Self::Requests];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Created => "created",
            Self::Expires => "expires",
            Self::LastUsed => "last_used",
            Self::Requests => "requests",
        }
    }
}

impl fmt::Display for TokenSort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sort given is not one of those.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“sort” is one of created, name, expires, last_used, requests.")]
pub struct UnknownSort;

impl FromStr for TokenSort {
    type Err = UnknownSort;

    fn from_str(raw: &str) -> Result<Self, UnknownSort> {
        Self::ALL.into_iter().find(|sort| sort.as_str() == raw).ok_or(UnknownSort)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sort_reads_back_its_own_spelling() {
        for sort in TokenSort::ALL {
            assert_eq!(sort.as_str().parse(), Ok(sort));
        }
        assert_eq!("Name".parse::<TokenSort>(), Err(UnknownSort));
    }
}
