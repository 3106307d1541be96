//! Token secrets: `tsr_` + 32 random base62 characters + a 6-character CRC32 checksum (SPEC §2).
//! The prefix lets secret scanners spot leaked tokens; the checksum rejects typos before any database work.

use std::fmt;

/// Every Tessera secret starts with this.
pub const SECRET_PREFIX: &str = "tsr_";
/// Random characters after the prefix: 32 × log2(62) ≈ 190 bits of entropy.
const RANDOM_LEN: usize = 32;
/// 62^6 > 2^32, so six base62 digits hold any CRC32.
const CHECKSUM_LEN: usize = 6;
/// Where the checksum starts: it covers the prefix and the random part.
const BODY_LEN: usize = SECRET_PREFIX.len() + RANDOM_LEN;
/// The length of every secret, in bytes (all ASCII).
pub const SECRET_LEN: usize = BODY_LEN + CHECKSUM_LEN;
/// Random characters kept in the hint: enough to tell tokens apart, far too few to guess the rest.
const HINT_RANDOM_LEN: usize = 4;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a string is not a usable secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("This is not a Tessera API token.")]
    Malformed,
    #[error("This token's checksum does not match; it was mistyped or altered.")]
    BadChecksum,
}

/// A whole API token secret. Deliberately neither `Serialize` nor `Display`, and its `Debug` shows only the
/// hint, so it cannot leak into a response, a log line or a panic message by accident.
#[derive(Clone)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// A fresh secret from the operating system's CSPRNG.
    ///
    /// # Panics
    /// When the OS random number generator fails: no token may be made from weaker randomness.
    #[cfg(feature = "ssr")]
    pub fn generate() -> Self {
        let mut secret = String::with_capacity(SECRET_LEN);
        secret.push_str(SECRET_PREFIX);
        let mut buf = [0u8; 64];
        while secret.len() < BODY_LEN {
            if let Err(err) = getrandom::fill(&mut buf) {
                panic!("the operating system's random number generator failed ({err}); refusing to make a token");
            }
            // Bytes of 248 and above are dropped: 248 = 4 × 62, so the rest map evenly onto the alphabet
            // (no modulo bias).
            for byte in buf.iter().filter(|b| usize::from(**b) < 4 * BASE62.len()) {
                if secret.len() == BODY_LEN {
                    break;
                }
                secret.push(char::from(BASE62[usize::from(*byte) % BASE62.len()]));
            }
        }
        secret.push_str(&checksum(secret.as_bytes()));
        Self(secret)
    }

    /// Checks the shape and checksum only; whether the token exists is the database's question.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        let bytes = raw.as_bytes();
        // Comparing byte lengths first keeps every later slice on ASCII, so multibyte input cannot split a char.
        if bytes.len() != SECRET_LEN
            || !raw.starts_with(SECRET_PREFIX)
            || !bytes[SECRET_PREFIX.len()..].iter().all(u8::is_ascii_alphanumeric)
        {
            return Err(SecretError::Malformed);
        }
        let (body, check) = bytes.split_at(BODY_LEN);
        if checksum(body).as_bytes() != check {
            return Err(SecretError::BadChecksum);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The secret itself, to show once after creation or to hash. The only way to read it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The non-secret part kept for display: `tsr_` and the first four random characters.
    pub fn hint(&self) -> String {
        self.0[..SECRET_PREFIX.len() + HINT_RANDOM_LEN].to_owned()
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenSecret({}…)", self.hint())
    }
}

