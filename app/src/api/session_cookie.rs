//! The session cookie: its name and attributes (HttpOnly, SameSite=Strict; over HTTPS `Secure` and the `__Host-`
//! prefix) and reading it back from a request. A web concern: the services see only the cookie's value.

use crate::{
    services::auth::{CHALLENGE_LIFETIME, ChallengeCookie, SessionCookie},
    state::WebSettings,
};

/// The name of the session cookie over plain HTTP.
pub const SESSION_COOKIE: &str = "tessera_session";
/// Its name over HTTPS: browsers accept a `__Host-` cookie only when it is `Secure`, `Path=/` and has no
/// `Domain`, set by this very host, so a sibling subdomain or a plain-HTTP page cannot plant one.
pub const SECURE_SESSION_COOKIE: &str = "__Host-tessera_session";

impl WebSettings {
    /// The session cookie's name: `__Host-` prefixed over HTTPS.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookie { SECURE_SESSION_COOKIE } else { SESSION_COOKIE }
    }
}

/// A `Set-Cookie` value with the attributes every Tessera cookie has; `max_age` in seconds (`None`: until the
/// browser closes).
fn cookie_header(web: &WebSettings, name: &str, value: &str, max_age: Option<i64>) -> String {
    cookie_header_same_site(web, name, value, max_age, "Strict")
}

fn cookie_header_same_site(
    web: &WebSettings,
    name: &str,
    value: &str,
    max_age: Option<i64>,
    same_site: &str,
) -> String {
    let max_age = max_age.map(|seconds| format!("; Max-Age={seconds}")).unwrap_or_default();
    let secure = if web.secure_cookie { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}{max_age}{secure}")
}

/// The `Set-Cookie` value that stores a new session in the browser. No `Max-Age`: the cookie ends with the
/// browser session, and the server ends it sooner on idle or absolute timeout.
pub fn set_cookie_header(cookie: &SessionCookie, web: &WebSettings) -> String {
    cookie_header(web, web.cookie_name(), &cookie.0, None)
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie_header(web: &WebSettings) -> String {
    cookie_header(web, web.cookie_name(), "", Some(0))
}

/// The name of the cookie that carries a sign-in waiting for its second factor, over plain HTTP and HTTPS.
pub const CHALLENGE_COOKIE: &str = "tessera_sign_in";
pub const SECURE_CHALLENGE_COOKIE: &str = "__Host-tessera_sign_in";

impl WebSettings {
    /// The second-factor cookie's name: `__Host-` prefixed over HTTPS.
    pub fn challenge_cookie_name(&self) -> &'static str {
        if self.secure_cookie { SECURE_CHALLENGE_COOKIE } else { CHALLENGE_COOKIE }
    }
}

/// The `Set-Cookie` value for a sign-in waiting for its second factor: it lives as long as the server waits.
pub fn set_challenge_header(cookie: &ChallengeCookie, web: &WebSettings) -> String {
    cookie_header(web, web.challenge_cookie_name(), &cookie.0, Some(CHALLENGE_LIFETIME.num_seconds()))
}

/// The `Set-Cookie` value that removes the second-factor cookie.
pub fn clear_challenge_header(web: &WebSettings) -> String {
    cookie_header(web, web.challenge_cookie_name(), "", Some(0))
}

/// The name of the cookie that binds a single sign-on to the browser that started it (its `state`), over plain
/// HTTP and HTTPS.
pub const SSO_COOKIE: &str = "tessera_sso";
pub const SECURE_SSO_COOKIE: &str = "__Host-tessera_sso";

impl WebSettings {
    /// The single sign-on cookie's name: `__Host-` prefixed over HTTPS.
    pub fn sso_cookie_name(&self) -> &'static str {
        if self.secure_cookie { SECURE_SSO_COOKIE } else { SSO_COOKIE }
    }
}

/// The `Set-Cookie` value for a single sign-on under way. `SameSite=Lax`, unlike the others: the browser comes
/// back from the identity provider, another site, and a `Strict` cookie would not be sent with that navigation.
/// It only names the sign-in the browser started, so a cross-site request carrying it can do nothing else.
pub fn set_sso_header(state: &str, web: &WebSettings) -> String {
    let max_age = crate::services::oidc::PENDING_LIFETIME.num_seconds();
    cookie_header_same_site(web, web.sso_cookie_name(), state, Some(max_age), "Lax")
}

/// The `Set-Cookie` value that removes the single sign-on cookie.
pub fn clear_sso_header(web: &WebSettings) -> String {
    cookie_header_same_site(web, web.sso_cookie_name(), "", Some(0), "Lax")
}

/// Every value of the cookie `name` in a request's `Cookie` headers, in order (a browser may send several).
pub fn request_cookie_values(headers: &axum::http::HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| cookie_values(header, name).map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

/// Every value of the cookie `name` in a `Cookie` request header (a browser may send several).
pub fn cookie_values<'a>(cookie_header: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_http_only_strict_and_secure_only_under_tls() {
        let cookie = SessionCookie("abc".into());
        let plain = set_cookie_header(&cookie, &WebSettings::default());
        assert_eq!(plain, "tessera_session=abc; Path=/; HttpOnly; SameSite=Strict");
        let tls = WebSettings { secure_cookie: true, ..WebSettings::default() };
        assert_eq!(
            set_cookie_header(&cookie, &tls),
            "__Host-tessera_session=abc; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(clear_cookie_header(&tls).starts_with("__Host-tessera_session=;"));
        assert!(clear_cookie_header(&tls).contains("Max-Age=0"));
        let challenge = ChallengeCookie("def".into());
        assert_eq!(
            set_challenge_header(&challenge, &WebSettings::default()),
            "tessera_sign_in=def; Path=/; HttpOnly; SameSite=Strict; Max-Age=300"
        );
        assert!(set_challenge_header(&challenge, &tls).starts_with("__Host-tessera_sign_in=def;"));
        assert!(clear_challenge_header(&tls).contains("Max-Age=0; Secure"));
        assert_eq!(
            set_sso_header("st", &WebSettings::default()),
            "tessera_sso=st; Path=/; HttpOnly; SameSite=Lax; Max-Age=600"
        );
        assert!(set_sso_header("st", &tls).starts_with("__Host-tessera_sso=st;"));
        assert!(clear_sso_header(&tls).contains("SameSite=Lax; Max-Age=0; Secure"));
    }

    #[test]
    fn finds_the_session_cookie_among_others() {
        let values = |header| cookie_values(header, SESSION_COOKIE).collect::<Vec<_>>();
        assert_eq!(values("a=1; tessera_session=xyz; b=2"), ["xyz"]);
        assert_eq!(values("tessera_session=old; tessera_session=new"), ["old", "new"]);
        assert!(values("tessera_session=").is_empty());
        assert!(values("other=1; __Host-tessera_session=x").is_empty());
    }
}
