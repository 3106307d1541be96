//! Everything else a client can reach: health checks, unknown pages, malformed calls, response headers.

mod common;

use common::spawn_app;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let client = app.client();
    let health = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

#[tokio::test]
async fn an_unknown_page_is_a_404_page() {
    let app = spawn_app().await;
    let response = app.client().get(app.url("/no/such/page")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn a_server_function_call_with_missing_arguments_is_a_400() {
    let app = spawn_app().await;
    let response = app.client().post(app.url("/rpc/login")).form(&[("username", "alice")]).send().await.unwrap();
    assert_eq!(response.status(), 400, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn responses_carry_protective_headers() {
    let app = spawn_app().await;
    let response = app.client().get(app.url("/login")).send().await.unwrap();
    assert_eq!(response.headers().get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(response.headers().get("x-frame-options").unwrap(), "DENY");
}
