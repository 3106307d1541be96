//! The client's address, for the token API and the web app's server functions alike: the socket peer, or,
//! when the peer is a trusted reverse proxy, the address it reports in the one configured header
//! (`X-Forwarded-For` or RFC 7239 `Forwarded`). Headers from any other peer are ignored, so a client cannot
//! claim an address its token's allowlist admits; the other header is ignored even from a proxy, so a client
//! cannot pick its address by sending the header the proxy does not overwrite.

use crate::domain::IpRange;
use axum::http::{HeaderMap, HeaderName};
use std::net::{IpAddr, SocketAddr};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// The header a trusted proxy names the client in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=…`.
    Forwarded,
}

impl std::str::FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            _ => Err(format!("“{raw}” is not a forwarding header: use x-forwarded-for or forwarded")),
        }
    }
}

/// The reverse proxies whose forwarding header is believed, and which header that is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    pub ranges: Vec<IpRange>,
    pub header: ForwardedHeader,
}

impl TrustedProxies {
    fn trust(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        self.ranges.iter().any(|range| range.contains(ip) || range.contains(canonical))
    }
}

/// The client's address as the web app records it (sign-ins, audit): [`client_ip`], with a trusted proxy's
/// unreadable header counting as the proxy's own address, in canonical text form.
pub fn web_client(peer: IpAddr, headers: &HeaderMap, proxies: &TrustedProxies) -> String {
    client_ip(peer, headers, proxies).unwrap_or(peer).to_canonical().to_string()
}

/// The client address for a request from `peer`; `Err` when a trusted proxy sent an unreadable header.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, proxies: &TrustedProxies) -> Result<IpAddr, &'static str> {
    if !proxies.trust(peer) {
        return Ok(peer);
    }
    let hops = match proxies.header {
        ForwardedHeader::XForwardedFor if headers.contains_key(&X_FORWARDED_FOR) => forwarded_for(headers)?,
        ForwardedHeader::Forwarded if headers.contains_key(&FORWARDED) => forwarded(headers)?,
        _ => return Ok(peer),
    };
    // Walk back from the nearest hop: the first address that is not one of our proxies is the client.
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !proxies.trust(hop) {
            break;
        }
    }
    Ok(client)
}

/// Every `X-Forwarded-For` address, nearest last.
fn forwarded_for(headers: &HeaderMap) -> Result<Vec<IpAddr>, &'static str> {
    const BAD: &str = "The X-Forwarded-For header is malformed.";
    let mut hops = Vec::new();
    for value in headers.get_all(&X_FORWARDED_FOR) {
        let value = value.to_str().map_err(|_| BAD)?;
        for entry in value.split(',') {
            hops.push(parse_hop(entry.trim()).ok_or(BAD)?);
        }
    }
    Ok(hops)
}

/// Every `for=` address of RFC 7239 `Forwarded` headers, nearest last.
fn forwarded(headers: &HeaderMap) -> Result<Vec<IpAddr>, &'static str> {
    const BAD: &str = "The Forwarded header is malformed.";
    let mut hops = Vec::new();
    for value in headers.get_all(&FORWARDED) {
        let value = value.to_str().map_err(|_| BAD)?;
        for element in value.split(',') {
            for pair in element.split(';') {
                let Some((key, node)) = pair.trim().split_once('=') else { continue };
                if key.trim().eq_ignore_ascii_case("for") {
                    hops.push(parse_hop(node.trim().trim_matches('"')).ok_or(BAD)?);
                }
            }
        }
    }
    Ok(hops)
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_static(value));
        map
    }

    fn proxies() -> TrustedProxies {
        proxies_using(ForwardedHeader::XForwardedFor)
    }

    fn proxies_using(header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies {
            ranges: vec![IpRange::parse("127.0.0.1").unwrap(), IpRange::parse("10.0.0.0/8").unwrap()],
            header,
        }
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_an_address() {
        let peer: IpAddr = "203.0.113.7".parse().unwrap();
        let spoof = headers("x-forwarded-for", "192.0.2.1");
        assert_eq!(client_ip(peer, &spoof, &proxies()), Ok(peer));
        assert_eq!(client_ip(peer, &headers("x-forwarded-for", "junk"), &proxies()), Ok(peer));
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let chain = headers("x-forwarded-for", "198.51.100.9, 192.0.2.1, 10.1.2.3");
        assert_eq!(client_ip(peer, &chain, &proxies()), Ok("192.0.2.1".parse().unwrap()));
        let rfc = headers("forwarded", "for=192.0.2.60;proto=http, for=\"[2001:db8::1]:4711\"");
        let rfc_proxies = proxies_using(ForwardedHeader::Forwarded);
        assert_eq!(client_ip(peer, &rfc, &rfc_proxies), Ok("2001:db8::1".parse().unwrap()));
        assert_eq!(client_ip(peer, &HeaderMap::new(), &proxies()), Ok(peer));
        assert!(client_ip(peer, &headers("x-forwarded-for", "not-an-ip"), &proxies()).is_err());
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(client_ip(mapped, &chain, &proxies()), Ok("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn only_the_configured_header_counts() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        // The proxy overwrites X-Forwarded-For; a client's own `Forwarded` passes through it untouched.
        let mut both = headers("x-forwarded-for", "198.51.100.9");
        both.insert("forwarded", axum::http::HeaderValue::from_static("for=192.0.2.1"));
        assert_eq!(client_ip(peer, &both, &proxies()), Ok("198.51.100.9".parse().unwrap()));
        assert_eq!(client_ip(peer, &headers("forwarded", "for=192.0.2.1"), &proxies()), Ok(peer));
        let rfc = proxies_using(ForwardedHeader::Forwarded);
        assert_eq!(client_ip(peer, &both, &rfc), Ok("192.0.2.1".parse().unwrap()));
        assert_eq!(client_ip(peer, &headers("x-forwarded-for", "198.51.100.9"), &rfc), Ok(peer));
        assert_eq!("Forwarded".parse(), Ok(ForwardedHeader::Forwarded));
        assert!("x-real-ip".parse::<ForwardedHeader>().is_err());
    }
}
