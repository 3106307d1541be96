//! The second sign-in factor: time-based one-time codes from an authenticator app (TOTP, RFC 6238, over HOTP,
//! RFC 4226) and the one-time recovery codes that stand in for a lost app.
//!
//! Only the settings every authenticator app honours are offered: HMAC-SHA1, 6 digits, a 30-second period.
//! Parsing (secrets, codes, recovery codes) is pure and also runs in the browser; making secrets and computing
//! codes needs the server's crates (`ssr`).

use std::fmt;

/// Bytes in a secret: the 160 bits RFC 4226 §4 recommends.
pub const SECRET_LEN: usize = 20;
/// Seconds per time step (RFC 6238's default, and the only period every app supports).
pub const PERIOD_SECONDS: i64 = 30;
/// Recovery codes handed out when the second factor is turned on.
pub const RECOVERY_CODES: usize = 10;

/// Characters of a secret in base32: 160 bits / 5 bits per character, so no padding is ever needed.
const BASE32_LEN: usize = SECRET_LEN * 8 / 5;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Digits in a code.
const DIGITS: usize = 6;
/// 10^DIGITS: reducing the truncated HMAC modulo this leaves the code.
#[cfg(feature = "ssr")]
const CODE_MODULUS: u32 = 1_000_000;
/// Steps accepted on either side of the current one: ±30 s of clock skew (RFC 6238 §5.2 recommends one step).
#[cfg(feature = "ssr")]
const SKEW_STEPS: i64 = 1;

/// Random characters in a recovery code: 10 × log2(31) ≈ 49.5 bits.
const RECOVERY_CODE_LEN: usize = 10;
/// Lowercase letters and digits without those people confuse when copying by hand (0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Why a secret or a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("An authenticator secret contains only the letters A to Z and the digits 2 to 7.")]
    SecretMalformed,
    #[error("An authenticator secret is 32 characters long.")]
    SecretLength,
    #[error("Enter the 6-digit code from your authenticator app.")]
    CodeMalformed,
}

/// The key shared with the authenticator app. Neither `Serialize` nor `Display`, and its `Debug` hides it: whoever
/// holds it can make every future code.
#[derive(Clone)]
pub struct TotpSecret([u8; SECRET_LEN]);

