//! Connections and bodies (issue 11 item 3), against the real binary where the listener matters: a slowloris
//! client trickling its headers is cut off, idle kept-alive connections close, a request that takes too long
//! gets 408, connections beyond the cap wait, and bodies over 64 KiB get 413 with a clear message; many clients
//! connecting while the server is busy are held by the kernel, not dropped.

use crate::common::{LoggedServer, spawn_app};
use std::{
    io::{ErrorKind, Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

fn server(extra: &[&str]) -> (tempfile::TempDir, LoggedServer) {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::common::fresh_database_blocking(dir.path());
    let server = LoggedServer::start_with(&url, dir.path(), extra);
    (dir, server)
}

fn connect(server: &LoggedServer) -> TcpStream {
    let stream = TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// Whether the server has closed `stream` (a read answers end-of-file or a reset), reading what it sent first.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(err) if err.kind() == ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn a_client_trickling_its_headers_is_cut_off() {
    let (_dir, server) = server(&["--header-read-timeout", "1"]);
    let mut stream = connect(&server);
    let took = trickle_headers(&mut stream);
    assert!(took < Duration::from_secs(5), "cut off only after {took:?}");
}

/// Sends a request's headers a byte every 250 ms (for 4 s at most) and waits for the server to close the
/// connection; how long that took from the first byte (fails if the server did not close it).
fn trickle_headers(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let request =
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut_off = false;
    for byte in request {
        if stream.write_all(&[*byte]).is_err() {
            cut_off = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        if started.elapsed() > Duration::from_secs(4) {
            break;
        }
    }
    assert!(cut_off || closed_by_server(stream), "the connection is still open after {:?}", started.elapsed());
    started.elapsed()
}

#[test]
fn an_idle_kept_alive_connection_is_closed() {
    let (_dir, server) = server(&["--keep-alive-timeout", "1", "--header-read-timeout", "30"]);
    let mut stream = connect(&server);
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    assert!(closed_by_server(&mut stream));
    let idle = started.elapsed();
    assert!(idle >= Duration::from_millis(900) && idle < Duration::from_secs(5), "closed after {idle:?}");
}

#[test]
fn a_kept_alive_connection_waits_for_its_next_request_beyond_the_header_read_timeout() {
    // The header read timeout runs from a request's first byte; the wait before it is the keep-alive timeout's.
    // (hyper's own timeout covered both: idle connections closed after 10 s whatever the keep-alive timeout, and a
    // client reusing one just then lost its request.)
    let (_dir, server) = server(&["--keep-alive-timeout", "30", "--header-read-timeout", "1"]);
    let mut stream = connect(&server);
    let mut buf = [0u8; 1024];
    for _ in 0..2 {
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let n = stream.read(&mut buf).unwrap();
        assert!(
            String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
        std::thread::sleep(Duration::from_millis(2500));
    }
    // After that wait, a request's headers trickled a byte at a time are still cut off, from their first byte.
    let took = trickle_headers(&mut stream);
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "cut off after {took:?}");
    // A new connection that sends nothing is closed after the header read timeout too.
    let mut silent = connect(&server);
    let started = Instant::now();
    assert!(closed_by_server(&mut silent));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "silent one closed after {took:?}");
}

#[test]
fn a_request_that_takes_too_long_gets_408() {
    let (_dir, server) = server(&["--request-timeout", "1"]);
    let mut stream = connect(&server);
    // The headers arrive at once; the promised body never does.
    stream.write_all(b"POST /rpc/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nusername=").unwrap();
    let mut answer = String::new();
    let mut buf = [0u8; 1024];
    let started = Instant::now();
    while !answer.contains("\r\n\r\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed without an answer");
        answer.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn connections_beyond_the_cap_wait_for_one_to_close() {
    let (_dir, server) = server(&["--max-connections", "2", "--header-read-timeout", "30"]);
    let first = connect(&server);
    let second = connect(&server);
    std::thread::sleep(Duration::from_millis(300));
    let mut third = connect(&server);
    third.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut buf = [0u8; 1024];
    let waited = third.read(&mut buf);
    assert!(
        matches!(&waited, Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "answered beyond the cap: {waited:?}"
    );
    drop(first);
    third.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let n = third.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    drop(second);
}

#[tokio::test]
async fn bodies_over_64_kib_get_413_with_a_clear_message_on_every_route() {
    let app = spawn_app().await;
    let big = "x".repeat(65 * 1024);
    let client = reqwest::Client::new();
    for path in ["/rpc/login", "/rpc/create_token", "/tokens", "/no-such-page"] {
        // Declared length, and a chunked body with no length at all.
        let declared = client.post(app.url(path)).body(big.clone()).send().await.unwrap();
        let chunks = futures_stream(big.clone());
        let chunked = client.post(app.url(path)).body(reqwest::Body::wrap_stream(chunks)).send().await.unwrap();
        for response in [declared, chunked] {
            assert_eq!(response.status(), 413, "{path}");
            let error: app::error::AppError = response.json().await.unwrap();
            assert_eq!(error.to_string(), "The request is larger than 64 KiB, the most Tessera accepts.");
        }
    }
    // Under the limit, the request goes through as before.
    let response =
        client.post(app.url("/rpc/login")).form(&[("username", "x"), ("password", "y")]).send().await.unwrap();
    assert_eq!(response.status(), 401);
}

/// `body` as a stream of 1 KiB chunks (sent chunked, without a Content-Length).
fn futures_stream(body: String) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.into_bytes().chunks(1024).map(|c| Ok(c.to_vec())).collect();
    futures_util::stream::iter(chunks)
}

/// Many clients connecting while the server is busy (here: built, listening, not yet accepting) are all held by
/// the kernel until it accepts them, then answered. With the standard library's backlog of 128 the kernel
/// dropped the SYNs beyond it, and each of those clients waited a second for its retry.
#[tokio::test]
async fn clients_connecting_while_the_server_is_busy_are_held_not_dropped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, application) = crate::common::built_app().await;
    let addr = application.local_addr();
    let clients = 400;
    let connecting =
        (0..clients).map(|_| tokio::time::timeout(Duration::from_millis(600), tokio::net::TcpStream::connect(addr)));
    let mut connected: Vec<tokio::net::TcpStream> = futures_util::future::join_all(connecting)
        .await
        .into_iter()
        .filter_map(|attempt| attempt.ok().and_then(Result::ok))
        .collect();
    assert_eq!(connected.len(), clients, "connections completed within 600 ms while the server was not accepting");

    let server = tokio::spawn(application.run_until(std::future::pending()));
    // The first to connect and the last: both are answered once the server accepts.
    let last = connected.len() - 1;
    for i in [0, last] {
        let stream = &mut connected[i];
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer)).await.unwrap().unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    server.abort();
}
