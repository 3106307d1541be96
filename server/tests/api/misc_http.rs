//! Everything else a client can reach: health checks, unknown pages, malformed calls, response headers.

use crate::common::spawn_app;

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

/// Listing the app's routes switches Leptos's resource loading off process-wide for a moment; a page rendered
/// meanwhile used to wait for its resources forever. Routes are now listed once per process, so building more
/// servers (as tests do, in parallel) never stalls a page another server is rendering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_another_server_never_stalls_a_page_being_rendered() {
    let app = spawn_app().await;
    let state = app.state.clone();
    let builder = tokio::task::spawn_blocking(move || {
        for _ in 0..200 {
            drop(tessera_server::router::app(state.clone()));
        }
    });
    let client = app.client();
    for _ in 0..50 {
        let page = async {
            let response = client.get(app.url("/login")).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        };
        let (status, body) =
            tokio::time::timeout(std::time::Duration::from_secs(10), page).await.expect("the page never hangs");
        assert_eq!(status, 200);
        assert!(body.contains("Sign in"), "the whole page arrives");
    }
    builder.await.unwrap();
}
