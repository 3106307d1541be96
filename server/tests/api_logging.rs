//! Token secrets sent to the API, in headers, query strings or bodies, never reach a trace-level server log.

use std::process::{Command, Stdio};

#[test]
fn api_secrets_never_reach_the_server_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("tessera.db").display());
    let tessera = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tessera")).args(args).env("DATABASE_URL", &db).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    tessera(&["account", "create", "alice", "--privileges", "all"]);
    let secret =
        tessera(&["token", "create", "--account", "alice", "--name", "ci", "--expires", "never", "--privilege", "all"]);
    assert!(secret.starts_with("tsr_"));

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.path().join("server.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &db)
        .env("RUST_LOG", "trace")
        .env("TESSERA_ADMIN_PASSWORD", "admin-password-123")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let calls = [
            client.get(format!("{base}/api/v1/auth")).bearer_auth(&secret),
            client
                .post(format!("{base}/execute/Tokens/list"))
                .header("authorization", format!("cpanel alice:{secret}")),
            client
                .get(format!("{base}/json-api/api_token_get_details?api.version=1&token={secret}"))
                .header("authorization", format!("whm alice:{secret}")),
            client.post(format!("{base}/api/v1/introspect")).bearer_auth(&secret).form(&[("token", &secret)]),
            client.get(format!("{base}/api/v1/auth")).header("authorization", format!("cpanel bob:{secret}")),
        ];
        for call in calls {
            let response = call.send().await.unwrap();
            assert!(response.status().as_u16() < 500);
        }
    });
    let _ = server.kill();
    let _ = server.wait();
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("/api/v1/introspect"), "the log is real and verbose: {log_text}");
    assert!(!log_text.contains(&secret[4..]), "a token secret is in the log");
    assert!(!log_text.to_ascii_lowercase().contains("authorization: "), "an Authorization header is in the log");
}
