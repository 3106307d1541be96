//! IP allowlists: the client addresses a token may be used from (SPEC §2). An empty allowlist means any address.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The most entries one allowlist may hold.
pub const ALLOWLIST_MAX_ENTRIES: usize = 100;

/// Why one entry is not a valid address or range. The message names the entry, so it reads well on its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("{entry} is not a valid IP address or range.")]
    NotAnAddress { entry: String },
    #[error("{entry} is not a valid range (IPv4 prefixes are /0 to /32).")]
    BadIpv4Prefix { entry: String },
    // cPanel refuses IPv6 /0: "the whole IPv6 Internet" is far more likely a typo than an intent.
    #[error("{entry} is not a valid range (IPv6 prefixes are /1 to /128).")]
    BadIpv6Prefix { entry: String },
    #[error("{entry} has host bits set; did you mean {network}?")]
    HostBitsSet { entry: String, network: IpRange },
}

/// One IPv4 or IPv6 address or CIDR range, always in network form (no host bits set).
/// Orders IPv4 before IPv6, then by address, then by prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Accepts `addr` or `addr/prefix`, with no surrounding spaces.
    pub fn parse(entry: &str) -> Result<Self, RangeError> {
        let not_an_address = || RangeError::NotAnAddress { entry: entry.to_owned() };
        let (addr_part, prefix_part) = match entry.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (entry, None),
        };
        let addr: IpAddr = addr_part.parse().map_err(|_| not_an_address())?;
        let width = width(addr);
        let prefix = match prefix_part {
            None => width,
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                let (min, bad_prefix) = match addr {
                    IpAddr::V4(_) => (0, RangeError::BadIpv4Prefix { entry: entry.to_owned() }),
                    IpAddr::V6(_) => (1, RangeError::BadIpv6Prefix { entry: entry.to_owned() }),
                };
                // Digits too many for a u8 are simply a prefix out of range, not a different kind of mistake.
                match digits.parse::<u8>() {
                    Ok(prefix) if (min..=width).contains(&prefix) => prefix,
                    _ => return Err(bad_prefix),
                }
            }
            Some(_) => return Err(not_an_address()),
        };
        let network = Self { addr: with_bits(addr, bits(addr) & mask(prefix, width)), prefix };
        if network.addr != addr {
            return Err(RangeError::HostBitsSet { entry: entry.to_owned(), network });
        }
        Ok(network)
    }

    /// The network address (the first address of the range).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length: 32 or 128 for a single address.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies in this range. Families never mix here; see [`IpAllowlist::allows`] for mapped clients.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.addr.is_ipv4() == ip.is_ipv4() && bits(ip) & mask(self.prefix, width(ip)) == bits(self.addr)
    }

    /// Whether every address of `other` lies in this range.
    pub fn contains_range(&self, other: &IpRange) -> bool {
        self.prefix <= other.prefix && self.contains(other.addr)
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == width(self.addr) {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl TryFrom<String> for IpRange {
    type Error = RangeError;
    fn try_from(raw: String) -> Result<Self, RangeError> {
        Self::parse(&raw)
    }
}

impl From<IpRange> for String {
    fn from(range: IpRange) -> String {
        range.to_string()
    }
}

fn width(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

fn bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v4) => u128::from(v4.to_bits()),
        IpAddr::V6(v6) => v6.to_bits(),
    }
}

/// An address of the same family as `family` with the given bits.
fn with_bits(family: IpAddr, bits: u128) -> IpAddr {
    match family {
        // Masking to 32 bits first makes the truncating cast exact.
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from_bits((bits & u128::from(u32::MAX)) as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from_bits(bits)),
    }
}

/// The network mask for `prefix` within an address `width` bits wide, in the low bits of a u128.
fn mask(prefix: u8, width: u8) -> u128 {
    let all = u128::MAX >> (128 - u32::from(width));
    // `checked_shr` because shifting a u128 by 128 (an IPv6 /128) is an overflow, not zero.
    all & !all.checked_shr(u32::from(prefix)).unwrap_or(0)
}

