//! `Params<F>`: the named parameters of a UAPI, WHM or introspection call, from the query string and, for a POST,
//! a form-encoded body. Strict where clients can be wrong (undecodable bytes, a parameter given twice, an
//! oversized body, a body that is not a form): each is a 4xx in the envelope of API `F`, never a 5xx.

use super::{ApiError, BODY_LIMIT, Flavor};
use app::state::WebState;
use axum::{
    extract::{FromRequest, Request},
    http::{Method, StatusCode, header::CONTENT_TYPE},
    response::Response,
};
use std::marker::PhantomData;

pub struct Params<F> {
    pairs: Vec<(String, String)>,
    /// How many of `pairs` (the first ones) came from the query string.
    from_query: usize,
    flavor: PhantomData<F>,
}

impl<F: Flavor> FromRequest<WebState> for Params<F> {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &WebState) -> Result<Self, Response> {
        let path = request.uri().path().to_owned();
        let reject = |err: ApiError| F::render(&path, err);
        let mut pairs = decode(request.uri().query().unwrap_or_default()).map_err(reject)?;
        let from_query = pairs.len();
        if request.method() == Method::POST {
            let content_type = request.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?").to_owned());
            let body = axum::body::to_bytes(request.into_body(), BODY_LIMIT).await.map_err(|_| {
                reject(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("The request body is larger than {} KiB.", BODY_LIMIT / 1024),
                ))
            })?;
            if !body.is_empty() {
                let is_form = content_type.as_deref().is_some_and(|t| {
                    t.split(';')
                        .next()
                        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
                });
                if !is_form {
                    return Err(reject(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "Send parameters in the query string or as an application/x-www-form-urlencoded body.",
                    )));
                }
                let text = std::str::from_utf8(&body)
                    .map_err(|_| reject(ApiError::bad_request("The request body is not valid UTF-8.")))?;
                pairs.extend(decode(text).map_err(reject)?);
            }
        }
        Ok(Self { pairs, from_query, flavor: PhantomData })
    }
}

impl<F> Params<F> {
    /// The value of `name`, if given; an error when it is given more than once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self.pairs.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str());
        match (values.next(), values.next()) {
            (first, None) => Ok(first),
            _ => Err(ApiError::bad_request(format!("The parameter “{name}” was given more than once."))),
        }
    }

    /// The value of `name`; an error when it is missing, empty or repeated.
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        match self.get(name)? {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(ApiError::bad_request(format!("The parameter “{name}” is required."))),
        }
    }

    /// A secret parameter (a password, a token): required, and only from a POST body. URLs end up in proxy
    /// and server logs and in browser history, so a secret in the query string is refused, not used.
    pub fn secret(&self, name: &str) -> Result<&str, ApiError> {
        if self.pairs[..self.from_query].iter().any(|(key, _)| key == name) {
            return Err(ApiError::bad_request(format!(
                "The parameter “{name}” is a secret: send it in a POST body (application/x-www-form-urlencoded), \
                 not in the URL, where proxies and logs keep it."
            )));
        }
        self.require(name)
    }

    /// A list parameter in WHM's style: `name` itself and `name-0`, `name-1`, … in index order. Empty values are
    /// skipped; an index given twice is an error.
    pub fn list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        let mut indexed: Vec<(u32, &str)> = Vec::new();
        for (key, value) in &self.pairs {
            let Some(index) = key.strip_prefix(name).and_then(|rest| rest.strip_prefix('-')) else { continue };
            let index: u32 =
                index.parse().map_err(|_| ApiError::bad_request(format!("“{key}” is not a valid parameter name.")))?;
            indexed.push((index, value));
        }
        indexed.sort_by_key(|(index, _)| *index);
        if indexed.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err(ApiError::bad_request(format!("An index of “{name}-N” was given more than once.")));
        }
        let mut values: Vec<String> = self.get(name)?.into_iter().map(str::to_owned).collect();
        values.extend(indexed.into_iter().map(|(_, value)| value.to_owned()));
        values.retain(|value| !value.trim().is_empty());
        Ok(values)
    }
}

/// Decodes `application/x-www-form-urlencoded` (also the query string), refusing what does not decode cleanly
/// instead of guessing: a broken `%` escape or bytes that are not UTF-8.
pub fn decode(input: &str) -> Result<Vec<(String, String)>, ApiError> {
    input
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((unescape(key)?, unescape(value)?))
        })
        .collect()
}

fn unescape(raw: &str) -> Result<String, ApiError> {
    let bad = || ApiError::bad_request("A parameter is not correctly URL-encoded UTF-8.");
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Any;
    impl Flavor for Any {
        fn required_privilege(_: &axum::http::request::Parts) -> Result<Option<String>, ApiError> {
            Ok(None)
        }
        fn render(_: &str, _: ApiError) -> Response {
            Response::default()
        }
    }

    fn params(query: &str) -> Params<Any> {
        let pairs = decode(query).unwrap();
        Params { from_query: pairs.len(), pairs, flavor: PhantomData }
    }

    #[test]
    fn secrets_are_refused_from_the_query_string() {
        let p = params("password=hunter22&user=a");
        assert!(p.secret("password").unwrap_err().message.contains("POST body"));
        let from_body = Params::<Any> { from_query: 1, ..params("user=a&password=hunter22") };
        assert_eq!(from_body.secret("password").unwrap(), "hunter22");
    }

    #[test]
    fn decodes_forms_strictly() {
        assert_eq!(
            decode("a=1+2&b=%C3%A9&c").unwrap(),
            [("a".into(), "1 2".into()), ("b".into(), "é".into()), ("c".into(), String::new())]
        );
        assert!(decode("a=%zz").is_err());
        assert!(decode("a=%4").is_err());
        assert!(decode("a=%ff").is_err());
    }

    #[test]
    fn repeated_and_missing_parameters_are_errors() {
        let p = params("name=a&name=b&x=");
        assert!(p.get("name").is_err());
        assert!(p.require("x").is_err());
        assert!(p.require("y").is_err());
    }

    #[test]
    fn lists_in_whm_style_keep_index_order() {
        let p = params("acl-1=b&acl-0=a&acl-10=c&acl=z");
        assert_eq!(p.list("acl").unwrap(), ["z", "a", "b", "c"]);
        assert!(params("acl-0=a&acl-0=b").list("acl").is_err());
        assert!(params("acl-x=a").list("acl").is_err());
        assert!(params("aclx=a").list("acl").unwrap().is_empty());
    }
}
