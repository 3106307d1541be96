//! Token secrets sent to the API, in headers, query strings or bodies, never reach a trace-level server log.

use std::process::Command;

#[test]
fn api_secrets_never_reach_the_server_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::common::fresh_database_blocking(dir.path());
    let tessera = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tessera")).args(args).env("DATABASE_URL", &db).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    tessera(&["account", "create", "alice", "--privileges", "all"]);
    let secret =
        tessera(&["token", "create", "--account", "alice", "--name", "ci", "--expires", "never", "--privilege", "all"]);
    assert!(secret.starts_with("tsr_"));

    let server = crate::common::LoggedServer::start(&db, dir.path());
    let base = server.base.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
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
    let log_text = server.stop();
    assert!(log_text.contains("/api/v1/introspect"), "the log is real and verbose: {log_text}");
    assert!(!log_text.contains(&secret[4..]), "a token secret is in the log");
    assert!(!log_text.to_ascii_lowercase().contains("authorization: "), "an Authorization header is in the log");
}