/// One entry of the raw input that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryProblem {
    /// 1-based line of the raw input the entry is on, so the UI can point at it.
    pub line: usize,
    /// The entry as typed.
    pub entry: String,
    /// A full sentence about this entry alone.
    pub message: String,
}

/// Why an allowlist was refused: every bad entry at once, so the user can fix them all in one go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowlistError {
    pub problems: Vec<EntryProblem>,
    /// How many entries the input had when that was over [`ALLOWLIST_MAX_ENTRIES`]. The entries are then not
    /// checked one by one: the list has to shrink first, and garbage input stays cheap to refuse.
    pub too_many: Option<usize>,
}

impl AllowlistError {
    pub fn problems(&self) -> &[EntryProblem] {
        &self.problems
    }
}

impl fmt::Display for AllowlistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(count) = self.too_many {
            return write!(f, "An allowlist holds at most {ALLOWLIST_MAX_ENTRIES} entries; this one has {count}.");
        }
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "line {}: {}", problem.line, problem.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for AllowlistError {}

/// A normalised allowlist: no duplicates, IPv4 before IPv6, each family sorted. Empty means any address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct IpAllowlist(Vec<IpRange>);

impl IpAllowlist {
    /// Parses entries separated by newlines, commas or any whitespace. Blank entries are ignored, so an empty or
    /// blank input is the "any address" allowlist.
    pub fn parse(raw: &str) -> Result<Self, AllowlistError> {
        let entries: Vec<(usize, &str)> = raw
            .lines()
            .enumerate()
            .flat_map(|(index, line)| {
                line.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|e| !e.is_empty())
                    .map(move |e| (index + 1, e))
            })
            .collect();
        if entries.len() > ALLOWLIST_MAX_ENTRIES {
            return Err(AllowlistError { problems: Vec::new(), too_many: Some(entries.len()) });
        }
        let mut ranges = Vec::with_capacity(entries.len());
        let mut problems = Vec::new();
        for (line, entry) in entries {
            match IpRange::parse(entry) {
                Ok(range) => ranges.push(range),
                Err(err) => problems.push(EntryProblem { line, entry: entry.to_owned(), message: err.to_string() }),
            }
        }
        if !problems.is_empty() {
            return Err(AllowlistError { problems, too_many: None });
        }
        Ok(Self::normalised(ranges))
    }

    /// Reads what [`to_storage`](Self::to_storage) wrote. The input is trusted, so a damaged entry is skipped
    /// rather than failing every request: skipping narrows the list. Beware that a stored value with no valid
    /// entry at all reads as "any address", so only ever store what `to_storage` wrote.
    pub fn from_storage(stored: &str) -> Self {
        let ranges: Vec<IpRange> = stored.split_whitespace().filter_map(|e| IpRange::parse(e).ok()).collect();
        Self::normalised(ranges)
    }

    /// Entries joined by single spaces, in normalised order; empty for "any address".
    pub fn to_storage(&self) -> String {
        self.to_strings().join(" ")
    }

    fn normalised(mut ranges: Vec<IpRange>) -> Self {
        ranges.sort_unstable();
        ranges.dedup();
        Self(ranges)
    }

    /// Whether this allowlist lets every address through.
    pub fn is_any(&self) -> bool {
        self.0.is_empty()
    }

    pub fn entries(&self) -> &[IpRange] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(IpRange::to_string).collect()
    }

    /// Whether a client at `client` may use the token. An IPv4-mapped IPv6 client (`::ffff:1.2.3.4`, as seen on
    /// dual-stack sockets) also matches IPv4 entries.
    pub fn allows(&self, client: IpAddr) -> bool {
        let canonical = client.to_canonical();
        self.is_any() || self.0.iter().any(|range| range.contains(client) || range.contains(canonical))
    }

    /// Whether every address this allowlist lets through is also let through by `outer` (no escalation).
    pub fn is_within(&self, outer: &IpAllowlist) -> bool {
        if outer.is_any() {
            return true;
        }
        !self.is_any() && self.0.iter().all(|inner| outer.0.iter().any(|range| range.contains_range(inner)))
    }
}

