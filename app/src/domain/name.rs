//! Names of tokens and accounts: 1 to 50 characters of `A-Z a-z 0-9 - _` (SPEC §2).
//! Uniqueness is case-insensitive, so every name also has a lower-case `key` for comparisons.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest name allowed, in characters.
pub const NAME_MAX_LEN: usize = 50;

/// Why a string is not a valid name. Each variant names exactly one rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("The name cannot be empty.")]
    Empty,
    #[error("The name is {len} characters long; the limit is {NAME_MAX_LEN}.")]
    TooLong { len: usize },
    #[error("The name contains “{ch}”; use only letters A–Z and a–z, digits 0–9, hyphens (-) and underscores (_).")]
    InvalidChar { ch: char },
}

fn check(raw: &str) -> Result<(), NameError> {
    if raw.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(ch) = raw.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err(NameError::InvalidChar { ch });
    }
    // Only ASCII remains, so bytes are characters.
    if raw.len() > NAME_MAX_LEN {
        return Err(NameError::TooLong { len: raw.len() });
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Accepts the name exactly as typed: no trimming, no case folding.
            pub fn parse(raw: &str) -> Result<Self, NameError> {
                check(raw).map(|()| Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The case-insensitive form used for uniqueness.
            pub fn key(&self) -> String {
                self.0.to_ascii_lowercase()
            }
        }

        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(raw: String) -> Result<Self, NameError> {
                check(&raw).map(|()| Self(raw))
            }
        }

        impl From<$ty> for String {
            fn from(name: $ty) -> String {
                name.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// The name of an API token, unique per account regardless of case.
    TokenName
);
name_type!(
    /// An account's username. Same character rules as token names (SPEC §1).
    AccountName
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_allowed_character_class() {
        for ok in ["a", "Z", "0", "-", "_", "deploy-bot_2", &"x".repeat(50)] {
            assert!(TokenName::parse(ok).is_ok(), "{ok:?} should be valid");
        }
    }

    #[test]
    fn empty_name_is_refused() {
        assert_eq!(TokenName::parse(""), Err(NameError::Empty));
    }

    #[test]
    fn fifty_one_characters_are_refused_with_the_count() {
        let err = TokenName::parse(&"a".repeat(51)).unwrap_err();
        assert_eq!(err, NameError::TooLong { len: 51 });
        assert!(err.to_string().contains("51"));
        assert!(err.to_string().contains("50"));
    }

    #[test]
    fn spaces_and_unicode_name_the_offending_character() {
        assert_eq!(TokenName::parse("bad name"), Err(NameError::InvalidChar { ch: ' ' }));
        assert_eq!(AccountName::parse("jürgen"), Err(NameError::InvalidChar { ch: 'ü' }));
        assert!(TokenName::parse("naïve").unwrap_err().to_string().contains('ï'));
    }

    #[test]
    fn long_unicode_names_report_the_character_not_the_byte_length() {
        let err = TokenName::parse(&"é".repeat(30)).unwrap_err();
        assert_eq!(err, NameError::InvalidChar { ch: 'é' });
    }

    #[test]
    fn keys_fold_case_but_display_keeps_it() {
        let name = TokenName::parse("Deploy_Key").unwrap();
        assert_eq!(name.key(), "deploy_key");
        assert_eq!(name.to_string(), "Deploy_Key");
    }

    #[test]
    fn deserializing_validates() {
        let bad: Result<TokenName, _> = serde_json::from_str("\"no spaces\"");
        assert!(bad.is_err());
        let good: TokenName = serde_json::from_str("\"ok\"").unwrap();
        assert_eq!(good.as_str(), "ok");
    }
}
