//! Randomness from the operating system's CSPRNG, for session identifiers and generated passwords.

use sha2::{Digest, Sha256};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random characters of base62, without modulo bias.
pub fn base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        // A failing OS RNG leaves nothing safe to do: refuse to continue rather than hand out weak secrets.
        if let Err(err) = getrandom::fill(&mut buf) {
            panic!("the operating system's random number generator failed: {err}");
        }
        // 248 = 4 × 62: bytes at or above it would favour the first characters.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == len {
                break;
            }
            out.push(BASE62[usize::from(b % 62)] as char);
        }
    }
    out
}

/// Hex SHA-256, used to store session and token identifiers without storing them.
pub fn sha256_hex(value: &str) -> String {
    crate::store::tokens::SecretHash(sha256(value)).hex()
}

/// SHA-256 of `value`, as bytes.
pub fn sha256(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_has_the_length_and_alphabet_asked_for() {
        let s = base62(100);
        assert_eq!(s.len(), 100);
        assert!(s.bytes().all(|b| BASE62.contains(&b)));
        assert_ne!(base62(32), base62(32));
    }

    #[test]
    fn sha256_is_hex_of_the_digest() {
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