impl fmt::Display for IpAllowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_strings().join(", "))
    }
}

impl TryFrom<Vec<String>> for IpAllowlist {
    type Error = AllowlistError;
    /// One entry per element, so a problem's line is the element's 1-based position.
    fn try_from(entries: Vec<String>) -> Result<Self, AllowlistError> {
        Self::parse(&entries.join("\n"))
    }
}

impl From<IpAllowlist> for Vec<String> {
    fn from(allowlist: IpAllowlist) -> Vec<String> {
        allowlist.to_strings()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn list(raw: &str) -> IpAllowlist {
        IpAllowlist::parse(raw).unwrap()
    }

    fn error(raw: &str) -> String {
        IpAllowlist::parse(raw).unwrap_err().to_string()
    }

    #[test]
    fn blank_input_means_any_address() {
        for raw in ["", "  ", "\n\n", ", ,\t"] {
            let allowlist = list(raw);
            assert!(allowlist.is_any() && allowlist.is_empty());
            assert_eq!(allowlist.len(), 0);
            assert!(allowlist.allows(ip("203.0.113.9")));
            assert!(allowlist.allows(ip("2001:db8::1")));
        }
    }

    #[test]
    fn accepts_addresses_and_ranges_of_both_families() {
        let allowlist = list("192.0.2.1 10.0.0.0/8 0.0.0.0/0 2001:db8::/32 ::1 2001:db8::1/128");
        assert_eq!(allowlist.len(), 6);
        assert!(!allowlist.is_any());
    }

    #[test]
    fn newlines_commas_and_whitespace_all_separate_entries() {
        let allowlist = list("10.0.0.1,10.0.0.2\n10.0.0.3\t10.0.0.4 ,\r\n, 10.0.0.5");
        assert_eq!(allowlist.to_strings(), ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]);
    }

    #[test]
    fn normalises_order_duplicates_and_full_length_prefixes() {
        let allowlist = list("2001:db8::/32\n10.0.0.2/32, 10.0.0.1 ::1/128 10.0.0.2 192.168.0.0/16 2001:DB8::/32");
        assert_eq!(allowlist.to_strings(), ["10.0.0.1", "10.0.0.2", "192.168.0.0/16", "::1", "2001:db8::/32"]);
        assert_eq!(allowlist.to_string(), "10.0.0.1, 10.0.0.2, 192.168.0.0/16, ::1, 2001:db8::/32");
        assert_eq!(allowlist.to_storage(), "10.0.0.1 10.0.0.2 192.168.0.0/16 ::1 2001:db8::/32");
    }

    #[test]
    fn ipv4_prefix_out_of_range() {
        assert_eq!(error("10.0.0.0/33"), "line 1: 10.0.0.0/33 is not a valid range (IPv4 prefixes are /0 to /32).");
        assert!(error("10.0.0.0/4294967296").contains("IPv4 prefixes are /0 to /32"));
    }

    #[test]
    fn ipv6_prefix_out_of_range() {
        assert_eq!(error("\n::1/0"), "line 2: ::1/0 is not a valid range (IPv6 prefixes are /1 to /128).");
        assert!(error("::/129").contains("IPv6 prefixes are /1 to /128"));
    }

    #[test]
    fn not_an_address() {
        assert_eq!(error("10.0.0.1\n\n999.1.1.1"), "line 3: 999.1.1.1 is not a valid IP address or range.");
        for bad in
            ["10.0.0", "10.0.0.1/", "10.0.0.1/x", "10.0.0.0/+8", "/8", "example.com", "fe80::1%eth0", "1.2.3.4/8/8"]
        {
            assert_eq!(error(bad), format!("line 1: {bad} is not a valid IP address or range."));
        }
    }

