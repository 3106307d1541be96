//! Forward-auth through a real nginx: `auth_request` to `/api/v1/auth` in front of a tiny upstream. A valid token
//! reaches the upstream with `X-Tessera-User` set; a revoked one gets 401, a token from the wrong address 403.
//! nginx runs as a child of this test, on loopback, with every path in a temporary directory.
//!
//! Also three instances on one PostgreSQL behind nginx (round robin), one of them killed under load (issue 12).

use crate::common::{LoggedServer, TokenSpec, postgres, spawn_app_with_proxies, state_on};
use std::{path::Path, process::Stdio, time::Duration};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NGINX: &str = "/usr/sbin/nginx";

/// An upstream that answers every request with the `X-Tessera-User` header it received.
async fn spawn_upstream() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let user = text
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("x-tessera-user").then(|| value.trim().to_owned())
                    })
                    .unwrap_or_default();
                let body = format!("upstream saw user={user}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The start of every test's nginx.conf: one worker in the foreground, every path in `dir`, then `http {` open.
fn prologue(dir: &Path, connections: u32) -> String {
    let d = dir.display();
    format!(
        r#"worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections {connections}; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
"#
    )
}

fn nginx_conf(dir: &Path, listen: u16, tessera: u16, upstream: u16) -> String {
    let prologue = prologue(dir, 64);
    format!(
        r#"{prologue}    server {{
        listen 127.0.0.1:{listen};
        location = /_tessera_auth {{
            internal;
            proxy_pass http://127.0.0.1:{tessera}/api/v1/auth?privilege=list-accts;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
        location / {{
            auth_request /_tessera_auth;
            auth_request_set $tessera_user $upstream_http_x_tessera_user;
            auth_request_set $tessera_status $upstream_status;
            auth_request_set $tessera_retry_after $upstream_http_retry_after;
            auth_request_set $tessera_ratelimit $upstream_http_ratelimit;
            auth_request_set $tessera_ratelimit_policy $upstream_http_ratelimit_policy;
            error_page 500 = @tessera_refused;
            proxy_set_header X-Tessera-User $tessera_user;
            proxy_pass http://127.0.0.1:{upstream};
        }}
        location @tessera_refused {{
            default_type text/plain;
            if ($tessera_status = 429) {{
                add_header Retry-After $tessera_retry_after always;
                add_header RateLimit $tessera_ratelimit always;
                add_header RateLimit-Policy $tessera_ratelimit_policy always;
                return 429 "Too many requests for this token.\n";
            }}
            return 500;
        }}
    }}
}}
"#
    )
}

/// Stops nginx (by its PID) when the test ends, however it ends. SIGTERM, not SIGKILL: the master then stops its
/// worker too, where SIGKILL would leave the worker running as an orphan.
struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = std::process::Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Nginx {
    /// nginx with `conf` (its paths in `dir`), once it answers on `listen`.
    async fn start(dir: &Path, conf: &str, listen: u16) -> Self {
        assert!(Path::new(NGINX).exists(), "nginx is needed for this test: apt-get install -y nginx (make setup-test)");
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let child = std::process::Command::new(NGINX)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let nginx = Self(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", listen)).await.is_ok() {
                return nginx;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nginx did not start: {}", std::fs::read_to_string(dir.join("error.log")).unwrap_or_default());
    }
}

#[tokio::test]
async fn nginx_auth_request_lets_valid_tokens_through_and_refuses_the_rest() {
    assert!(Path::new(NGINX).exists(), "nginx is needed for this test: apt-get install -y nginx (make setup-test)");
    let app = spawn_app_with_proxies(vec![app::domain::IpRange::parse("127.0.0.1").unwrap()]).await;
    app.create_account("alice", "all").await;
    let valid = app.simple_token("alice", "web", &["list-accts"]).await;
    let revoked = app.simple_token("alice", "old", &["list-accts"]).await;
    let elsewhere = app
        .token(TokenSpec {
            account: "alice",
            name: "office",
            privileges: &["list-accts"],
            allowlist: "192.0.2.0/24",
            expires: "never",
        })
        .await;
    let caller = app::services::Actor::operator_for(app.account_row("alice").await);
    app::services::tokens::revoke(&app.state, &caller, &["old".to_owned()]).await.unwrap();
    let limited = app.simple_token("alice", "limited", &["list-accts"]).await;
    app.sql("UPDATE tokens SET rate_limit = '1/hour' WHERE name = 'limited'").await;

    let dir = tempfile::tempdir().unwrap();
    let upstream = spawn_upstream().await;
    let listen = free_port();
    let tessera_port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    let _nginx = Nginx::start(dir.path(), &nginx_conf(dir.path(), listen, tessera_port, upstream), listen).await;

    let url = format!("http://127.0.0.1:{listen}/protected");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if client.get(&url).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = || std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
    assert!(ready, "nginx did not start: {}", log());

    let response = client.get(&url).bearer_auth(&valid).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", log());
    assert_eq!(response.text().await.unwrap(), "upstream saw user=alice");

    let response = client.get(&url).header("authorization", format!("cpanel alice:{valid}")).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let response = client.get(&url).bearer_auth(&revoked).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);

    // The token is for 192.0.2.0/24; the client is 127.0.0.1, whatever it claims to nginx.
    let response =
        client.get(&url).bearer_auth(&elsewhere).header("x-forwarded-for", "192.0.2.9").send().await.unwrap();
    assert_eq!(response.status(), 403);

    // Over its rate limit (one call an hour): the client gets Tessera's 429 and its headers through nginx (the
    // README's configuration), not the 500 nginx makes of any other status, and the service is not reached.
    let response = client.get(&url).bearer_auth(&limited).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", log());
    let response = client.get(&url).bearer_auth(&limited).send().await.unwrap();
    assert_eq!(response.status(), 429, "{}", log());
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let retry_after: u64 = header("retry-after").parse().unwrap_or(0);
    assert!((3_500..=3_600).contains(&retry_after), "Retry-After: {}", header("retry-after"));
    assert_eq!(header("ratelimit-policy"), "\"token\";q=1;w=3600");
    assert!(header("ratelimit").starts_with("\"token\";r=0;t="), "RateLimit: {}", header("ratelimit"));
    let body = response.text().await.unwrap();
    assert_eq!(body, "Too many requests for this token.\n", "the service is not reached");
}

