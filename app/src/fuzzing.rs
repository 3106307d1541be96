//! The invariants the fuzz targets (`fuzz/fuzz_targets/`, run by `make fuzz`) check on outside input, shared with
//! the stable test that replays their stored corpus in `make test` (`app/tests/fuzz_corpus.rs`). Each function
//! takes arbitrary bytes and panics, which the fuzzer reports as a crash, only when an invariant breaks: a parser
//! never panics, and whatever parses prints back to text that parses to the same value.

use crate::{
    api::client_ip::{ForwardedHeader, TrustedProxies, client_ip},
    domain::{AccountName, Expiry, IpAllowlist, IpRange, PrivilegeSet, TokenName, TokenSecret},
    services::verify::parse_authorization,
};
use chrono::NaiveDate;

/// A check over arbitrary input: panics only when an invariant breaks.
pub type Check = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/` call it.
pub const TARGETS: &[(&str, Check)] = &[
    ("token_secret", token_secret),
    ("authorization", authorization),
    ("allowlist", allowlist),
    ("expiry", expiry),
    ("names", names),
    ("privileges", privileges),
    ("forwarded", forwarded),
    ("parameters", parameters),
];

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// A secret that parses is itself again, and its hint is a suffix of it.
pub fn token_secret(data: &[u8]) {
    let Some(raw) = text(data) else { return };
    if let Ok(secret) = TokenSecret::parse(raw) {
        assert_eq!(secret.expose(), raw);
        assert!(TokenSecret::parse(secret.expose()).is_ok());
        let hint = secret.hint();
        assert!(raw.starts_with(&hint), "hint {hint} of {raw}");
    }
}

/// Any `Authorization` header: refused or parsed, never a panic; a parsed one carries a valid secret.
pub fn authorization(data: &[u8]) {
    if let Ok(presented) = parse_authorization(data) {
        assert!(TokenSecret::parse(presented.secret.expose()).is_ok());
    }
}

/// An allowlist (and each range) that parses prints to text that parses to the same list, and survives storage.
pub fn allowlist(data: &[u8]) {
    let Some(raw) = text(data) else { return };
    if let Ok(list) = IpAllowlist::parse(raw) {
        let printed = list.to_string();
        assert_eq!(IpAllowlist::parse(&printed).as_ref(), Ok(&list), "{printed}");
        assert_eq!(IpAllowlist::from_storage(&list.to_storage()), list);
        assert!(list.is_within(&list));
        assert!(list.is_within(&IpAllowlist::default()), "every list lies within the any-address list");
    }
    if let Ok(range) = IpRange::parse(raw) {
        assert_eq!(IpRange::parse(&range.to_string()), Ok(range));
    }
}

/// An expiry that parses prints (as `never` or `YYYY-MM-DD`) to text that parses to the same expiry.
pub fn expiry(data: &[u8]) {
    let Some(raw) = text(data) else { return };
    let Some(today) = NaiveDate::from_ymd_opt(2026, 11, 30) else { return };
    if let Ok(parsed) = Expiry::parse(raw, today) {
        let printed = parsed.date().map_or_else(|| "never".to_owned(), |date| date.format("%Y-%m-%d").to_string());
        assert_eq!(Expiry::parse(&printed, today), Ok(parsed), "{printed}");
        assert!(parsed.date().is_none_or(|date| date >= today));
    }
}

/// Token and account names that parse are themselves again, and their keys are case-insensitive.
pub fn names(data: &[u8]) {
    let Some(raw) = text(data) else { return };
    if let Ok(name) = TokenName::parse(raw) {
        assert_eq!(TokenName::parse(name.as_str()).map(|n| n.key()), Ok(name.key()));
        assert_eq!(name.key(), name.as_str().to_ascii_lowercase());
        assert!(!name.as_str().contains('\0'));
    }
    if let Ok(name) = AccountName::parse(raw) {
        assert_eq!(AccountName::parse(name.as_str()).map(|n| n.key()), Ok(name.key()));
        assert!(!name.as_str().contains('\0'));
    }
}

/// A privilege list that parses survives storage, and `all` grants everything.
pub fn privileges(data: &[u8]) {
    let Some(raw) = text(data) else { return };
    if let Ok(set) = PrivilegeSet::parse_builtin(raw) {
        assert_eq!(PrivilegeSet::from_storage(&set.to_storage()), set);
        assert!(!set.is_empty());
        if set.holds_all() {
            assert!(set.grants("anything-at-all"));
        }
    }
}

/// `X-Forwarded-For` and `Forwarded` from a trusted proxy: a client address or a refusal, never a panic, and
/// never the address of a header from an untrusted peer.
pub fn forwarded(data: &[u8]) {
    use axum::http::{HeaderMap, HeaderValue};
    let Ok(value) = HeaderValue::from_bytes(data) else { return };
    let Ok(proxy) = IpRange::parse("127.0.0.1") else { return };
    let peer = std::net::IpAddr::from([127, 0, 0, 1]);
    let stranger = std::net::IpAddr::from([192, 0, 2, 7]);
    for (header, name) in
        [(ForwardedHeader::XForwardedFor, "x-forwarded-for"), (ForwardedHeader::Forwarded, "forwarded")]
    {
        let mut headers = HeaderMap::new();
        headers.insert(name, value.clone());
        let proxies = TrustedProxies { ranges: vec![proxy], header };
        let _ = client_ip(peer, &headers, &proxies);
        assert_eq!(client_ip(stranger, &headers, &proxies), Ok(stranger), "an untrusted peer's header is ignored");
    }
}

/// UAPI and WHM parameters (`application/x-www-form-urlencoded`, query string and body, split at the first
/// newline): decoded or refused, never a panic; decoded pairs encode to text that decodes to the same pairs; a
/// parameter given twice is an error, once is its value; a WHM list holds only non-blank values.
pub fn parameters(data: &[u8]) {
    use crate::domain::form::{self, FormError, FormParams};
    let Some(raw) = text(data) else { return };
    let (query, body) = match raw.split_once('\n') {
        Some((query, body)) => (query, Some(body)),
        None => (raw, None),
    };
    let Ok(params) = FormParams::parse(query, body) else { return };
    let pairs = params.pairs();
    assert_eq!(form::decode(&form::encode(pairs)).as_deref(), Ok(pairs));
    for (key, value) in pairs {
        let count = pairs.iter().filter(|(other, _)| other == key).count();
        match params.get(key) {
            Ok(found) => assert_eq!((count, found), (1, Some(value.as_str()))),
            Err(err) => assert_eq!((count > 1, err), (true, FormError::Repeated(key.clone()))),
        }
        let base = key.rsplit_once('-').map_or(key.as_str(), |(base, _)| base);
        if let Ok(list) = params.list(base) {
            assert!(list.iter().all(|value| !value.trim().is_empty()));
        }
    }
}
