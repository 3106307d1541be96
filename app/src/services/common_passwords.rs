//! The passwords people pick first, refused outright (NIST SP 800-63B §5.1.1.2: check new passwords against
//! lists of values known to be commonly used). `common_passwords.txt` holds the 11,611 passwords of 8 or more
//! characters among the 30,000 most common in zxcvbn's frequency list (MIT licence; drawn from leaked-password
//! corpora), lower-cased, one per line: shorter ones are refused by length anyway. Server side only, so the
//! WASM app does not carry it.

use std::{collections::HashSet, sync::LazyLock};

static LIST: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common_passwords.txt").lines().filter(|line| !line.is_empty()).collect());

/// Whether `password` is on the list, compared case-insensitively.
pub fn is_common(password: &str) -> bool {
    LIST.contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_large_and_matches_any_case() {
        assert!(LIST.len() >= 10_000, "{}", LIST.len());
        assert!(is_common("password"));
        assert!(is_common("PassWord1"));
        assert!(is_common("iloveyou"));
        assert!(!is_common("correct-horse-battery"));
    }
}
