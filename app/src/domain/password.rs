//! Password strength feedback for the account forms. The server's only hard rule is the length (8 to 1024
//! characters, NIST SP 800-63B: no composition rules); this estimate helps people pick a better one.

use serde::{Deserialize, Serialize};

/// Shortest password accepted.
pub const PASSWORD_MIN_LEN: usize = 8;
/// Longest password accepted.
pub const PASSWORD_MAX_LEN: usize = 1024;

/// How hard a password looks to guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Strength {
    TooShort,
    Weak,
    Fair,
    Good,
    Strong,
}

impl Strength {
    pub fn label(self) -> &'static str {
        match self {
            Self::TooShort => "Too short",
            Self::Weak => "Weak",
            Self::Fair => "Fair",
            Self::Good => "Good",
            Self::Strong => "Strong",
        }
    }

    /// 0 to 4, for a meter.
    pub fn score(self) -> u8 {
        self as u8
    }
}

/// Passwords people pick first; anything built from them is weak whatever its length.
const COMMON: &[&str] = &[
    "password", "123456", "qwerty", "letmein", "welcome", "admin", "iloveyou", "monkey", "dragon", "abc123", "tessera",
    "secret", "passw0rd", "changeme",
];

/// Estimates strength from length, the kinds of characters used and obvious patterns.
pub fn strength(password: &str) -> Strength {
    let len = password.chars().count();
    if len < PASSWORD_MIN_LEN {
        return Strength::TooShort;
    }
    let lower = password.to_lowercase();
    let distinct = {
        let mut chars: Vec<char> = password.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        chars.len()
    };
    if COMMON.iter().any(|c| lower.contains(c)) || distinct <= 3 || is_run(password) {
        return Strength::Weak;
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    let pool: f64 = match classes {
        1 => 26.0,
        2 => 52.0,
        3 => 62.0,
        _ => 80.0,
    };
    // Bits of a random string of this length and alphabet; repeated characters count for less.
    let effective_len = len.min(distinct * 2) as f64;
    let bits = effective_len * pool.log2();
    match bits {
        b if b < 45.0 => Strength::Weak,
        b if b < 60.0 => Strength::Fair,
        b if b < 80.0 => Strength::Good,
        _ => Strength::Strong,
    }
}

/// `abcdefgh`, `12345678`, `87654321`: each character one step from the last.
fn is_run(password: &str) -> bool {
    let codes: Vec<i64> = password.chars().map(|c| i64::from(u32::from(c))).collect();
    let steps: Vec<i64> = codes.windows(2).map(|w| w[1] - w[0]).collect();
    steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_and_patterned_passwords_are_weak() {
        assert_eq!(strength("abc"), Strength::TooShort);
        assert_eq!(strength("Password123!"), Strength::Weak);
        assert_eq!(strength("aaaaaaaaaaaa"), Strength::Weak);
        assert_eq!(strength("abcdefghij"), Strength::Weak);
        assert_eq!(strength("98765432"), Strength::Weak);
    }

    #[test]
    fn length_and_variety_make_it_stronger() {
        assert!(strength("horse-battery") > Strength::Weak);
        assert!(strength("correct horse battery staple") >= Strength::Good);
        assert_eq!(strength("x8#Kq2!vLm@9Zt4&Rw"), Strength::Strong);
        assert!(strength("x8#Kq2!vLm@9Zt4&Rw") > strength("xkqvlmzt"));
    }
}
