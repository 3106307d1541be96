//! Notifications (issue 14), against real receivers the tests start on loopback: webhooks checked by the Standard
//! Webhooks reference verifier (`standardwebhooks` from PyPI, in `scripts/webhook_receiver.py`), e-mail through a
//! real SMTP conversation with `aiosmtpd` (PyPI). Time is the test's manual clock: expiry stages and retry
//! backoff are reached by moving it, not by sleeping.

use crate::common::{TestApp, TokenSpec, spawn_app_notifying, spawn_instance_of, test_notifications};
use app::services::{Actor, accounts, notify::NotificationSettings, webhooks};
use serde_json::{Value, json};
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The Python of the test venv (`.ci/setup` makes it).
fn python() -> PathBuf {
    let venv = std::env::var_os("TESSERA_TEST_VENV").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
        cache.join("tessera/venv")
    });
    let python = venv.join("bin/python");
    assert!(python.exists(), "{} is missing: run `.ci/setup test` (make test does)", python.display());
    python
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts").join(name)
}

/// Waits until `check` answers `Some`, up to 15 s.
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "waited 15 s for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Receiver {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Receiver {
    /// Answers a 5xx to the first `fail_first` attempts of each message ([`failure_code`]), then 204.
    async fn start(fail_first: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(python())
            .arg(script("webhook_receiver.py"))
            .args([dir.path().join("port"), dir.path().join("secret"), dir.path().join("log")])
            .arg(fail_first.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("start the webhook receiver");
        let port_file = dir.path().join("port");
        let port = eventually("the receiver to listen", || std::fs::read_to_string(&port_file).ok()).await;
        Self { child, port: port.trim().parse().unwrap(), dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn set_secret(&self, secret: &str) {
        std::fs::write(self.dir.path().join("secret"), secret).unwrap();
    }

    fn entries(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    async fn wait_for(&self, what: &str, count: usize) -> Vec<Value> {
        eventually(what, || Some(self.entries()).filter(|entries| entries.len() >= count)).await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct MailCatcher {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl MailCatcher {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        eventually("aiosmtpd to listen", || std::net::TcpStream::connect(("127.0.0.1", port)).ok()).await;
        Self { child, dir, port }
    }

    fn settings(&self) -> NotificationSettings {
        NotificationSettings {
            smtp_url: Some(format!("smtp://127.0.0.1:{}", self.port)),
            mail_from: Some("Tessera <tessera@example.com>".into()),
            public_url: Some("https://tessera.example.com".into()),
            ..test_notifications()
        }
    }

    /// Every message received, as text.
    fn messages(&self) -> Vec<String> {
        let new = self.dir.path().join("maildir/new");
        let mut messages: Vec<String> = std::fs::read_dir(new)
            .map(|entries| entries.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect())
            .unwrap_or_default();
        messages.sort();
        messages
    }

    async fn wait_for(&self, count: usize) -> Vec<String> {
        eventually(&format!("{count} e-mails"), || Some(self.messages()).filter(|m| m.len() >= count)).await
    }
}

impl Drop for MailCatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The messages decoded by Python's `email` package (headers in RFC 2047 words, bodies in transfer encodings):
/// `[{to, subject, body}]`, sorted by subject.
fn parsed(messages: &[String]) -> Vec<Value> {
    let program = r#"
import email, email.policy, json, sys
out = []
for raw in json.load(sys.stdin):
    m = email.message_from_string(raw, policy=email.policy.default)
    out.append({"to": str(m["to"]), "subject": str(m["subject"]), "body": m.get_content()})
print(json.dumps(sorted(out, key=lambda m: m["subject"])))
"#;
    let mut child = Command::new(python())
        .args(["-c", program])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(serde_json::to_string(messages).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn subjects(messages: &[String]) -> Vec<String> {
    parsed(messages).iter().map(|m| m["subject"].as_str().unwrap().to_owned()).collect()
}

async fn add_webhook(app: &TestApp, receiver: &Receiver, path: &str, events: &[&str]) -> (i64, String) {
    let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    let added = webhooks::add(&app.state, &Actor::operator(), &receiver.url(path), &events).await.unwrap();
    receiver.set_secret(&added.secret);
    (added.webhook.id, added.secret)
}

async fn create_token(app: &TestApp, admin: &str, name: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(admin)
        .json(&json!({"name": name, "expires": "never", "privileges": ["list-accts"]}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn webhooks_are_signed_as_standard_webhooks_retried_after_a_failure_and_logged() {
    let app = spawn_app_notifying(test_notifications(), None).await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let receiver = Receiver::start(1).await;
    let (id, secret) = add_webhook(&app, &receiver, "/hooks", &["token.created", "token.revoked"]).await;
    assert!(secret.starts_with("whsec_"));

    let response = create_token(&app, &admin, "ci").await;
    let issued: Value = response.json().await.unwrap();
    // The first attempt is answered 500; the retry waits its backoff (5 s) on the manual clock.
    let first = receiver.wait_for("the first attempt", 1).await;
    assert_eq!((first[0]["verified"].as_bool(), first[0]["answered"].as_i64()), (Some(true), Some(500)), "{first:?}");
    settled(&app, id, 1, 500).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.entries().len(), 1, "no retry before the backoff is over");
    app.clock.advance(chrono::Duration::seconds(6));
    let entries = receiver.wait_for("the retry", 2).await;
    assert_eq!(entries[1]["answered"], 204);
    assert_eq!(entries[1]["id"], entries[0]["id"], "a retry carries the same webhook-id");
    assert_eq!(entries[1]["type"], "token.created");
    let body: Value = serde_json::from_str(entries[1]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["data"]["token"]["name"], "ci");
    assert_eq!(body["data"]["account"], "alice");
    assert!(!entries[1]["body"].as_str().unwrap().contains("tsr_"), "never a secret in a payload");
    assert!(!entries[1]["body"].as_str().unwrap().contains(issued["secret"].as_str().unwrap()));

    // The admin screen's log: delivered on the second attempt (the receiver logs its answer before the server
    // has recorded it).
    settled(&app, id, 2, 204).await;
    let screen = webhooks::screen(&app.state, &Actor::operator()).await.unwrap();
    let log = &screen.webhooks.iter().find(|w| w.id == id).unwrap().deliveries;
    assert_eq!(
        (log[0].status.as_str(), log[0].attempts, log[0].last_status_code, log[0].event_type.as_str()),
        ("delivered", 2, Some(204), "token.created")
    );

    // A revoke is its own event. With the receiver holding another secret, the reference verifier refuses the
    // signature: the delivery is not counted as delivered.
    receiver.set_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let response =
        reqwest::Client::new().delete(app.url("/api/v1/tokens/ci")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let entries = receiver.wait_for("the revoke event", 3).await;
    assert_eq!((entries[2]["verified"].as_bool(), entries[2]["answered"].as_i64()), (Some(false), Some(400)));
    settled(&app, id, 1, 400).await;
    let screen = webhooks::screen(&app.state, &Actor::operator()).await.unwrap();
    let latest = &screen.webhooks[0].deliveries[0];
    assert_eq!((latest.event_type.as_str(), latest.status.as_str()), ("token.revoked", "pending"));
    assert_eq!(latest.last_error.as_deref(), Some("answered 400 Bad Request"));
    // With the right secret back, the retry is delivered.
    receiver.set_secret(&secret);
    app.clock.advance(chrono::Duration::seconds(6));
    let entries = receiver.wait_for("the revoke's retry", 4).await;
    assert_eq!((entries[3]["verified"].as_bool(), entries[3]["answered"].as_i64()), (Some(true), Some(204)));
    assert_eq!(entries[3]["type"], "token.revoked");

    // "Send test event" reaches this endpoint only, and shows in its log.
    webhooks::send_test(&app.state, &Actor::operator(), id).await.unwrap();
    let entries = receiver.wait_for("the test event", 5).await;
    assert!(entries.iter().any(|e| e["type"] == "webhook.test" && e["verified"] == true), "{entries:?}");
}

#[tokio::test]
async fn retries_back_off_for_about_a_day_then_the_delivery_is_failed() {
    let app = spawn_app_notifying(test_notifications(), None).await;
    app.create_account("alice", "all").await;
    app.create_account("bob", "list-accts").await;
    let receiver = Receiver::start(u32::MAX).await;
    let (id, _) = add_webhook(&app, &receiver, "/down", &["account.suspended"]).await;
    accounts::set_suspended(&app.state, &Actor::operator(), "bob", true).await.unwrap();
    let mut waited = chrono::Duration::zero();
    for (attempt, backoff) in
        std::iter::once(0).chain(app::services::notify::RETRY_AFTER.map(|d| d.as_secs())).enumerate()
    {
        if backoff > 1 {
            // Just before the backoff ends, nothing is sent.
            app.clock.advance(chrono::Duration::seconds(backoff as i64 - 1));
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert_eq!(receiver.entries().len(), attempt, "attempt {} came early", attempt + 1);
            app.clock.advance(chrono::Duration::seconds(1));
        }
        waited += chrono::Duration::seconds(backoff as i64);
        receiver.wait_for(&format!("attempt {}", attempt + 1), attempt + 1).await;
        settled(&app, id, attempt + 1, failure_code(attempt + 1)).await;
    }
    assert_eq!(receiver.entries().len(), 8);
    assert!(waited > chrono::Duration::hours(20) && waited < chrono::Duration::hours(30), "{waited}");
    let screen = eventually_screen(&app, id, "failed").await;
    assert_eq!((screen.attempts, screen.last_status_code), (8, Some(failure_code(8))));
    assert_eq!(screen.next_attempt, None);
    app.clock.advance(chrono::Duration::days(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.entries().len(), 8, "no attempt after the last");
}

/// What the receiver answers to a failing message's attempt `attempt` (from 1): 500, 501, 502, 503, 500, ...
fn failure_code(attempt: usize) -> i32 {
    500 + ((attempt as i32 - 1) % 4)
}

/// Waits until the endpoint's latest delivery has recorded the end of attempt `attempts`, answered `code` (its
/// retry time is taken from the clock then, so the test moves the clock only after). The attempt count alone is
/// not enough: it is counted when the attempt starts, and the answer of the attempt before is still there until
/// it ends.
async fn settled(app: &TestApp, id: i64, attempts: usize, code: i32) {
    let started = Instant::now();
    loop {
        let screen = webhooks::screen(&app.state, &Actor::operator()).await.unwrap();
        let latest = screen.webhooks.iter().find(|w| w.id == id).and_then(|w| w.deliveries.first().cloned());
        if latest.is_some_and(|d| d.attempts as usize == attempts && d.last_status_code == Some(code)) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "waited for attempt {attempts} to be recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until no message in the outbox is waiting or in flight.
async fn all_delivered(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    let started = Instant::now();
    let db = &app.state.db;
    let sql = format!("SELECT count(*) FROM deliveries WHERE status <> '{}'", app::store::webhooks::DELIVERED);
    loop {
        let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql.clone());
        let row = db.query_one_raw(statement).await.unwrap().expect("a count");
        let waiting: i64 = row.try_get_by_index(0).unwrap();
        if waiting == 0 {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{waiting} message(s) never delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn eventually_screen(app: &TestApp, id: i64, status: &str) -> app::model::webhooks::DeliveryView {
    let started = Instant::now();
    loop {
        let screen = webhooks::screen(&app.state, &Actor::operator()).await.unwrap();
        let latest = screen.webhooks.iter().find(|w| w.id == id).and_then(|w| w.deliveries.first().cloned());
        if let Some(latest) = latest.filter(|d| d.status == status) {
            return latest;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "waited for a {status} delivery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn redirects_are_not_followed_and_urls_are_checked() {
    let app = spawn_app_notifying(test_notifications(), None).await;
    app.create_account("alice", "all").await;
    let receiver = Receiver::start(0).await;
    let (id, _) = add_webhook(&app, &receiver, "/redirect", &["account.suspended"]).await;
    webhooks::send_test(&app.state, &Actor::operator(), id).await.unwrap();
    let entries = receiver.wait_for("the redirected attempt", 1).await;
    assert_eq!(entries[0]["answered"], 302);
    let latest = eventually_screen(&app, id, "pending").await;
    assert!(latest.last_error.as_deref().is_some_and(|e| e.contains("redirects are not followed")), "{latest:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.entries().iter().all(|e| e["path"] == "/redirect"), "the Location was not followed");

    // Without --allow-http-webhooks, only https://; never credentials in the URL; known events only.
    let strict =
        spawn_app_notifying(NotificationSettings { allow_http_webhooks: false, ..test_notifications() }, None).await;
    let operator = Actor::operator();
    let events = vec!["token.created".to_owned()];
    for (url, says) in [
        ("http://hooks.example.com/x", "https://"),
        ("ftp://hooks.example.com/x", "https://"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("not a url", "not a URL"),
        ("", "Enter"),
    ] {
        let err = webhooks::add(&strict.state, &operator, url, &events).await.unwrap_err();
        assert!(err.to_string().contains(says), "{url}: {err}");
    }
    let err = webhooks::add(&strict.state, &operator, "https://h.example.com", &["token.stolen".into()]).await;
    assert!(err.unwrap_err().to_string().contains("not an event"));
    let err = webhooks::add(&strict.state, &operator, "https://h.example.com", &[]).await;
    assert!(err.unwrap_err().to_string().contains("at least one"));
    assert!(webhooks::screen(&strict.state, &operator).await.unwrap().webhooks.is_empty(), "nothing was added");
    webhooks::add(&strict.state, &operator, "https://h.example.com/ok", &events).await.unwrap();
}

#[tokio::test]
async fn a_receiver_that_never_answers_does_not_slow_verification() {
    let app = spawn_app_notifying(test_notifications(), None).await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    // Accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", silent.local_addr().unwrap());
    let events: Vec<String> = vec!["token.created".into()];
    webhooks::add(&app.state, &Actor::operator(), &url, &events).await.unwrap();
    for i in 0..5 {
        let started = Instant::now();
        assert_eq!(create_token(&app, &admin, &format!("t{i}")).await.status(), 201);
        assert!(started.elapsed() < Duration::from_secs(2), "creating a token waited for the receiver");
    }
    for _ in 0..50 {
        let started = Instant::now();
        assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {admin}")).await.status(), 200);
        assert!(started.elapsed() < Duration::from_millis(500), "verification waited for the receiver");
    }
    drop(silent);
}

#[tokio::test]
async fn deliveries_queued_while_no_worker_runs_are_sent_by_the_next_instance() {
    // An instance that only queues (as the command line does): the outbox is in the database.
    let quiet = NotificationSettings { every: None, ..test_notifications() };
    let first = spawn_app_notifying(quiet, None).await;
    first.create_account("alice", "all").await;
    let receiver = Receiver::start(0).await;
    add_webhook(&first, &receiver, "/later", &["token.created"]).await;
    first.simple_token("alice", "made-while-down", &["list-accts"]).await;
    let admin = first.simple_token("alice", "admin", &["all"]).await;
    assert_eq!(create_token(&first, &admin, "via-api").await.status(), 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.entries().is_empty());

    let second = spawn_instance_of(&first).await;
    let entries = receiver.wait_for("the queued deliveries", 1).await;
    assert!(entries.iter().all(|e| e["verified"] == true && e["answered"] == 204), "{entries:?}");
    let names: Vec<String> = eventually("both events", || {
        let names: Vec<String> = receiver
            .entries()
            .iter()
            .map(|e| {
                serde_json::from_str::<Value>(e["body"].as_str().unwrap()).unwrap()["data"]["token"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        // Every token.created queued meanwhile is delivered (the admin token's too), in no promised order.
        (names.contains(&"via-api".to_owned()) && names.contains(&"made-while-down".to_owned())).then_some(names)
    })
    .await;
    assert!(names.contains(&"via-api".to_owned()) && names.contains(&"made-while-down".to_owned()), "{names:?}");
    drop(second);
}

#[tokio::test]
async fn expiry_warnings_go_out_once_per_stage_by_mail_and_webhook_even_with_two_instances() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_notifying(mail.settings(), None).await;
    let other = spawn_app_notifying(mail.settings(), Some(app.database_url.clone())).await;
    // Days go by on both clocks once every queued message is out: an attempt still in flight when the clock jumps
    // would look abandoned to the other instance (its lease is five minutes) and go out twice.
    let both = |by: chrono::Duration| {
        let (app, other) = (&app, &other);
        async move {
            all_delivered(app).await;
            app.clock.advance(by);
            other.clock.advance(by);
        }
    };
    app.create_account("alice", "all").await;
    app.create_account("bob", "manage-api-tokens list-accts").await;
    accounts::set_contact_email(&app.state, &Actor::operator(), "alice", "alice@example.com").await.unwrap();
    let receiver = Receiver::start(0).await;
    add_webhook(&app, &receiver, "/expiry", &["token.expiring", "token.expired"]).await;
    // Clock: 2026-11-22. Tokens end at 23:59:59 Berlin time on their date.
    let spec =
        |name| TokenSpec { account: "alice", name, privileges: &["list-accts"], allowlist: "", expires: "2027-01-31" };
    app.token(spec("deploy")).await;
    app.token(spec("gone")).await;
    app.simple_token("alice", "forever", &["list-accts"]).await;
    // Bob has no contact address: webhooks only.
    app.token(TokenSpec {
        account: "bob",
        name: "bobs",
        privileges: &["list-accts"],
        allowlist: "",
        expires: "2027-01-31",
    })
    .await;
    // Made to last 10 days: no 30-day warning, ever.
    app.token(TokenSpec {
        account: "alice",
        name: "short",
        privileges: &["list-accts"],
        allowlist: "",
        expires: "2026-12-02",
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(mail.messages().is_empty(), "nothing is due yet");

    // 2026-11-26 10:00: "short" is 6.5 days from its expiry.
    both(chrono::Duration::days(4)).await;
    let messages = mail.wait_for(1).await;
    let decoded = parsed(&messages);
    assert_eq!(decoded[0]["subject"], "Your Tessera API token “short” expires in 7 days");
    assert_eq!(decoded[0]["to"], "alice@example.com");
    let body = decoded[0]["body"].as_str().unwrap();
    assert!(body.contains("https://tessera.example.com/tokens/manage/short"), "{body}");
    assert!(body.contains("2026-12-02 23:59 CET"), "the expiry in the server's zone: {body}");

    // 2027-01-02 10:00: 29.5 days before the others' expiry ("short" expired a month ago: too long to tell).
    both(chrono::Duration::days(37)).await;
    let messages = mail.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let messages = if mail.messages().len() > messages.len() { mail.messages() } else { messages };
    assert_eq!(
        subjects(&messages),
        [
            "Your Tessera API token “deploy” expires in 30 days",
            "Your Tessera API token “gone” expires in 30 days",
            "Your Tessera API token “short” expires in 7 days",
        ],
        "once each, though two instances scan"
    );
    // A revoked token's warnings stop.
    app::services::tokens::revoke(&app.state, &Actor::operator_for(app.account_row("alice").await), &["gone".into()])
        .await
        .unwrap();

    both(chrono::Duration::days(23)).await; // 2027-01-25 10:00: 6.5 days left
    mail.wait_for(4).await;
    both(chrono::Duration::days(6)).await; // 2027-01-31 10:00: 13 hours left
    mail.wait_for(5).await;
    both(chrono::Duration::days(1)).await; // 2027-02-01: expired
    mail.wait_for(6).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let all = subjects(&mail.messages());
    assert_eq!(
        all,
        [
            "Your Tessera API token “deploy” expires in 1 day",
            "Your Tessera API token “deploy” expires in 30 days",
            "Your Tessera API token “deploy” expires in 7 days",
            "Your Tessera API token “deploy” has expired",
            "Your Tessera API token “gone” expires in 30 days",
            "Your Tessera API token “short” expires in 7 days",
        ]
    );

    // Webhooks: the same warnings, plus bob's (who has no address), each once, all verified.
    receiver.wait_for("the webhook warnings", 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let entries = receiver.entries();
    assert!(entries.iter().all(|e| e["verified"] == true), "{entries:?}");
    let mut seen: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            let body: Value = serde_json::from_str(e["body"].as_str().unwrap()).unwrap();
            let stage = body["data"]["stage"].as_str().unwrap_or("-").to_owned();
            (
                body["type"].as_str().unwrap().to_owned(),
                body["data"]["token"]["name"].as_str().unwrap().to_owned(),
                stage,
            )
        })
        .collect();
    seen.sort();
    let expected: Vec<(String, String, String)> = [
        ("token.expired", "bobs", "-"),
        ("token.expired", "deploy", "-"),
        ("token.expiring", "bobs", "1d"),
        ("token.expiring", "bobs", "30d"),
        ("token.expiring", "bobs", "7d"),
        ("token.expiring", "deploy", "1d"),
        ("token.expiring", "deploy", "30d"),
        ("token.expiring", "deploy", "7d"),
        ("token.expiring", "gone", "30d"),
        ("token.expiring", "short", "7d"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_leaked_token_is_told_to_its_owner_by_mail_and_webhook() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_notifying(mail.settings(), None).await;
    app.create_account("alice", "all").await;
    accounts::set_contact_email(&app.state, &Actor::operator(), "alice", "alice@example.com").await.unwrap();
    let receiver = Receiver::start(0).await;
    add_webhook(&app, &receiver, "/leaks", &["token.leaked"]).await;
    let secret = app.simple_token("alice", "ci", &["list-accts"]).await;
    let url = "https://github.com/example/repo/blob/main/.env";
    let report = json!([{"token": secret, "type": "tessera_api_token", "url": url, "source": "content"}]);
    let response = reqwest::Client::new().post(app.url("/api/v1/leaks")).json(&report).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let messages = mail.wait_for(1).await;
    let decoded = parsed(&messages);
    assert_eq!(decoded[0]["subject"], "Your Tessera API token “ci” was found in public and has been revoked");
    assert!(decoded[0]["body"].as_str().unwrap().contains(url));
    assert!(!messages[0].contains(&secret), "the secret is not in the mail");
    let entries = receiver.wait_for("token.leaked", 1).await;
    assert_eq!((entries[0]["type"].as_str(), entries[0]["verified"].as_bool()), (Some("token.leaked"), Some(true)));
    assert!(entries[0]["body"].as_str().unwrap().contains(url));
    assert!(!entries[0]["body"].as_str().unwrap().contains(&secret));
}

#[tokio::test]
async fn contact_emails_are_checked_set_by_their_owner_or_an_administrator_and_taken_by_createacct() {
    let app = spawn_app_notifying(test_notifications(), None).await;
    app.create_account("root", "all").await;
    app.create_account("alice", "manage-api-tokens").await;
    let alice = Actor::session(app.account_row("alice").await, None);
    for bad in ["alice", "alice@", "@example.com", "a b@example.com", &format!("{}@example.com", "a".repeat(250))] {
        let err = accounts::set_contact_email(&app.state, &alice, "alice", bad).await.unwrap_err();
        assert!(err.for_field("email").is_some(), "{bad}: {err}");
    }
    assert_eq!(accounts::contact_email(&app.state, &alice, "alice").await.unwrap(), None, "nothing was set");
    accounts::set_contact_email(&app.state, &alice, "alice", " alice@example.com ").await.unwrap();
    assert_eq!(
        accounts::contact_email(&app.state, &alice, "alice").await.unwrap().as_deref(),
        Some("alice@example.com")
    );
    // Not someone else's, without edit-accounts.
    assert!(accounts::set_contact_email(&app.state, &alice, "root", "x@example.com").await.is_err());
    accounts::set_contact_email(&app.state, &alice, "alice", "").await.unwrap();
    assert_eq!(accounts::contact_email(&app.state, &alice, "alice").await.unwrap(), None);

    // WHM createacct's contactemail: kept with the account, or the whole creation refused.
    let root = app.simple_token("root", "whm", &["all"]).await;
    let auth = format!("whm root:{root}");
    let (status, body) = app
        .whm(&auth, "createacct?api.version=1&username=shop&password=Tr0ub4dor-and-3&acl=list-accts&contactemail=nope")
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(app.account_row_opt("shop").await.is_none(), "a refused contact leaves no account");
    let (status, body) = app.whm(
        &auth,
        "createacct?api.version=1&username=shop&password=Tr0ub4dor-and-3&acl=list-accts&contactemail=ops%40shop.example",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let root_actor = Actor::operator();
    assert_eq!(
        accounts::contact_email(&app.state, &root_actor, "shop").await.unwrap().as_deref(),
        Some("ops@shop.example")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leak_reported_at_the_command_line_is_mailed_by_the_running_server() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_notifying(mail.settings(), None).await;
    app.create_account("alice", "all").await;
    accounts::set_contact_email(&app.state, &Actor::operator(), "alice", "alice@example.com").await.unwrap();
    let secret = app.simple_token("alice", "pasted", &["list-accts"]).await;
    // The command line queues (it runs no worker and does not know the server's mail settings)...
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["token", "revoke-leaked", &secret, "--url", "https://pastebin.example/abc"])
        .env("DATABASE_URL", &app.database_url)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // ...and the server sends it, once its clock (the test's, which started days before the wall clock the
    // command line used) reaches the time the message was queued.
    app.clock.advance(chrono::Duration::days(30));
    let messages = mail.wait_for(1).await;
    let decoded = parsed(&messages);
    assert_eq!(decoded[0]["subject"], "Your Tessera API token “pasted” was found in public and has been revoked");
    assert!(decoded[0]["body"].as_str().unwrap().contains("https://pastebin.example/abc"));
}

#[tokio::test]
async fn finished_deliveries_leave_the_log_after_30_days_and_pending_ones_stay() {
    let app = spawn_app_notifying(test_notifications(), None).await;
    app.create_account("alice", "all").await;
    let receiver = Receiver::start(0).await;
    let (id, _) = add_webhook(&app, &receiver, "/kept", &["token.created"]).await;
    app.simple_token("alice", "one", &["list-accts"]).await;
    receiver.wait_for("the delivery", 1).await;
    eventually_screen(&app, id, "delivered").await;
    // A receiver that is down from now on: the next delivery stays pending for its retries.
    drop(receiver);
    app.clock.advance(chrono::Duration::days(29));
    app.simple_token("alice", "two", &["list-accts"]).await;
    eventually_screen(&app, id, "pending").await;
    app.clock.advance(chrono::Duration::days(2));
    let started = Instant::now();
    loop {
        let screen = webhooks::screen(&app.state, &Actor::operator()).await.unwrap();
        let log: Vec<String> = screen.webhooks[0].deliveries.iter().map(|d| d.status.clone()).collect();
        if log.len() == 1 {
            assert_ne!(log[0], "delivered", "the pending (or by now failed, but young) one stays");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "not pruned: {log:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