/// CRC32 (IEEE) of `body` as six base62 digits, most significant first.
fn checksum(body: &[u8]) -> String {
    let mut value = u64::from(crc32fast::hash(body));
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        // The remainder is below 62, so the cast cannot truncate.
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits.iter().map(|d| char::from(*d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A valid secret built from a known random part, so tests do not depend on the `ssr` feature.
    fn secret_with(random: &str) -> String {
        let body = format!("{SECRET_PREFIX}{random}");
        format!("{body}{}", checksum(body.as_bytes()))
    }

    const KNOWN: &str = "abcdEFGH0123456789ijklmnopqrstuv";

    #[test]
    fn checksum_is_crc32_in_fixed_width_base62() {
        assert_eq!(checksum(b""), "000000");
        // CRC32("123456789") = 0xCBF43926 = 3421780262 = 3·62^5 + 45·62^4 + 35·62^3 + 27·62^2 + 22·62 + 14
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(checksum(b"123456789"), "3jZRME");
        assert_eq!(checksum(&[0xff; 4]).len(), CHECKSUM_LEN);
    }

    #[test]
    fn a_well_formed_secret_parses_and_exposes_itself() {
        let raw = secret_with(KNOWN);
        assert_eq!(raw.len(), SECRET_LEN);
        let secret = TokenSecret::parse(&raw).unwrap();
        assert_eq!(secret.expose(), raw);
    }

    #[test]
    fn hint_is_the_prefix_and_four_random_characters() {
        let secret = TokenSecret::parse(&secret_with(KNOWN)).unwrap();
        assert_eq!(secret.hint(), "tsr_abcd");
    }

    #[test]
    fn debug_shows_only_the_hint() {
        let raw = secret_with(KNOWN);
        let debug = format!("{:?}", TokenSecret::parse(&raw).unwrap());
        assert_eq!(debug, "TokenSecret(tsr_abcd…)");
        assert!(!debug.contains(&raw[8..]));
    }

    #[test]
    fn wrong_prefix_length_or_alphabet_is_malformed() {
        let raw = secret_with(KNOWN);
        let wrong_prefix = format!("tsx_{}", &raw[4..]);
        let bad_char = format!("{}-{}", &raw[..10], &raw[11..]);
        let multibyte = format!("{}é{}", &raw[..10], &raw[12..]);
        for bad in
            ["", "tsr_", &raw[..41], &format!("{raw}0"), &wrong_prefix, &bad_char, &multibyte, &raw.to_uppercase()]
        {
            assert_eq!(TokenSecret::parse(bad).unwrap_err(), SecretError::Malformed, "{bad:?}");
        }
        assert_eq!(SecretError::Malformed.to_string(), "This is not a Tessera API token.");
    }

    #[test]
    fn a_typo_fails_the_checksum() {
        let raw = secret_with(KNOWN);
        let typo = format!("{}b{}", &raw[..4], &raw[5..]);
        assert_eq!(TokenSecret::parse(&typo).unwrap_err(), SecretError::BadChecksum);
        assert_eq!(
            SecretError::BadChecksum.to_string(),
            "This token's checksum does not match; it was mistyped or altered."
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn generated_secrets_parse_and_differ() {
        let a = TokenSecret::generate();
        let b = TokenSecret::generate();
        assert_eq!(a.expose().len(), SECRET_LEN);
        assert!(TokenSecret::parse(a.expose()).is_ok());
        assert_ne!(a.expose(), b.expose());
    }

    fn random_part() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(BASE62.to_vec()), RANDOM_LEN)
            .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in any::<String>()) {
            let _ = TokenSecret::parse(&raw);
        }

        #[test]
        fn parse_never_panics_on_near_misses(raw in "tsr_[0-9A-Za-zé€]{30,40}") {
            let _ = TokenSecret::parse(&raw);
        }

        #[test]
        fn every_well_formed_secret_parses(random in random_part()) {
            let raw = secret_with(&random);
            let secret = TokenSecret::parse(&raw).unwrap();
            prop_assert!(raw.starts_with(&secret.hint()));
        }

        #[test]
        fn changing_any_one_character_is_caught(
            random in random_part(),
            at in 0..SECRET_LEN,
            replacement in proptest::sample::select(BASE62.to_vec()),
        ) {
            let mut bytes = secret_with(&random).into_bytes();
            prop_assume!(bytes[at] != replacement);
            bytes[at] = replacement;
            let altered = String::from_utf8(bytes).unwrap();
            prop_assert!(TokenSecret::parse(&altered).is_err());
        }
    }

    #[cfg(feature = "ssr")]
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn generated_secrets_always_parse(_seed in any::<u8>()) {
            let secret = TokenSecret::generate();
            prop_assert!(TokenSecret::parse(secret.expose()).is_ok());
            prop_assert!(secret.expose().starts_with(&secret.hint()));
        }
    }
}