    #[test]
    fn host_bits_suggest_the_network() {
        assert_eq!(error("10.0.0.7/24"), "line 1: 10.0.0.7/24 has host bits set; did you mean 10.0.0.0/24?");
        assert_eq!(error("2001:db8::1/32"), "line 1: 2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?");
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let err = IpAllowlist::parse("10.0.0.1, nope\n\n10.0.0.7/24 ::1\n::1/0").unwrap_err();
        let lines: Vec<(usize, &str)> = err.problems().iter().map(|p| (p.line, p.entry.as_str())).collect();
        assert_eq!(lines, [(1, "nope"), (3, "10.0.0.7/24"), (4, "::1/0")]);
        assert_eq!(err.problems[0].message, "nope is not a valid IP address or range.");
        assert_eq!(
            err.to_string(),
            "line 1: nope is not a valid IP address or range.; \
             line 3: 10.0.0.7/24 has host bits set; did you mean 10.0.0.0/24?; \
             line 4: ::1/0 is not a valid range (IPv6 prefixes are /1 to /128)."
        );
    }

    #[test]
    fn a_hundred_entries_are_allowed_but_not_a_hundred_and_one() {
        let entries: Vec<String> = (0..=100).map(|i| format!("10.0.{}.{}", i / 50, i % 50)).collect();
        assert_eq!(list(&entries[..100].join("\n")).len(), 100);
        let err = IpAllowlist::parse(&entries.join(",")).unwrap_err();
        assert_eq!(err.too_many, Some(101));
        assert_eq!(err.to_string(), "An allowlist holds at most 100 entries; this one has 101.");
    }

    #[test]
    fn duplicates_count_towards_the_limit() {
        let err = IpAllowlist::parse(&"10.0.0.1 ".repeat(101)).unwrap_err();
        assert_eq!(err.too_many, Some(101));
    }

    #[test]
    fn allows_only_listed_addresses() {
        let allowlist = list("10.0.0.0/8 192.0.2.7 2001:db8::/32");
        assert!(allowlist.allows(ip("10.255.0.1")));
        assert!(allowlist.allows(ip("192.0.2.7")));
        assert!(allowlist.allows(ip("2001:db8:1::5")));
        assert!(!allowlist.allows(ip("11.0.0.1")));
        assert!(!allowlist.allows(ip("192.0.2.8")));
        assert!(!allowlist.allows(ip("2001:db9::1")));
        assert!(list("0.0.0.0/0").allows(ip("203.0.113.1")));
        assert!(!list("0.0.0.0/0").allows(ip("::1")));
    }

    #[test]
    fn ipv4_mapped_clients_match_ipv4_entries() {
        let allowlist = list("10.0.0.0/8");
        assert!(allowlist.allows(ip("::ffff:10.1.2.3")));
        assert!(!allowlist.allows(ip("::ffff:11.1.2.3")));
        // An IPv6 entry written in mapped form still matches the same client.
        assert!(list("::ffff:10.1.2.3").allows(ip("::ffff:10.1.2.3")));
    }

    #[test]
    fn is_within_checks_every_range() {
        let outer = list("10.0.0.0/8 2001:db8::/32");
        assert!(list("10.1.0.0/16 10.2.3.4").is_within(&outer));
        assert!(list("2001:db8:5::/48").is_within(&outer));
        assert!(list("10.0.0.0/8").is_within(&outer));
        assert!(!list("10.0.0.0/7").is_within(&outer));
        assert!(!list("10.1.0.0/16 192.0.2.1").is_within(&outer));
        assert!(!list("::/1").is_within(&outer));
        // "Any address" is within only "any address", and everything is within it.
        assert!(!IpAllowlist::default().is_within(&outer));
        assert!(IpAllowlist::default().is_within(&IpAllowlist::default()));
        assert!(outer.is_within(&IpAllowlist::default()));
    }

    #[test]
    fn storage_round_trips_and_skips_damage() {
        let allowlist = list("192.0.2.0/24 ::1 10.0.0.1");
        assert_eq!(IpAllowlist::from_storage(&allowlist.to_storage()), allowlist);
        assert_eq!(IpAllowlist::from_storage(""), IpAllowlist::default());
        assert_eq!(IpAllowlist::from_storage("10.0.0.1 garbage 10.0.0.7/24 ::1"), list("10.0.0.1 ::1"));
    }

