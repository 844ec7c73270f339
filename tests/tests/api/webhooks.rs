//! Webhooks: subscriptions, signed deliveries to a real HTTP receiver started by the test,
//! retries with backoff, the delivery log, redelivery, automatic disabling, timeouts, the
//! refusal of bad targets, and one delivery per event across two server copies.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use crm_domain::access::Role;
use crm_tests::{TestApp, TestUser, customer_body, json, problem, test_webhook_settings};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

/// What the receiver answers.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Waits this long, then answers 200.
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Hit {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Hit {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    answer: Arc<Mutex<Answer>>,
    handle: ServerHandle,
}

#[derive(Clone)]
struct ReceiverState {
    hits: Arc<Mutex<Vec<Hit>>>,
    answer: Arc<Mutex<Answer>>,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    state.hits.lock().unwrap().push(Hit {
        headers,
        body: body.to_vec(),
    });
    let answer = *state.answer.lock().unwrap();
    match answer {
        Answer::Status(code) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).finish()
        }
        Answer::Hang(wait) => {
            tokio::time::sleep(wait).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl Receiver {
    /// An HTTP server on a loopback port that records every request and answers `answer`.
    fn start(answer: Answer) -> Self {
        let state = ReceiverState {
            hits: Arc::new(Mutex::new(Vec::new())),
            answer: Arc::new(Mutex::new(answer)),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hooks/crm"),
            hits: state.hits,
            answer: state.answer,
            handle,
        }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    /// Waits until the receiver holds `n` requests (or fails after `secs` seconds).
    async fn wait_for(&self, n: usize, secs: u64) -> Vec<Hit> {
        for _ in 0..secs * 20 {
            if self.hits().len() >= n {
                return self.hits();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} deliveries, got {}", self.hits().len());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        tokio::spawn(async move { handle.stop(false).await });
    }
}

/// Checks a delivery's signature as a receiver would, with its own HMAC.
fn signed_with(hit: &Hit, secret: &str) -> bool {
    let header = &hit.headers["crm-signature"];
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1.push(value.to_owned()),
            _ => {}
        }
    }
    let t = t.expect("a timestamp");
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "timestamp {t} is not recent");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&hit.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    v1.contains(&expected)
}

async fn subscribe(app: &TestApp, admin: &TestUser, body: Value) -> Value {
    json(
        app.as_user(Method::POST, "/api/v1/webhooks", &admin.token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await
}

async fn deliveries(app: &TestApp, admin: &TestUser, id: &str) -> Vec<Value> {
    let list = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/webhooks/{id}/deliveries?limit=200"),
            &admin.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    list["items"].as_array().unwrap().clone()
}

async fn webhook(app: &TestApp, admin: &TestUser, id: &str) -> Value {
    json(
        app.as_user(Method::GET, &format!("/api/v1/webhooks/{id}"), &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

/// Waits until `check` holds for the subscription's deliveries.
async fn wait_deliveries(
    app: &TestApp,
    admin: &TestUser,
    id: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..200 {
        let items = deliveries(app, admin, id).await;
        if check(&items) {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "deliveries never matched: {:#?}",
        deliveries(app, admin, id).await
    );
}

#[tokio::test]
async fn committed_changes_are_delivered_signed_once_each() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let rep = app.user(Role::Sales).await;
    // Committed before the subscription: not delivered.
    app.create_customer(&rep.token, &customer_body("订阅前的客户有限公司"))
        .await;
    let receiver = Receiver::start(Answer::Status(204));
    let created = subscribe(
        &app,
        &admin,
        json!({"url": receiver.url, "events": ["customer.created", "customer.archived"], "description": "ERP 同步"}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{created}"
    );
    assert_eq!(created["active"], true);
    assert_eq!(
        created["events"],
        json!(["customer.created", "customer.archived"])
    );
    // The secret is shown once.
    let read = webhook(&app, &admin, &id).await;
    assert!(read.get("secret").is_none(), "{read}");
    let listed = json(
        app.as_user(Method::GET, "/api/v1/webhooks", &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["items"][0].get("secret").is_none());

    let customer = app
        .create_customer(&rep.token, &customer_body("深圳市订阅科技有限公司"))
        .await;
    // A change of a type not subscribed to, and changes that never committed.
    let customer_id = customer["id"].as_str().unwrap();
    json(
        app.as_user(
            Method::PATCH,
            &format!("/api/v1/customers/{customer_id}"),
            &rep.token,
        )
        .header("If-Match", format!("\"{}\"", customer["version"]))
        .json(&json!({"needs": "改了需求"}))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    problem(
        app.as_user(Method::POST, "/api/v1/customers", &rep.token)
            .json(&json!({"name": ""}))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let mut duplicate = customer_body("重复统一信用代码有限公司");
    duplicate["uscc"] = customer["uscc"].clone();
    let dup = app
        .as_user(Method::POST, "/api/v1/customers", &rep.token)
        .json(&duplicate)
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);

    let hits = receiver.wait_for(1, 10).await;
    // Give any stray delivery time to arrive.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let hits = if receiver.hits().len() > hits.len() {
        receiver.hits()
    } else {
        hits
    };
    assert_eq!(hits.len(), 1, "{hits:#?}");
    let hit = &hits[0];
    assert!(signed_with(hit, &secret), "{hit:?}");
    assert!(!signed_with(hit, "whsec_another"));
    assert_eq!(hit.headers["content-type"], "application/json");
    let body = hit.json();
    assert_eq!(body["type"], "customer.created");
    assert_eq!(body["entity_type"], "customer");
    assert_eq!(body["entity_id"], customer["id"]);
    assert_eq!(body["data"]["name"], "深圳市订阅科技有限公司");
    assert_eq!(body["data"]["id"], customer["id"]);
    assert_eq!(body["actor_id"], rep.id.to_string());
    assert_eq!(hit.headers["crm-event-id"], body["id"].as_str().unwrap());
    assert_eq!(hit.headers["crm-event-type"], "customer.created");
    assert!(hit.headers["user-agent"].starts_with("crm-webhooks/"));
    // The same event in the poller's feed.
    let feed = json(
        app.as_user(Method::GET, "/api/v1/events?limit=200", &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(
        feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == body["id"])
    );

    // The delivery log.
    let log = wait_deliveries(&app, &admin, &id, |items| {
        items.len() == 1 && items[0]["status"] == "succeeded"
    })
    .await;
    let delivery = &log[0];
    assert_eq!(delivery["event_id"], body["id"]);
    assert_eq!(delivery["event_type"], "customer.created");
    assert!(delivery["next_attempt_at"].is_null());
    assert!(delivery["completed_at"].is_string());
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status_code"], 204);
    assert!(attempts[0]["error"].is_null());
    assert_eq!(attempts[0]["redelivery"], false);
    assert!(attempts[0]["duration_ms"].as_i64().unwrap() >= 0);

    // Redelivery sends the same event again, marked as such.
    let redelivered = json(
        app.as_user(
            Method::POST,
            &format!(
                "/api/v1/webhooks/{id}/deliveries/{}/redeliver",
                delivery["id"].as_str().unwrap()
            ),
            &admin.token,
        )
        .send()
        .await
        .unwrap(),
        202,
    )
    .await;
    assert_eq!(redelivered["status"], "pending");
    let hits = receiver.wait_for(2, 10).await;
    assert_eq!(hits[1].json()["id"], body["id"]);
    assert!(signed_with(&hits[1], &secret));
    let log = wait_deliveries(&app, &admin, &id, |items| {
        items[0]["attempts"].as_array().unwrap().len() == 2 && items[0]["status"] == "succeeded"
    })
    .await;
    assert_eq!(log[0]["attempts"][1]["redelivery"], true);

    // A rotated secret signs what follows; the old one no longer does.
    let rotated = json(
        app.as_user(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            &admin.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    app.create_customer(&rep.token, &customer_body("轮换密钥后的客户有限公司"))
        .await;
    let hits = receiver.wait_for(3, 10).await;
    assert!(signed_with(&hits[2], &new_secret));
    assert!(!signed_with(&hits[2], &secret));

    // The audit log names who set it up; the secret is not in it.
    let audit: Vec<(String, String)> = <crm_store::audit::Entity as sea_orm::EntityTrait>::find()
        .all(&app.test_db.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.entity_type == "webhook")
        .map(|a| (a.action, a.changes.to_string()))
        .collect();
    assert_eq!(
        audit.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        ["created", "secret_rotated"]
    );
    assert!(
        audit.iter().all(|(_, c)| !c.contains("whsec_")),
        "{audit:?}"
    );
}

#[tokio::test]
async fn failures_are_retried_with_backoff_then_the_subscription_is_turned_off() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let rep = app.user(Role::Sales).await;
    let receiver = Receiver::start(Answer::Status(500));
    let created = subscribe(
        &app,
        &admin,
        json!({"url": receiver.url, "events": ["customer.created"]}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let first = app
        .create_customer(&rep.token, &customer_body("第一家失败客户有限公司"))
        .await;
    // Three attempts (the test server's limit), each after a longer wait, then given up.
    let log = wait_deliveries(&app, &admin, &id, |items| {
        items.len() == 1 && items[0]["status"] == "failed"
    })
    .await;
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{log:#?}");
    for a in attempts {
        assert_eq!(a["status_code"], 500);
        assert_eq!(a["error"], "the receiver answered 500");
    }
    let at = |i: usize| {
        chrono::DateTime::parse_from_rfc3339(attempts[i]["attempted_at"].as_str().unwrap()).unwrap()
    };
    assert!(at(1) - at(0) >= chrono::Duration::milliseconds(100));
    assert!(at(2) - at(1) >= chrono::Duration::milliseconds(200));
    assert_eq!(receiver.hits().len(), 3);
    assert_eq!(webhook(&app, &admin, &id).await["consecutive_failures"], 3);

    // Two more failures in a row (five, the test server's limit) turn it off.
    let second = app
        .create_customer(&rep.token, &customer_body("第二家失败客户有限公司"))
        .await;
    let mut off = Value::Null;
    for _ in 0..200 {
        off = webhook(&app, &admin, &id).await;
        if off["active"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(off["active"], false, "{off}");
    assert_eq!(off["disabled_reason"], "failing");
    assert!(off["disabled_at"].is_string());
    let log = deliveries(&app, &admin, &id).await;
    let pending = log
        .iter()
        .find(|d| d["event_type"] == "customer.created" && d["status"] == "pending")
        .expect("the second event waits");
    assert_eq!(pending["attempts"].as_array().unwrap().len(), 2);

    // While off: nothing is sent, nothing is lost, and redelivery is refused.
    let third = app
        .create_customer(&rep.token, &customer_body("停用期间的客户有限公司"))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.hits().len(), 5);
    problem(
        app.as_user(
            Method::POST,
            &format!(
                "/api/v1/webhooks/{id}/deliveries/{}/redeliver",
                pending["id"].as_str().unwrap()
            ),
            &admin.token,
        )
        .send()
        .await
        .unwrap(),
        409,
        "conflict",
    )
    .await;

    // Fixed and turned on again: the waiting events go out, the given-up one on request.
    receiver.answer(Answer::Status(200));
    let on = json(
        app.as_user(
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            &admin.token,
        )
        .header("If-Match", format!("\"{}\"", off["version"]))
        .json(&json!({"active": true}))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(on["active"], true);
    assert!(on["disabled_reason"].is_null());
    assert_eq!(on["consecutive_failures"], 0);
    let hits = receiver.wait_for(7, 10).await;
    let delivered: Vec<Value> = hits[5..]
        .iter()
        .map(|h| h.json()["entity_id"].clone())
        .collect();
    assert!(
        delivered.contains(&second["id"]) && delivered.contains(&third["id"]),
        "{delivered:?}"
    );
    let failed = deliveries(&app, &admin, &id)
        .await
        .into_iter()
        .find(|d| d["status"] == "failed")
        .unwrap();
    json(
        app.as_user(
            Method::POST,
            &format!(
                "/api/v1/webhooks/{id}/deliveries/{}/redeliver",
                failed["id"].as_str().unwrap()
            ),
            &admin.token,
        )
        .send()
        .await
        .unwrap(),
        202,
    )
    .await;
    let hits = receiver.wait_for(8, 10).await;
    assert_eq!(hits[7].json()["entity_id"], first["id"]);
    wait_deliveries(&app, &admin, &id, |items| {
        items.len() == 3 && items.iter().all(|d| d["status"] == "succeeded")
    })
    .await;
}

#[tokio::test]
async fn a_receiver_that_hangs_is_cut_off_at_the_timeout() {
    let mut settings = test_webhook_settings();
    settings.timeout = Duration::from_secs(1);
    settings.max_attempts = 1;
    let app = TestApp::spawn_with_webhooks(settings).await;
    let admin = app.user(Role::Admin).await;
    let rep = app.user(Role::Sales).await;
    let receiver = Receiver::start(Answer::Hang(Duration::from_secs(10)));
    let created = subscribe(
        &app,
        &admin,
        json!({"url": receiver.url, "events": ["customer.created"]}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    app.create_customer(&rep.token, &customer_body("迟迟不答的客户有限公司"))
        .await;
    let log = wait_deliveries(&app, &admin, &id, |items| {
        items.len() == 1 && items[0]["status"] == "failed"
    })
    .await;
    let attempt = &log[0]["attempts"][0];
    assert!(attempt["status_code"].is_null());
    assert_eq!(attempt["error"], "no answer within 1000 ms");
    let took = attempt["duration_ms"].as_i64().unwrap();
    assert!((900..5000).contains(&took), "{took}");
}

#[tokio::test]
async fn bad_subscriptions_are_refused_with_every_reason() {
    let mut settings = test_webhook_settings();
    settings.allow_private = false;
    let app = TestApp::spawn_with_webhooks(settings).await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    let post = |body: Value| {
        app.as_user(Method::POST, "/api/v1/webhooks", &admin.token)
            .json(&body)
            .send()
    };
    for (url, code) in [
        ("ftp://hooks.example.com/crm", "invalid_url"),
        ("javascript:alert(1)", "invalid_url"),
        ("not a url", "invalid_url"),
        ("https://user:pw@hooks.example.com/", "invalid_url"),
        ("http://127.0.0.1:9000/hooks", "private_target"),
        ("http://10.0.0.7/hooks", "private_target"),
        ("http://169.254.169.254/latest/meta-data", "private_target"),
        ("http://[::1]:8080/", "private_target"),
        ("http://localhost:8080/hooks", "private_target"),
    ] {
        let body = problem(
            post(json!({"url": url, "events": ["lead.created"]}))
                .await
                .unwrap(),
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "url", "{url}: {body}");
        assert_eq!(body["errors"][0]["code"], code, "{url}: {body}");
    }
    let body = problem(
        post(json!({"url": "http://127.0.0.1/", "events": []}))
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["events", "url"], "{body}");
    let unknown =
        post(json!({"url": "https://hooks.example.com/", "events": ["customer.exploded"]}))
            .await
            .unwrap();
    let status = unknown.status().as_u16();
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("events"), "{body}");
    problem(
        app.as_user(Method::POST, "/api/v1/webhooks", &manager.token)
            .json(&json!({"url": "https://hooks.example.com/", "events": ["lead.created"]}))
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    // Nothing was stored.
    let listed = json(
        app.as_user(Method::GET, "/api/v1/webhooks", &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listed["items"], json!([]));
    let missing = uuid::Uuid::now_v7();
    for (method, path) in [
        (Method::GET, format!("/api/v1/webhooks/{missing}")),
        (Method::DELETE, format!("/api/v1/webhooks/{missing}")),
        (
            Method::GET,
            format!("/api/v1/webhooks/{missing}/deliveries"),
        ),
        (
            Method::POST,
            format!("/api/v1/webhooks/{missing}/deliveries/{missing}/redeliver"),
        ),
    ] {
        problem(
            app.as_user(method, &path, &admin.token)
                .send()
                .await
                .unwrap(),
            404,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn a_url_changed_to_a_private_address_is_refused_and_the_subscription_kept() {
    let mut settings = test_webhook_settings();
    settings.allow_private = false;
    let app = TestApp::spawn_with_webhooks(settings).await;
    let admin = app.user(Role::Admin).await;
    let created = subscribe(
        &app,
        &admin,
        json!({"url": "https://93.184.215.14/hooks", "events": ["lead.created"]}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let body = problem(
        app.as_user(Method::PATCH, &format!("/api/v1/webhooks/{id}"), &admin.token)
            .json(&json!({"url": "http://192.168.1.10/hooks", "events": ["lead.created", "lead.assigned"]}))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "private_target");
    let kept = webhook(&app, &admin, id).await;
    assert_eq!(kept["url"], "https://93.184.215.14/hooks");
    assert_eq!(kept["events"], json!(["lead.created"]));
    assert_eq!(kept["version"], created["version"]);
    json(
        app.as_user(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            &admin.token,
        )
        .send()
        .await
        .unwrap(),
        204,
    )
    .await;
}

#[tokio::test]
async fn two_server_copies_deliver_each_event_once() {
    let app = TestApp::spawn().await;
    let twin = app.spawn_twin().await;
    let admin = app.user(Role::Admin).await;
    let rep = app.user(Role::Sales).await;
    let receiver = Receiver::start(Answer::Status(200));
    subscribe(
        &app,
        &admin,
        json!({"url": receiver.url, "events": ["customer.created"]}),
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let target = if i % 2 == 0 { &app } else { &twin };
        let c = target
            .create_customer(
                &rep.token,
                &customer_body(&format!("双实例客户{i}号有限公司")),
            )
            .await;
        ids.push(c["id"].clone());
    }
    receiver.wait_for(12, 20).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let hits = receiver.hits();
    let mut event_ids: Vec<String> = hits
        .iter()
        .map(|h| h.json()["id"].as_str().unwrap().to_owned())
        .collect();
    event_ids.sort();
    event_ids.dedup();
    assert_eq!(hits.len(), 12, "each event once");
    assert_eq!(event_ids.len(), 12);
    let delivered: Vec<Value> = hits.iter().map(|h| h.json()["entity_id"].clone()).collect();
    for id in &ids {
        assert!(delivered.contains(id));
    }
}

#[tokio::test]
async fn a_redelivery_asked_for_during_an_attempt_is_made_after_it() {
    let mut settings = test_webhook_settings();
    settings.timeout = Duration::from_secs(5);
    let app = TestApp::spawn_with_webhooks(settings).await;
    let admin = app.user(Role::Admin).await;
    let rep = app.user(Role::Sales).await;
    let receiver = Receiver::start(Answer::Hang(Duration::from_millis(1500)));
    let created = subscribe(
        &app,
        &admin,
        json!({"url": receiver.url, "events": ["customer.created"]}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    app.create_customer(&rep.token, &customer_body("重发期间的客户有限公司"))
        .await;
    // The first attempt has reached the receiver, which has not answered yet.
    receiver.wait_for(1, 10).await;
    let log = deliveries(&app, &admin, &id).await;
    assert!(
        log[0]["attempts"].as_array().unwrap().is_empty(),
        "{log:#?}"
    );
    json(
        app.as_user(
            Method::POST,
            &format!(
                "/api/v1/webhooks/{id}/deliveries/{}/redeliver",
                log[0]["id"].as_str().unwrap()
            ),
            &admin.token,
        )
        .send()
        .await
        .unwrap(),
        202,
    )
    .await;
    // The attempt in flight ends without deciding anything; the redelivery follows it.
    let hits = receiver.wait_for(2, 15).await;
    assert_eq!(hits[0].json()["id"], hits[1].json()["id"]);
    let log = wait_deliveries(&app, &admin, &id, |items| items[0]["status"] == "succeeded").await;
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{log:#?}");
    assert_eq!(attempts[0]["redelivery"], true);
    assert_eq!(attempts[0]["status_code"], 200);
}

#[tokio::test]
async fn changes_to_a_subscription_are_checked_like_any_patch() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let created = subscribe(
        &app,
        &admin,
        json!({"url": "http://127.0.0.1:9/hooks", "events": ["lead.created"]}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/webhooks/{id}");
    // What cannot be cleared refuses null, every field at once.
    let body = problem(
        app.as_user(Method::PATCH, &path, &admin.token)
            .json(&json!({"url": null, "events": null, "active": null}))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let mut fields: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            ("active", "required"),
            ("events", "required"),
            ("url", "required")
        ]
    );
    // An event type named twice.
    let body = problem(
        app.as_user(Method::PATCH, &path, &admin.token)
            .json(&json!({"events": ["lead.created", "lead.assigned", "lead.created"]}))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "events[2]");
    assert_eq!(body["errors"][0]["code"], "duplicate");
    // A stale version, before a bad body.
    problem(
        app.as_user(Method::PATCH, &path, &admin.token)
            .header("If-Match", "\"99\"")
            .json(&json!({"url": "ftp://nope"}))
            .send()
            .await
            .unwrap(),
        412,
        "precondition_failed",
    )
    .await;
    // The description may be cleared.
    let changed = json(
        app.as_user(Method::PATCH, &path, &admin.token)
            .header("If-Match", format!("\"{}\"", created["version"]))
            .json(&json!({"description": null, "active": false}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(changed["description"].is_null());
    assert_eq!(changed["active"], false);
    assert!(
        changed["disabled_reason"].is_null(),
        "turned off by hand, not by the server"
    );
    assert_eq!(changed["version"], created["version"].as_i64().unwrap() + 1);
}