impl TotpSecret {
    /// A fresh secret from the operating system's CSPRNG.
    ///
    /// # Panics
    /// When the OS random number generator fails: no second factor may rest on weaker randomness.
    #[cfg(feature = "ssr")]
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_LEN];
        fill_random(&mut bytes);
        Self(bytes)
    }

    /// A secret kept as raw bytes (e.g. decrypted from storage).
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw key, to encrypt for storage.
    pub fn as_bytes(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }

    /// RFC 4648 base32, uppercase and unpadded: what authenticator apps accept when the secret is typed in.
    pub fn to_base32(&self) -> String {
        let mut out = String::with_capacity(BASE32_LEN);
        // Five bytes are exactly eight base32 characters.
        for group in self.0.chunks_exact(5) {
            let bits = group.iter().fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
            for shift in (0..8).rev() {
                out.push(char::from(BASE32[((bits >> (shift * 5)) & 0x1f) as usize]));
            }
        }
        out
    }

    /// Reads base32 as people copy it: any case, spaces anywhere, with or without trailing `=` padding.
    pub fn from_base32(raw: &str) -> Result<Self, TotpError> {
        let mut symbols = Vec::with_capacity(BASE32_LEN);
        for c in raw.trim_end().trim_end_matches('=').chars().filter(|c| !c.is_whitespace()) {
            let upper = c.to_ascii_uppercase();
            let value = BASE32.iter().position(|&b| char::from(b) == upper).ok_or(TotpError::SecretMalformed)?;
            symbols.push(value as u64);
            if symbols.len() > BASE32_LEN {
                return Err(TotpError::SecretLength);
            }
        }
        if symbols.len() != BASE32_LEN {
            return Err(TotpError::SecretLength);
        }
        let mut bytes = [0u8; SECRET_LEN];
        for (group, out) in symbols.chunks_exact(8).zip(bytes.chunks_exact_mut(5)) {
            let bits = group.iter().fold(0u64, |acc, &value| (acc << 5) | value);
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = (bits >> (8 * (4 - i))) as u8;
            }
        }
        Ok(Self(bytes))
    }

    /// The `otpauth://` URI an authenticator app reads from a QR code (Google Authenticator's Key Uri Format).
    /// The issuer is given twice, in the label and as a parameter, because apps differ in which one they read.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let issuer = percent_encode(issuer);
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}\
             &period={PERIOD_SECONDS}",
            account = percent_encode(account),
            secret = self.to_base32(),
        )
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a space is `%20` (never `+`, which some
/// apps show literally) and a colon in a name cannot be taken for the label's issuer separator.
/// Also used for any URI component (e.g. a page's path in a query).
pub fn percent_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The HOTP code (RFC 4226 §5.3) for `counter`: HMAC-SHA1, dynamic truncation, the last six decimal digits.
#[cfg(feature = "ssr")]
pub fn code_at(secret: &TotpSecret, counter: u64) -> u32 {
    use hmac::{Hmac, Mac, digest::KeyInit};
    type HmacSha1 = Hmac<sha1::Sha1>;

    // HMAC pads a key shorter than the hash's block with zeros (RFC 2104 §2), so the padded key gives the same MAC
    // through the infallible constructor.
    let mut key = hmac::digest::Key::<HmacSha1>::default();
    key[..SECRET_LEN].copy_from_slice(&secret.0);
    let mut mac = <HmacSha1 as KeyInit>::new(&key);
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // The low nibble of the last byte picks where four bytes are read; the top bit is dropped so signed and
    // unsigned implementations agree.
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let word = u32::from_be_bytes([digest[offset], digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    (word & 0x7fff_ffff) % CODE_MODULUS
}

/// The TOTP time step (RFC 6238 §4.2) holding `unix_seconds`. Times before 1970 give negative steps, which have
/// no code: `verify` refuses them.
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(PERIOD_SECONDS)
}

/// Checks `code` against the steps around `now_unix` and returns the step it matched, which the caller stores as
/// the new `last_used_step`. Steps at or before `last_used_step` are refused, so a code seen once (or an older
/// one) cannot be replayed.
#[cfg(feature = "ssr")]
pub fn verify(secret: &TotpSecret, code: &Code, now_unix: i64, last_used_step: Option<i64>) -> Option<i64> {
    use subtle::ConstantTimeEq;

    let current = step_of(now_unix);
    let mut matched = None;
    // Every candidate is computed and compared, with no early exit, so timing does not tell which step matched.
    // Should two steps share the code, the later one wins: recording it refuses the same digits at both.
    for step in (-SKEW_STEPS..=SKEW_STEPS).filter_map(|delta| current.checked_add(delta)) {
        let Ok(counter) = u64::try_from(step) else { continue };
        let equal: bool = code_at(secret, counter).to_be_bytes().ct_eq(&code.0.to_be_bytes()).into();
        if equal && last_used_step.is_none_or(|last| step > last) {
            matched = Some(step);
        }
    }
    matched
}

/// A code as typed: exactly six digits. Its `Debug` hides it: until its step passes it signs the user in.
#[derive(Clone, Copy)]
pub struct Code(
    // Read only by `verify`, which the browser build does not have; there `Code` only validates input.
    #[cfg_attr(not(feature = "ssr"), allow(dead_code))] u32,
);

impl Code {
    /// Accepts the digits with any spaces around or between them, as apps show them (`123 456`).
    pub fn parse(raw: &str) -> Result<Self, TotpError> {
        let mut value = 0u32;
        let mut digits = 0;
        for c in raw.chars().filter(|c| !c.is_whitespace()) {
            let digit = c.to_digit(10).ok_or(TotpError::CodeMalformed)?;
            digits += 1;
            if digits > DIGITS {
                return Err(TotpError::CodeMalformed);
            }
            value = value * 10 + digit;
        }
        if digits == DIGITS { Ok(Self(value)) } else { Err(TotpError::CodeMalformed) }
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(..)")
    }
}

/// A one-time code that signs in without the authenticator app. Shown to the user once; only a hash of its
/// canonical form is stored. Not `Serialize`, and its `Debug` hides it; `Display` gives the form shown to the user.
#[derive(Clone)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    /// A fresh code from the operating system's CSPRNG.
    ///
    /// # Panics
    /// When the OS random number generator fails.
    #[cfg(feature = "ssr")]
    pub fn generate() -> Self {
        let mut code = String::with_capacity(RECOVERY_CODE_LEN);
        let mut buf = [0u8; 32];
        while code.len() < RECOVERY_CODE_LEN {
            fill_random(&mut buf);
            // 248 = 8 × 31: bytes at or above it are dropped so every character is equally likely (no modulo bias).
            for &byte in buf.iter().filter(|&&b| usize::from(b) < 8 * RECOVERY_ALPHABET.len()) {
                if code.len() == RECOVERY_CODE_LEN {
                    break;
                }
                code.push(char::from(RECOVERY_ALPHABET[usize::from(byte) % RECOVERY_ALPHABET.len()]));
            }
        }
        Self(code)
    }

    /// The form that is hashed for storage; `normalize` turns what the user types back into it.
    pub fn canonical(&self) -> &str {
        &self.0
    }

    /// The canonical form of a typed recovery code (lowercase, spaces and dashes dropped), or `None` when it cannot
    /// be one.
    pub fn normalize(input: &str) -> Option<String> {
        let code: String =
            input.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_lowercase()).collect();
        let valid = code.len() == RECOVERY_CODE_LEN && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b));
        valid.then_some(code)
    }
}