    #[test]
    fn serde_uses_a_list_of_strings_and_validates() {
        let allowlist = list("10.0.0.0/8 ::1");
        let json = serde_json::to_string(&allowlist).unwrap();
        assert_eq!(json, r#"["10.0.0.0/8","::1"]"#);
        assert_eq!(serde_json::from_str::<IpAllowlist>(&json).unwrap(), allowlist);
        assert!(serde_json::from_str::<IpAllowlist>(r#"["10.0.0.7/24"]"#).is_err());
        assert_eq!(serde_json::to_string(&allowlist.entries()[0]).unwrap(), r#""10.0.0.0/8""#);
    }

    #[test]
    fn ranges_expose_network_and_prefix() {
        let range = IpRange::parse("192.168.0.0/16").unwrap();
        assert_eq!((range.addr(), range.prefix()), (ip("192.168.0.0"), 16));
        assert_eq!(IpRange::parse("::1").unwrap().prefix(), 128);
        assert!(range.contains_range(&IpRange::parse("192.168.4.0/24").unwrap()));
        assert!(!IpRange::parse("192.168.4.0/24").unwrap().contains_range(&range));
    }

    /// Mostly plausible entries (some with host bits or bad prefixes) joined by every kind of separator.
    fn plausible_input() -> impl Strategy<Value = String> {
        let v4 = (any::<[u8; 4]>(), proptest::option::of(0u8..=34))
            .prop_map(|(o, p)| format!("{}{}", Ipv4Addr::from(o), p.map(|p| format!("/{p}")).unwrap_or_default()));
        let v6 = (any::<[u16; 8]>(), proptest::option::of(0u8..=130))
            .prop_map(|(s, p)| format!("{}{}", Ipv6Addr::from(s), p.map(|p| format!("/{p}")).unwrap_or_default()));
        let entry = prop_oneof![v4, v6, Just("10.0.0.0/8".to_owned()), Just("::1".to_owned())];
        let separator = prop_oneof![Just(" "), Just(","), Just("\n"), Just("\r\n"), Just(" ,\t")];
        proptest::collection::vec((entry, separator), 0..12)
            .prop_map(|parts| parts.into_iter().map(|(e, s)| format!("{e}{s}")).collect())
    }

    /// Valid inputs: networks built by masking, so host bits are never set.
    fn valid_input() -> impl Strategy<Value = String> {
        let entry = prop_oneof![
            (any::<u32>(), 0u8..=32).prop_map(|(b, p)| {
                let addr = IpAddr::V4(Ipv4Addr::from_bits(b));
                IpRange { addr: with_bits(addr, bits(addr) & mask(p, 32)), prefix: p }.to_string()
            }),
            (any::<u128>(), 1u8..=128).prop_map(|(b, p)| {
                let addr = IpAddr::V6(Ipv6Addr::from_bits(b));
                IpRange { addr: with_bits(addr, bits(addr) & mask(p, 128)), prefix: p }.to_string()
            }),
        ];
        proptest::collection::vec(entry, 0..=ALLOWLIST_MAX_ENTRIES).prop_map(|entries| entries.join(", "))
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in any::<String>()) {
            let _ = IpAllowlist::parse(&raw);
            let _ = IpAllowlist::from_storage(&raw);
        }

        #[test]
        fn parse_never_panics_on_plausible_input(raw in plausible_input()) {
            let _ = IpAllowlist::parse(&raw);
        }

        #[test]
        fn normalising_twice_changes_nothing(raw in prop_oneof![plausible_input(), valid_input()]) {
            if let Ok(once) = IpAllowlist::parse(&raw) {
                prop_assert_eq!(IpAllowlist::parse(&once.to_storage()), Ok(once.clone()));
                prop_assert_eq!(IpAllowlist::from_storage(&once.to_storage()), once.clone());
                prop_assert!(once.entries().windows(2).all(|w| w[0] < w[1]));
            }
        }

        #[test]
        fn valid_input_parses_and_allows_its_own_networks(raw in valid_input()) {
            let allowlist = IpAllowlist::parse(&raw).unwrap();
            prop_assert!(allowlist.is_within(&allowlist));
            for range in allowlist.entries() {
                prop_assert!(allowlist.allows(range.addr()));
            }
        }
    }
}
