//! Response compression (gzip, brotli) for the clients that ask for it, without its cost for those that do not.
//!
//! tower-http's compression body is 5.8 KB inline, and its layer wraps every response in it, compressed or not:
//! moving that value up through the layers above took a tenth of `/healthz`'s CPU time (perf: `memmove` under the
//! trace, compression and response-mapping futures). Most calls on the hot paths come from clients that accept no
//! compression at all (a reverse proxy's auth subrequest, API clients, health checks): their requests skip the
//! layer, and their answers are exactly what it would have sent them, `Vary: Accept-Encoding` included. For the
//! others the compression body is boxed once where it is made, so only a pointer moves up.

use axum::{
    body::Body,
    http::{HeaderValue, Request, Response, header},
};
use futures_util::{
    FutureExt,
    future::{Either, Map},
};
use std::task::{Context, Poll};
use tower::{Layer, Service};
use tower_http::compression::{
    Compression, CompressionBody, CompressionLayer, DefaultPredicate, Predicate, ResponseFuture,
};

/// Wraps a service in [`Compress`].
#[derive(Clone, Copy, Default)]
pub struct CompressLayer;

impl<S> Layer<S> for CompressLayer {
    type Service = Compress<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Compress { inner: CompressionLayer::new().layer(inner) }
    }
}

/// See the module's documentation.
#[derive(Clone)]
pub struct Compress<S> {
    inner: Compression<S>,
}

type Answer<E> = Result<Response<Body>, E>;

impl<S> Service<Request<Body>> for Compress<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    #[allow(clippy::type_complexity)] // the two ways a response goes, spelled out so nothing is boxed
    type Future = Either<
        Map<S::Future, fn(Answer<S::Error>) -> Answer<S::Error>>,
        Map<
            ResponseFuture<S::Future, DefaultPredicate>,
            fn(Result<Response<CompressionBody<Body>>, S::Error>) -> Answer<S::Error>,
        >,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if request.headers().contains_key(header::ACCEPT_ENCODING) {
            Either::Right(self.inner.call(request).map(boxed::<S::Error> as fn(_) -> _))
        } else {
            Either::Left(self.inner.get_mut().call(request).map(uncompressed::<S::Error> as fn(_) -> _))
        }
    }
}

fn boxed<E>(answer: Result<Response<CompressionBody<Body>>, E>) -> Answer<E> {
    answer.map(|response| response.map(Body::new))
}

/// What the compression layer does to a response for a client that accepts no encoding: it sends it as it is,
/// saying that another client could get it compressed when the response is of a kind it compresses.
fn uncompressed<E>(answer: Answer<E>) -> Answer<E> {
    answer.map(|mut response| {
        let compressible = !response.headers().contains_key(header::CONTENT_ENCODING)
            && !response.headers().contains_key(header::CONTENT_RANGE)
            && DefaultPredicate::new().should_compress(&response);
        let varies = response.headers().get_all(header::VARY).iter().any(|value| {
            value
                .to_str()
                .is_ok_and(|value| value.split(',').any(|name| name.trim().eq_ignore_ascii_case("accept-encoding")))
        });
        if compressible && !varies {
            response.headers_mut().append(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        response
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{Router, routing::get};
    use tower::ServiceExt;

    const PAGE: &str = "<p>a page long enough to be worth compressing, well past the thirty-two bytes</p>";

    fn router() -> Router {
        Router::new().route("/page", get(|| async { PAGE })).route("/tiny", get(|| async { "ok" })).layer(CompressLayer)
    }

    async fn get_with(path: &str, accept: Option<&str>) -> (axum::http::HeaderMap, Vec<u8>) {
        let mut request = Request::get(path);
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        let response = router().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let headers = response.headers().clone();
        (headers, axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec())
    }

    #[tokio::test]
    async fn a_client_that_accepts_gzip_gets_gzip_and_one_that_accepts_nothing_the_same_headers_unencoded() {
        let (gzipped, body) = get_with("/page", Some("gzip")).await;
        assert_eq!(gzipped[header::CONTENT_ENCODING], "gzip");
        assert_ne!(body, PAGE.as_bytes());
        let (plain, body) = get_with("/page", None).await;
        assert_eq!(body, PAGE.as_bytes());
        assert!(!plain.contains_key(header::CONTENT_ENCODING));
        // A cache in between must not hand the unencoded copy to everyone as if nothing varied.
        assert_eq!(plain.get_all(header::VARY).iter().collect::<Vec<_>>(), ["accept-encoding"]);
        assert_eq!(gzipped.get_all(header::VARY).iter().collect::<Vec<_>>(), ["accept-encoding"]);
        let (identity, body) = get_with("/page", Some("identity")).await;
        assert_eq!((body.as_slice(), identity.get(header::VARY)), (PAGE.as_bytes(), plain.get(header::VARY)));
    }

    #[tokio::test]
    async fn a_body_too_small_to_compress_varies_on_nothing_either_way() {
        for accept in [None, Some("gzip, br")] {
            let (headers, body) = get_with("/tiny", accept).await;
            assert_eq!(body, b"ok");
            assert!(
                !headers.contains_key(header::VARY) && !headers.contains_key(header::CONTENT_ENCODING),
                "{accept:?}"
            );
        }
    }
}
