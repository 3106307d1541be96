//! Cross-site request forgery, refused (issue 11, ASVS 4.2.2): a state change through the web app (a server
//! function, or any request that is not GET/HEAD/OPTIONS outside the token APIs) must come from Tessera's own
//! origin. `Origin` is compared with the configured public URL, or with the request's own `Host`; without
//! `Origin`, a browser's `Sec-Fetch-Site` must say same-origin. A request with neither comes from no browser (a
//! script, curl) and cannot carry a victim's cookie by itself, so it passes. SameSite=Strict cookies stay as
//! defence in depth. The token APIs authenticate by header, which another site cannot make a browser send.

use app::error::AppError;
use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header},
    response::{IntoResponse, Response},
};

/// Why a request was refused as cross-site.
#[derive(Debug, PartialEq, Eq)]
pub struct CrossSite(&'static str);

/// Whether `headers` show a same-origin request; `public_origin` is `scheme://host[:port]` when configured.
pub fn check(headers: &HeaderMap, public_origin: Option<&str>) -> Result<(), CrossSite> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| CrossSite("unreadable Origin"))?.trim().to_ascii_lowercase();
        let origin = origin.trim_end_matches('/');
        return match public_origin {
            Some(public) if origin == public => Ok(()),
            Some(_) => Err(CrossSite("Origin is not the public URL")),
            None => {
                let authority = origin
                    .strip_prefix("https://")
                    .or_else(|| origin.strip_prefix("http://"))
                    .ok_or(CrossSite("Origin is not a web origin"))?;
                let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
                if host.as_deref() == Some(authority) { Ok(()) } else { Err(CrossSite("Origin is not this host")) }
            }
        };
    }
    match headers.get("sec-fetch-site").map(HeaderValue::as_bytes) {
        None | Some(b"same-origin" | b"none") => Ok(()),
        Some(_) => Err(CrossSite("Sec-Fetch-Site is not same-origin")),
    }
}

/// Paths that authenticate with a token in a header, not with the session cookie: the token APIs'.
pub fn token_api(path: &str) -> bool {
    crate::api::Envelope::of(path) != crate::api::Envelope::Plain
}

/// Refuses a cross-site state change with 403 (a server function's typed error for the app); `None` lets the
/// request through.
pub fn refuse_cross_site(request: &Request<Body>, public_origin: Option<&str>) -> Option<Response> {
    let path = request.uri().path();
    let server_function = path.starts_with("/rpc/");
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if token_api(path) || (safe && !server_function) {
        return None;
    }
    let CrossSite(why) = check(request.headers(), public_origin).err()?;
    tracing::warn!(path, why, "refused a cross-site request");
    let body = serde_json::to_string(&AppError::CrossSite).unwrap_or_default();
    Some((StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (axum::http::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn the_same_host_passes_and_another_site_does_not() {
        let host = ("host", "127.0.0.1:3000");
        assert_eq!(check(&headers(&[host, ("origin", "http://127.0.0.1:3000")]), None), Ok(()));
        assert!(check(&headers(&[host, ("origin", "http://evil.example")]), None).is_err());
        assert!(check(&headers(&[host, ("origin", "null")]), None).is_err());
        assert!(check(&headers(&[("origin", "http://127.0.0.1:3000")]), None).is_err(), "no Host to compare");
    }

    #[test]
    fn a_public_url_is_the_only_origin() {
        let public = Some("https://tessera.example.com");
        let host = ("host", "tessera.example.com");
        assert_eq!(check(&headers(&[host, ("origin", "https://tessera.example.com")]), public), Ok(()));
        assert!(check(&headers(&[host, ("origin", "http://tessera.example.com")]), public).is_err());
    }

    #[test]
    fn without_origin_the_fetch_metadata_decides_and_non_browsers_pass() {
        assert_eq!(check(&headers(&[("sec-fetch-site", "same-origin")]), None), Ok(()));
        assert!(check(&headers(&[("sec-fetch-site", "cross-site")]), None).is_err());
        assert!(check(&headers(&[("sec-fetch-site", "same-site")]), None).is_err());
        assert_eq!(check(&HeaderMap::new(), None), Ok(()));
    }
}
