//! The application core seen from outside: every change leaves one audit entry and one
//! event, written with it or not at all; the feed reads events in order; background jobs run
//! once whichever server copy claims them; rules answer with their own codes.

use std::time::Duration;

use crm_domain::access::Role;
use crm_tests::{TestApp, customer_body, json, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn events(app: &TestApp, token: &str, query: &str) -> Value {
    json(
        app.as_user(Method::GET, &format!("/api/v1/events{query}"), token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

fn types(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn api_key(app: &TestApp, admin: &str, scopes: Value) -> String {
    let created = json(
        app.as_user(Method::POST, "/api/v1/api-keys", admin)
            .json(&json!({"name": "feed reader", "scopes": scopes}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    created["key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_event_feed_follows_committed_changes_in_order() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let sales = app.user(Role::Sales).await;
    // Whatever setting up the accounts produced, start reading after it.
    let start = events(&app, &admin.token, "?limit=200").await;
    let mut cursor = start["next_cursor"].as_str().unwrap().to_owned();
    while events(&app, &admin.token, &format!("?after={cursor}&limit=200")).await["has_more"]
        == true
    {
        cursor =
            events(&app, &admin.token, &format!("?after={cursor}&limit=200")).await["next_cursor"]
                .as_str()
                .unwrap()
                .to_owned();
    }

    let created = app
        .create_customer(&sales.token, &customer_body("杭州西湖茶业有限公司"))
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/customers/{id}");
    // A refused change leaves no event.
    problem(
        app.as_user(Method::PATCH, &path, &sales.token)
            .header("If-Match", "\"1\"")
            .json(&json!({"industry_code": "Z99"}))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    json(
        app.as_user(Method::PATCH, &path, &sales.token)
            .header("If-Match", "*")
            .header("X-Request-Id", "feed-test-1")
            .json(&json!({"needs": "明前龙井的出口包装"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let response = app
        .as_user(Method::DELETE, &path, &admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let page = events(&app, &admin.token, &format!("?after={cursor}&limit=2")).await;
    assert_eq!(types(&page), ["customer.created", "customer.updated"]);
    assert_eq!(page["has_more"], true);
    assert_eq!(page["items"][0]["entity_id"], id);
    assert_eq!(page["items"][0]["actor_id"], sales.id.to_string());
    assert_eq!(page["items"][0]["data"]["name"], "杭州西湖茶业有限公司");
    assert_eq!(page["items"][1]["data"]["needs"], "明前龙井的出口包装");
    let next = page["next_cursor"].as_str().unwrap().to_owned();
    let rest = events(&app, &admin.token, &format!("?after={next}")).await;
    assert_eq!(types(&rest), ["customer.archived"]);
    assert_eq!(rest["has_more"], false);
    // At the end the cursor stays put, ready for what comes next.
    let end = rest["next_cursor"].as_str().unwrap().to_owned();
    let empty = events(&app, &admin.token, &format!("?after={end}")).await;
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["next_cursor"], end.as_str());
    // Sequence numbers increase.
    let seqs: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // The audit entry of the edit names the person and the request.
    let history = json(
        app.as_user(Method::GET, &format!("{path}/history"), &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["archived", "updated", "created"]);
    assert_eq!(history["items"][1]["request_id"], "feed-test-1");
    assert_eq!(history["items"][1]["actor_id"], sales.id.to_string());
    assert_eq!(
        history["items"][1]["changes"]["needs"]["to"],
        "明前龙井的出口包装"
    );

    // Who may read the feed: admins and keys with `events:read`.
    problem(
        app.as_user(Method::GET, "/api/v1/events", &sales.token)
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    let reader = api_key(&app, &admin.token, json!(["events:read"])).await;
    let by_key = json(
        app.request(
            Method::GET,
            &format!("/api/v1/events?after={cursor}&limit=10"),
        )
        .header("X-API-Key", &reader)
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        types(&by_key)[..3],
        ["customer.created", "customer.updated", "customer.archived"]
    );
    let writer = api_key(&app, &admin.token, json!(["leads:write"])).await;
    for path in ["/api/v1/events", "/api/v1/customers", "/api/v1/me"] {
        problem(
            app.request(Method::GET, path)
                .header("X-API-Key", &writer)
                .send()
                .await
                .unwrap(),
            403,
            "forbidden",
        )
        .await;
    }
    for bad in [
        "?after=x",
        "?after=-1",
        "?limit=0",
        "?limit=201",
        "?limit=",
        "?since=1",
    ] {
        problem(
            app.as_user(Method::GET, &format!("/api/v1/events{bad}"), &admin.token)
                .send()
                .await
                .unwrap(),
            400,
            "invalid_parameter",
        )
        .await;
    }
    // An empty number is refused wherever it is taken; an empty text is the empty text.
    let empty_limit = problem(
        app.as_user(Method::GET, "/api/v1/customers?limit=&q=x", &admin.token)
            .send()
            .await
            .unwrap(),
        400,
        "invalid_parameter",
    )
    .await;
    assert_eq!(empty_limit["errors"][0]["field"], "limit");
    let response = app
        .as_user(Method::GET, "/api/v1/customers?q=", &admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn hidden_records_answer_404_before_preconditions_and_bodies() {
    let app = TestApp::spawn().await;
    let alice = app.user(Role::Sales).await;
    let bob = app.user(Role::Sales).await;
    let manager = app.user(Role::Manager).await;
    let created = app
        .create_customer(&alice.token, &customer_body("苏州园林设计有限公司"))
        .await;
    let path = format!("/api/v1/customers/{}", created["id"].as_str().unwrap());
    // Bob may not see Alice's customer: whatever he sends, it does not exist.
    for (if_match, body) in [
        (None, "{\"needs\": \"x\"}"),
        (Some("\"1\""), "{\"needs\": \"x\"}"),
        (None, "{\"oops\": "),
        (None, ""),
        (Some("\"99\""), "{\"owner_id\": null}"),
    ] {
        let mut request = app
            .as_user(Method::PATCH, &path, &bob.token)
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        if let Some(v) = if_match {
            request = request.header("If-Match", v);
        }
        problem(request.send().await.unwrap(), 404, "not_found").await;
    }
    // Alice sees it, but may not give it away: 403 before the missing If-Match.
    problem(
        app.as_user(Method::PATCH, &path, &alice.token)
            .json(&json!({"owner_id": bob.id}))
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    // Then the precondition, then the body.
    problem(
        app.as_user(Method::PATCH, &path, &alice.token)
            .header("Content-Type", "application/json")
            .body("{\"oops\": ")
            .send()
            .await
            .unwrap(),
        428,
        "precondition_required",
    )
    .await;
    problem(
        app.as_user(Method::PATCH, &path, &alice.token)
            .header("If-Match", "\"1\"")
            .header("Content-Type", "application/json")
            .body("{\"oops\": ")
            .send()
            .await
            .unwrap(),
        400,
        "malformed_json",
    )
    .await;
    // A manager may never create accounts, whatever the body.
    for body in ["{}", "", "{\"username\": "] {
        problem(
            app.as_user(Method::POST, "/api/v1/users", &manager.token)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap(),
            403,
            "forbidden",
        )
        .await;
    }
}

#[tokio::test]
async fn archived_customers_keep_their_attachments() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let created = app
        .create_customer(&manager.token, &customer_body("宁波港口物流有限公司"))
        .await;
    let id = created["id"].as_str().unwrap();
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    let upload = |bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("合同.pdf"),
        );
        app.as_user(
            Method::POST,
            &format!("/api/v1/customers/{id}/attachments"),
            &manager.token,
        )
        .multipart(form)
        .send()
    };
    let attachment = json(upload(pdf.clone()).await.unwrap(), 201).await;
    let response = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/customers/{id}"),
            &manager.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    problem(
        app.as_user(
            Method::DELETE,
            &format!("/api/v1/attachments/{}", attachment["id"].as_str().unwrap()),
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        409,
        "customer_archived",
    )
    .await;
    problem(upload(pdf).await.unwrap(), 409, "customer_archived").await;
    // The refused upload left no bytes behind: only the first file is stored.
    let stored = walk(app.files_dir.path());
    assert_eq!(stored, 1, "files stored: {stored}");
    json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{id}/attachments"),
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() { walk(&path) } else { 1 }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_job_runs_once_whichever_server_copy_claims_it() {
    let first = TestApp::spawn().await;
    let second = first.spawn_twin().await;
    let manager = first.user(Role::Manager).await;
    let mut ids = Vec::new();
    for n in 0..12 {
        let mut body = customer_body(&format!("无锡太湖精密机械{n}有限公司"));
        body["annual_budget"] = json!("600");
        let created = first.create_customer(&manager.token, &body).await;
        assert_eq!(created["tier"], "ordinary");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let policy = json(
        second
            .as_user(Method::GET, "/api/v1/tier-policy", &manager.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let mut new_policy = policy["policy"].clone();
    new_policy["purchase_full_score_wan"] = json!(500);
    new_policy["key_threshold"] = json!(40);
    // Saved through the second copy; both copies' workers compete for the job.
    let saved = json(
        second
            .as_user(Method::PUT, "/api/v1/tier-policy", &manager.token)
            .json(&new_policy)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(saved["retier_job_id"].is_string());

    let mut done = false;
    for _ in 0..300 {
        let tiers: Vec<Value> = futures_tiers(&first, &manager.token, &ids).await;
        if tiers.iter().all(|t| t == "key") {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(done, "every customer re-tiered");
    // Give a stray second run the time to happen, then count: one entry per customer.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in &ids {
        let history = json(
            second
                .as_user(
                    Method::GET,
                    &format!("/api/v1/customers/{id}/history"),
                    &manager.token,
                )
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        let changed = history["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "tier_changed")
            .count();
        assert_eq!(changed, 1, "{history}");
    }
    let feed = json(
        first
            .as_user(
                Method::GET,
                "/api/v1/events?limit=200",
                &first.user(Role::Admin).await.token,
            )
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let tier_events = types(&feed)
        .iter()
        .filter(|t| *t == "customer.tier_changed")
        .count();
    assert_eq!(tier_events, ids.len());
}

async fn futures_tiers(app: &TestApp, token: &str, ids: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for id in ids {
        let c = json(
            app.as_user(Method::GET, &format!("/api/v1/customers/{id}"), token)
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        out.push(c["tier"].clone());
    }
    out
}
