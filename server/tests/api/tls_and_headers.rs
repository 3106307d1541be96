//! HTTPS served directly, and the headers that make the browser part of the defence (issue 11 item 5): a
//! certificate made by the test (rcgen), `__Host-` Secure cookies and HSTS over TLS, a Content-Security-Policy
//! with a per-response nonce on every page, `no-store` on everything that carries a secret, and a database file
//! only its owner can read.

use crate::common::{LoggedServer, spawn_app};
use std::{os::unix::fs::PermissionsExt, process::Command};

/// `curl` against `base` (https://localhost:PORT), trusting `ca`: the response headers and body.
fn curl(base: &str, ca: &std::path::Path, args: &[&str]) -> (String, String) {
    let port = base.rsplit(':').next().unwrap();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-D", "-", "--cacert", ca.to_str().unwrap()])
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(args)
        .output()
        .expect("curl");
    assert!(out.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_ascii_lowercase(), body.to_owned())
}

#[test]
fn https_with_host_cookies_and_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let db_file = dir.path().join("data").join("tls.db");
    let url = format!("sqlite://{}", db_file.display());
    let server = LoggedServer::start_with(
        &url,
        dir.path(),
        &["--tls-cert", cert_path.to_str().unwrap(), "--tls-key", key_path.to_str().unwrap(), "--hsts-max-age", "300"],
    );
    let base = server.base.replace("http://127.0.0.1", "https://localhost");

    let (head, body) = curl(&base, &cert_path, &[&format!("{base}/healthz")]);
    assert!(head.starts_with("http/2 200") || head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, "ok");
    assert!(head.contains("strict-transport-security: max-age=300"), "{head}");

    let (head, _) = curl(
        &base,
        &cert_path,
        &[
            "-X",
            "POST",
            "--data",
            &format!("username=admin&password={}", crate::common::LOGGED_ADMIN_PASSWORD),
            &format!("{base}/rpc/login"),
        ],
    );
    let cookie = head.lines().find(|l| l.starts_with("set-cookie:")).unwrap_or_else(|| panic!("no cookie: {head}"));
    assert!(
        cookie.contains("__host-tessera_session=") && cookie.contains("; secure") && cookie.contains("; path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("domain"), "{cookie}");

    // Plain HTTP on the HTTPS port gets no answer.
    let plain =
        Command::new("curl").args(["-sS", "--max-time", "5", &format!("{}/healthz", server.base)]).output().unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("ok"));

    // The database file and folder were created for the owner only.
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db_file), 0o600);
    assert_eq!(mode(db_file.parent().unwrap()), 0o700);
    drop(server);
}

#[tokio::test]
async fn every_page_has_a_nonce_policy_and_nothing_personal_is_cached() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/login")).await.unwrap();
    let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce").to_owned();
    assert!(nonce.len() >= 16);
    for part in ["script-src 'self' 'nonce-", "style-src 'self';", "frame-ancestors 'none'", "object-src 'none'"] {
        assert!(policy.contains(part), "{part} in {policy}");
    }
    // Every inline script carries this response's nonce; the next response has another.
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty());
    for script in &scripts {
        let tag = script.split('>').next().unwrap();
        assert!(tag.contains("src=") || tag.contains(&format!("nonce=\"{nonce}\"")), "<script{tag}>");
    }
    assert!(!html.contains(" style=\""), "no inline styles");
    let again = reqwest::get(app.url("/login")).await.unwrap();
    assert_ne!(again.headers()["content-security-policy"].to_str().unwrap(), policy);

    // Everything that hands out a secret says no-store, in every API.
    app.create_account("alice", "all").await;
    let secret = app.simple_token("alice", "admin", &["all"]).await;
    let client = reqwest::Client::new();
    let answers = [
        client
            .post(app.url("/api/v1/tokens"))
            .bearer_auth(&secret)
            .json(&serde_json::json!({"name": "a", "privileges": ["list-accts"]}))
            .send()
            .await
            .unwrap(),
        client
            .post(app.url("/api/v1/tokens/a/rotate"))
            .bearer_auth(&secret)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap(),
        client
            .get(app.url("/execute/Tokens/create_full_access?name=b"))
            .header("authorization", format!("cpanel alice:{secret}"))
            .send()
            .await
            .unwrap(),
        client
            .get(app.url("/json-api/api_token_create?api.version=1&token_name=c"))
            .header("authorization", format!("whm alice:{secret}"))
            .send()
            .await
            .unwrap(),
    ];
    for response in answers {
        assert!(response.status().is_success(), "{}", response.url());
        assert_eq!(response.headers()["cache-control"], "no-store", "{}", response.url());
    }
    let browser = app.client();
    app.login(&browser, "alice", crate::common::PASSWORD).await;
    let created = browser
        .post(app.url("/rpc/create_token"))
        .form(&[
            ("token[name]", "d"),
            ("token[expires]", "never"),
            ("token[allowlist]", ""),
            ("token[privileges][0]", "list-accts"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200, "{}", created.text().await.unwrap());
    assert_eq!(created.headers()["cache-control"], "no-store");
}