/// The code as shown to the user, once: `xxxxx-xxxxx`.
impl fmt::Display for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (first, second) = self.0.split_at(RECOVERY_CODE_LEN / 2);
        write!(f, "{first}-{second}")
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

/// Fills `buf` from the operating system's CSPRNG.
///
/// # Panics
/// When the OS random number generator fails: there is nothing safe to fall back on.
#[cfg(feature = "ssr")]
fn fill_random(buf: &mut [u8]) {
    if let Err(err) = getrandom::fill(buf) {
        panic!("the operating system's random number generator failed ({err}); refusing to make a second factor");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The key of RFC 4226 Appendix D and RFC 6238 Appendix B (SHA1).
    const RFC_KEY: &[u8; SECRET_LEN] = b"12345678901234567890";

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(*RFC_KEY)
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        // RFC 4648 §10: BASE32("fooba") = "MZXW6YTB".
        let secret = TotpSecret::from_bytes(*b"foobafoobafoobafooba");
        let encoded = secret.to_base32();
        assert_eq!(encoded, "MZXW6YTB".repeat(4));
        assert_eq!(TotpSecret::from_base32(&encoded).unwrap().as_bytes(), secret.as_bytes());
        assert_eq!(rfc_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(TotpSecret::from_bytes([0; SECRET_LEN]).to_base32(), "A".repeat(32));
        assert_eq!(TotpSecret::from_bytes([0xff; SECRET_LEN]).to_base32(), "7".repeat(32));
    }

    #[test]
    fn base32_is_read_as_people_copy_it() {
        for raw in [
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
            "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
            "  GEZDGNBVGY3TQOJQ\tGEZDGNBVGY3TQOJQ  ",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ======",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ ",
        ] {
            assert_eq!(TotpSecret::from_base32(raw).unwrap().as_bytes(), RFC_KEY, "{raw:?}");
        }
    }

    #[test]
    fn bad_base32_is_refused_with_a_reason() {
        for raw in ["", "GEZDGNBVGY3TQOJQ", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQA", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZD"]
        {
            assert_eq!(TotpSecret::from_base32(raw).unwrap_err(), TotpError::SecretLength, "{raw:?}");
        }
        for raw in [
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ8",
            "GEZDGNBVGY3TQOJQ=GEZDGNBVGY3TQOJQ",
            "GEZDGNBVGY3TQOJQ-GEZDGNBVGY3TQOJQ",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJÉ",
        ] {
            assert_eq!(TotpSecret::from_base32(raw).unwrap_err(), TotpError::SecretMalformed, "{raw:?}");
        }
        assert_eq!(TotpError::SecretLength.to_string(), "An authenticator secret is 32 characters long.");
    }

    #[test]
    fn debug_does_not_leak_secrets_or_codes() {
        let secret = rfc_secret();
        assert_eq!(format!("{secret:?}"), "TotpSecret(..)");
        assert_eq!(format!("{:?}", Code::parse("123456").unwrap()), "Code(..)");
        assert_eq!(format!("{:?}", RecoveryCode("abcdefghjk".into())), "RecoveryCode(..)");
    }

    #[test]
    fn otpauth_uri_percent_encodes_the_label_and_issuer() {
        let uri = rfc_secret().otpauth_uri("Tessera", "ops team: alice@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Tessera:ops%20team%3A%20alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Tessera&algorithm=SHA1&digits=6&period=30"
        );
        let uri = rfc_secret().otpauth_uri("Tessera (staging)", "bob");
        assert!(uri.starts_with("otpauth://totp/Tessera%20%28staging%29:bob?"), "{uri}");
        assert!(uri.contains("&issuer=Tessera%20%28staging%29&"), "{uri}");
        assert_eq!(percent_encode("é+/~"), "%C3%A9%2B%2F~");
    }

    #[test]
    fn step_of_counts_30_second_periods_from_the_epoch() {
        assert_eq!(step_of(0), 0);
        assert_eq!(step_of(29), 0);
        assert_eq!(step_of(30), 1);
        assert_eq!(step_of(59), 1);
        assert_eq!(step_of(1_111_111_109), 37_037_036);
        assert_eq!(step_of(-1), -1);
        assert_eq!(step_of(i64::MIN), i64::MIN / 30 - 1);
        assert_eq!(step_of(i64::MAX), i64::MAX / 30);
    }

    #[test]
    fn code_parse_accepts_six_digits_with_spaces() {
        for (raw, value) in
            [("123456", 123_456), (" 123456 ", 123_456), ("123 456", 123_456), ("000000", 0), ("0 1 2 3 4 5", 12_345)]
        {
            assert_eq!(Code::parse(raw).map(|c| c.0), Ok(value), "{raw:?}");
        }
    }

    #[test]
    fn code_parse_refuses_anything_else() {
        for raw in [
            "",
            "   ",
            "12345",
            "1234567",
            "12345a",
            "123-456",
            "+12345",
            "-12345",
            "١٢٣٤٥٦",
            "１２３４５６",
            "99999999999",
        ] {
            assert_eq!(Code::parse(raw).unwrap_err(), TotpError::CodeMalformed, "{raw:?}");
        }
        assert_eq!(TotpError::CodeMalformed.to_string(), "Enter the 6-digit code from your authenticator app.");
    }

    #[test]
    fn recovery_codes_normalize_to_their_canonical_form() {
        for raw in ["abcde-fghjk", "ABCDE-FGHJK", "abcdefghjk", " abcde fghjk ", "ab-cd-ef-gh-jk"] {
            assert_eq!(RecoveryCode::normalize(raw).as_deref(), Some("abcdefghjk"), "{raw:?}");
        }
        for raw in [
            "",
            "abcde-fghj",
            "abcde-fghjkm",
            "abcde-fghj0",
            "abcde-fghjo",
            "abcde-fghj1",
            "abcde-fghjl",
            "abcde-fghji",
        ] {
            assert_eq!(RecoveryCode::normalize(raw), None, "{raw:?}");
        }
        assert_eq!(RecoveryCode::normalize("abcde_fghjk"), None);
        assert_eq!(RecoveryCode::normalize("abcdé-fghjk"), None);
        let code = RecoveryCode("abcdefghjk".into());
        assert_eq!(code.to_string(), "abcde-fghjk");
        assert_eq!(RecoveryCode::normalize(&code.to_string()).as_deref(), Some(code.canonical()));
    }

    #[test]
    fn recovery_alphabet_has_no_look_alikes() {
        for confusable in b"0o1li" {
            assert!(!RECOVERY_ALPHABET.contains(confusable));
        }
        let mut sorted = RECOVERY_ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), RECOVERY_ALPHABET.len());
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in any::<[u8; SECRET_LEN]>()) {
            let encoded = TotpSecret::from_bytes(bytes).to_base32();
            prop_assert_eq!(*TotpSecret::from_base32(&encoded).unwrap().as_bytes(), bytes);
            prop_assert_eq!(*TotpSecret::from_base32(&encoded.to_lowercase()).unwrap().as_bytes(), bytes);
        }

        #[test]
        fn parsers_never_panic(raw in any::<String>()) {
            let _ = TotpSecret::from_base32(&raw);
            let _ = Code::parse(&raw);
            let _ = RecoveryCode::normalize(&raw);
        }

        /// Our base32 and totp-rs's agree both ways.
        #[test]
        fn base32_agrees_with_totp_rs(bytes in any::<[u8; SECRET_LEN]>()) {
            let theirs = totp_rs::Secret::from(bytes).to_base32();
            prop_assert_eq!(&TotpSecret::from_bytes(bytes).to_base32(), &theirs);
            prop_assert_eq!(*TotpSecret::from_base32(&theirs).unwrap().as_bytes(), bytes);
        }
    }

    #[cfg(feature = "ssr")]
    mod ssr {
        use super::*;

        fn reference(bytes: [u8; SECRET_LEN]) -> totp_rs::Totp {
            totp_rs::Builder::new().with_secret(bytes).build().unwrap()
        }

        #[test]
        fn hotp_matches_rfc_4226_appendix_d() {
            let expected = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
            for (counter, code) in (0u64..).zip(expected) {
                assert_eq!(code_at(&rfc_secret(), counter), code, "counter {counter}");
            }
        }

        #[test]
        fn totp_matches_rfc_6238_appendix_b() {
            // The RFC's 8-digit codes; ours are their last six digits.
            for (time, eight_digits) in [
                (59, 94287082),
                (1111111109, 7081804),
                (1111111111, 14050471),
                (1234567890, 89005924),
                (2000000000, 69279037),
                (20000000000, 65353130),
            ] {
                let counter = u64::try_from(step_of(time)).unwrap();
                assert_eq!(code_at(&rfc_secret(), counter), eight_digits % 1_000_000, "time {time}");
            }
        }

        /// The code for `step`, as a user would type it.
        fn typed(secret: &TotpSecret, step: i64) -> Code {
            Code::parse(&format!("{:06}", code_at(secret, u64::try_from(step).unwrap()))).unwrap()
        }

        #[test]
        fn verify_accepts_the_current_step_and_one_either_side() {
            let secret = rfc_secret();
            let now = 1_234_567_890;
            let current = step_of(now);
            for step in [current - 1, current, current + 1] {
                assert_eq!(verify(&secret, &typed(&secret, step), now, None), Some(step), "step {step}");
            }
            for step in [current - 2, current + 2] {
                assert_eq!(verify(&secret, &typed(&secret, step), now, None), None, "step {step}");
            }
            let other = TotpSecret::from_bytes([7; SECRET_LEN]);
            assert_eq!(verify(&other, &typed(&secret, current), now, None), None);
        }

        #[test]
        fn verify_refuses_a_replayed_or_older_code() {
            let secret = rfc_secret();
            let now = 1_234_567_890;
            let current = step_of(now);
            let code = typed(&secret, current);
            let used = verify(&secret, &code, now, None);
            assert_eq!(used, Some(current));
            // The same code again, even a few seconds later in the same step.
            assert_eq!(verify(&secret, &code, now + 5, used), None);
            // An older code after a newer one was used.
            assert_eq!(verify(&secret, &typed(&secret, current - 1), now, used), None);
            // The next step's code is still fine, and becomes the new last used step.
            assert_eq!(verify(&secret, &typed(&secret, current + 1), now, used), Some(current + 1));
            assert_eq!(verify(&secret, &typed(&secret, current + 1), now + PERIOD_SECONDS, used), Some(current + 1));
        }

        #[test]
        fn verify_refuses_times_before_the_epoch_without_panicking() {
            let secret = rfc_secret();
            // Step 0's code is one step ahead of step -1, so it is the only one that can match at t = -1.
            assert_eq!(verify(&secret, &typed(&secret, 0), -1, None), Some(0));
            assert_eq!(verify(&secret, &typed(&secret, 0), -31, None), None);
            assert_eq!(verify(&secret, &typed(&secret, 0), i64::MIN, None), None);
            assert_eq!(verify(&secret, &typed(&secret, 0), i64::MAX, None), None);
        }

        #[test]
        fn generated_secrets_are_20_random_bytes() {
            let a = TotpSecret::generate();
            let b = TotpSecret::generate();
            assert_ne!(a.as_bytes(), b.as_bytes());
            assert_eq!(TotpSecret::from_base32(&a.to_base32()).unwrap().as_bytes(), a.as_bytes());
        }

        #[test]
        fn generated_recovery_codes_have_the_format_and_do_not_repeat() {
            let mut seen = std::collections::HashSet::new();
            let mut counts = [0usize; 31];
            for _ in 0..2_000 {
                let code = RecoveryCode::generate();
                let shown = code.to_string();
                assert_eq!(shown.len(), 11, "{shown}");
                assert_eq!(shown.as_bytes()[5], b'-', "{shown}");
                assert_eq!(RecoveryCode::normalize(&shown).as_deref(), Some(code.canonical()));
                for b in code.canonical().bytes() {
                    counts[RECOVERY_ALPHABET.iter().position(|&a| a == b).unwrap()] += 1;
                }
                assert!(seen.insert(code.canonical().to_owned()), "repeated {shown}");
            }
            // 20,000 draws over 31 characters: about 645 each; every character turns up.
            assert!(counts.iter().all(|&n| n > 400), "{counts:?}");
        }

        proptest! {
            /// Our codes equal those of totp-rs, an implementation we did not write.
            #[test]
            fn codes_agree_with_totp_rs(bytes in any::<[u8; SECRET_LEN]>(), time in 0i64..40_000_000_000) {
                let theirs = reference(bytes).generate(u64::try_from(time).unwrap()).to_string();
                let ours = code_at(&TotpSecret::from_bytes(bytes), u64::try_from(step_of(time)).unwrap());
                prop_assert_eq!(format!("{ours:06}"), theirs);
            }

            /// Without a used step, we accept exactly the codes totp-rs accepts (one step of skew both sides).
            #[test]
            fn verify_agrees_with_totp_rs(
                bytes in any::<[u8; SECRET_LEN]>(),
                now in 100i64..40_000_000_000,
                offset in -100i64..=100,
            ) {
                let reference = reference(bytes);
                let typed = reference.generate(u64::try_from(now + offset).unwrap()).to_string();
                let theirs = reference.check(&typed, u64::try_from(now).unwrap());
                let ours = verify(&TotpSecret::from_bytes(bytes), &Code::parse(&typed).unwrap(), now, None);
                prop_assert_eq!(ours.is_some(), theirs.is_some());
            }
        }
    }
}