/// nginx balancing over `instances` (round robin), retrying idempotent requests on the next one when one fails.
fn balancer_conf(dir: &Path, listen: u16, instances: &[u16]) -> String {
    let prologue = prologue(dir, 256);
    let servers: String = instances
        .iter()
        .map(|port| format!("        server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;\n"))
        .collect();
    format!(
        r#"{prologue}    upstream tessera {{
{servers}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://tessera;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
        }}
    }}
}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_nginx_lose_nothing_when_one_is_killed_under_load() {
    use app::services::{Actor, tokens};
    let url = postgres::shared_database().await;
    let core = state_on(&url).await;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut servers: Vec<LoggedServer> =
        dirs.iter().map(|dir| LoggedServer::spawn(&url, dir.path(), &["--trusted-proxy", "127.0.0.1"])).collect();
    for server in &servers {
        server.wait_until_listening();
    }
    crate::common::create_account_on(&core, "alice", "manage-api-tokens list-accts").await;
    let alice = Actor::operator_for(app::store::accounts::find_by_name(&core.db, "alice").await.unwrap().unwrap());
    let issue = |name: &'static str, privileges: &[&str]| {
        let new = app::model::tokens::NewToken {
            name: name.into(),
            expires: "never".into(),
            allowlist: String::new(),
            privileges: privileges.iter().map(|p| (*p).to_owned()).collect(),
            rate_limit: String::new(),
        };
        let spec = new.parse(tokens::today(&core)).unwrap();
        let (core, alice) = (&core, &alice);
        async move { tokens::create(core, alice, spec).await.unwrap().secret }
    };
    let reader = issue("reader", &["list-accts"]).await;
    let writer = issue("writer", &["manage-api-tokens", "list-accts"]).await;

    let dir = tempfile::tempdir().unwrap();
    let listen = free_port();
    let ports: Vec<u16> = servers.iter().map(|s| s.base.rsplit(':').next().unwrap().parse().unwrap()).collect();
    let _nginx = Nginx::start(dir.path(), &balancer_conf(dir.path(), listen, &ports), listen).await;
    let base = format!("http://127.0.0.1:{listen}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    let load_for = Duration::from_secs(3);
    let started = std::time::Instant::now();
    // Idempotent calls: forward-auth and listing, four at a time.
    let readers: Vec<_> = (0..4)
        .map(|i| {
            let (client, base, reader, writer) = (client.clone(), base.clone(), reader.clone(), writer.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0u32, Vec::new());
                while started.elapsed() < load_for {
                    let response = if i % 2 == 0 {
                        client.get(format!("{base}/api/v1/auth?privilege=list-accts")).bearer_auth(&reader).send().await
                    } else {
                        client.get(format!("{base}/api/v1/tokens")).bearer_auth(&writer).send().await
                    };
                    match response {
                        Ok(r) if r.status() == 200 => ok += 1,
                        Ok(r) => failed.push(r.status().to_string()),
                        Err(e) => failed.push(e.to_string()),
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    // Writes (token creation, a POST nginx does not retry once sent): every one acknowledged must be there after.
    let writes = {
        let (client, base, writer) = (client.clone(), base.clone(), writer.clone());
        tokio::spawn(async move {
            let (mut acknowledged, mut failed) = (Vec::new(), 0u32);
            let mut n = 0;
            while started.elapsed() < load_for {
                n += 1;
                let name = format!("w{n}");
                let body = serde_json::json!({"name": name, "expires": "never", "privileges": ["list-accts"]});
                match client.post(format!("{base}/api/v1/tokens")).bearer_auth(&writer).json(&body).send().await {
                    Ok(r) if r.status() == 201 => acknowledged.push(name),
                    _ => failed += 1,
                }
            }
            (acknowledged, failed)
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    servers[1].kill();

    let mut served = 0;
    for reader in readers {
        let (ok, failed) = reader.await.unwrap();
        assert!(failed.is_empty(), "idempotent calls failed while an instance died: {failed:?}");
        served += ok;
    }
    let (acknowledged, unacknowledged) = writes.await.unwrap();
    assert!(served > 100 && acknowledged.len() > 20, "too little load: {served} reads, {} writes", acknowledged.len());
    for name in &acknowledged {
        assert!(
            app::store::tokens::find_by_name(&core.db, alice.account().unwrap().id, name).await.unwrap().is_some(),
            "the acknowledged token {name} is gone"
        );
    }
    eprintln!(
        "behind nginx, one of three killed: {served} idempotent calls all served, {} writes acknowledged and all \
         kept, {unacknowledged} refused or cut off in the kill",
        acknowledged.len()
    );
    // The survivors carry on.
    let response = client.get(format!("{base}/api/v1/auth")).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
