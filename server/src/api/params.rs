//! `Params<F>`: the named parameters of a UAPI, WHM or introspection call, from the query string and, for a POST,
//! a form-encoded body, decoded by `app::domain::form` (where they are fuzzed). Strict where clients can be wrong
//! (undecodable bytes, a parameter given twice, an oversized body, a body that is not a form): each is a 4xx in the
//! envelope of API `F`, never a 5xx.

use super::{ApiError, BODY_LIMIT, Flavor};
use app::{
    domain::form::{FormError, FormParams},
    state::WebState,
};
use axum::{
    extract::{FromRequest, Request},
    http::{Method, StatusCode, header::CONTENT_TYPE},
    response::Response,
};
use std::marker::PhantomData;

pub struct Params<F> {
    form: FormParams,
    flavor: PhantomData<F>,
}

impl<F: Flavor> FromRequest<WebState> for Params<F> {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &WebState) -> Result<Self, Response> {
        let path = request.uri().path().to_owned();
        let reject = |err: ApiError| F::render(&path, err);
        let query = request.uri().query().unwrap_or_default().to_owned();
        let mut body_text = None;
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
                let text = String::from_utf8(body.to_vec())
                    .map_err(|_| reject(ApiError::bad_request("The request body is not valid UTF-8.")))?;
                body_text = Some(text);
            }
        }
        let form = FormParams::parse(&query, body_text.as_deref()).map_err(|err| reject(err.into()))?;
        Ok(Self { form, flavor: PhantomData })
    }
}

impl From<FormError> for ApiError {
    fn from(err: FormError) -> Self {
        ApiError::bad_request(err.to_string())
    }
}

impl<F> Params<F> {
    /// The value of `name`, if given; an error when it is given more than once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, ApiError> {
        Ok(self.form.get(name)?)
    }

    /// The value of `name`; an error when it is missing, empty or repeated.
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        Ok(self.form.require(name)?)
    }

    /// A secret parameter: required, and only from a POST body (see [`FormParams::secret`]).
    pub fn secret(&self, name: &str) -> Result<&str, ApiError> {
        Ok(self.form.secret(name)?)
    }

    /// A list parameter in WHM's style: `name`, `name-0`, `name-1`, … (see [`FormParams::list`]).
    pub fn list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        Ok(self.form.list(name)?)
    }
}
