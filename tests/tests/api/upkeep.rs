//! Relationship upkeep through the front door: communication records and the follow-ups
//! due by each tier's cadence.

use chrono::{Duration, Utc};
use crm_domain::access::Role;
use crm_tests::{TestApp, TestUser, customer_body, json, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    json(
        app.as_user(Method::GET, path, token).send().await.unwrap(),
        200,
    )
    .await
}

async fn record(app: &TestApp, user: &TestUser, customer: &str, body: Value) -> reqwest::Response {
    app.as_user(
        Method::POST,
        &format!("/api/v1/customers/{customer}/activities"),
        &user.token,
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

/// A customer of `owner` pinned to `tier`.
async fn customer(app: &TestApp, owner: &TestUser, manager: &TestUser, tier: &str) -> String {
    let created = app
        .create_customer(&owner.token, &customer_body("苏州工业园精密机械有限公司"))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    json(
        app.as_user(
            Method::PATCH,
            &format!("/api/v1/customers/{id}"),
            &manager.token,
        )
        .header("If-Match", "\"1\"")
        .json(&json!({"tier": tier, "tier_reason": "测试"}))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    id
}

fn ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339()
}

#[tokio::test]
async fn records_of_contact_drive_the_follow_ups_due_by_tier() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let rep = app.user(Role::Sales).await;
    let other = app.user(Role::Sales).await;
    let agent = app.user(Role::Service).await;
    let key = customer(&app, &rep, &manager, "key").await;
    let ordinary = customer(&app, &rep, &manager, "ordinary").await;
    let fresh = customer(&app, &rep, &manager, "key").await;

    // Key: monthly, last contact 45 days ago → 15 days overdue. Ordinary: quarterly, 100
    // days ago → 10 overdue. The third was contacted today.
    let visit = json(
        record(
            &app,
            &rep,
            &key,
            json!({"kind": "visit", "occurred_at": ago(45), "summary": "拜访设备科，演示新一代温控模块",
                   "feedback": "价格偏高", "needs_change": "需要更短的交付周期"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(visit["kind"], "visit");
    assert_eq!(visit["created_by"], rep.id.to_string());
    json(
        record(
            &app,
            &rep,
            &ordinary,
            json!({"kind": "call", "occurred_at": ago(100), "summary": "电话回访"}),
        )
        .await,
        201,
    )
    .await;
    json(
        record(
            &app,
            &rep,
            &fresh,
            json!({"kind": "wechat", "summary": "微信沟通交付计划", "next_follow_up": (Utc::now() + Duration::days(7)).date_naive().to_string()}),
        )
        .await,
        201,
    )
    .await;
    let due = get(&app, &rep.token, "/api/v1/follow-ups/due").await;
    let items = due["items"].as_array().unwrap();
    let listed: Vec<(&str, i64)> = items
        .iter()
        .map(|i| {
            (
                i["customer_id"].as_str().unwrap(),
                i["days_overdue"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, [(key.as_str(), 15), (ordinary.as_str(), 10)]);
    assert_eq!(items[0]["cadence_days"], 30);
    assert_eq!(items[1]["cadence_days"], 90);
    // Another rep has nothing due; a service agent does not do follow-ups.
    let theirs = get(&app, &other.token, "/api/v1/follow-ups/due").await;
    assert_eq!(theirs["items"], json!([]));
    problem(
        app.as_user(Method::GET, "/api/v1/follow-ups/due", &agent.token)
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;

    // A new contact resets the cadence; a quarterly cadence of 120 days clears the other.
    json(
        record(
            &app,
            &rep,
            &key,
            json!({"kind": "call", "summary": "电话确认报价"}),
        )
        .await,
        201,
    )
    .await;
    let mut policy = get(&app, &manager.token, "/api/v1/tier-policy").await["policy"].clone();
    policy["follow_up"]["ordinary_days"] = json!(120);
    json(
        app.as_user(Method::PUT, "/api/v1/tier-policy", &manager.token)
            .json(&policy)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let due = get(&app, &rep.token, "/api/v1/follow-ups/due").await;
    assert_eq!(due["items"], json!([]));

    // Records list per customer, across customers, and by author.
    let list = get(
        &app,
        &rep.token,
        &format!("/api/v1/customers/{key}/activities"),
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let mine = get(&app, &rep.token, "/api/v1/activities?mine=true").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 4);
    let by_rep = get(
        &app,
        &manager.token,
        &format!("/api/v1/activities?created_by={}&kind=visit", rep.id),
    )
    .await;
    assert_eq!(by_rep["items"].as_array().unwrap().len(), 1);
    let id = visit["id"].as_str().unwrap();
    get(&app, &manager.token, &format!("/api/v1/activities/{id}")).await;
    problem(
        app.as_user(
            Method::GET,
            &format!("/api/v1/activities/{id}"),
            &other.token,
        )
        .send()
        .await
        .unwrap(),
        404,
        "not_found",
    )
    .await;
    let none = get(&app, &other.token, "/api/v1/activities").await;
    assert_eq!(none["items"], json!([]));
}

#[tokio::test]
async fn bad_records_are_refused_whole() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let rep = app.user(Role::Sales).await;
    let id = customer(&app, &rep, &manager, "key").await;
    let other = app
        .create_customer(&rep.token, &customer_body("无锡太湖纺织有限公司"))
        .await;
    let refused = problem(
        record(
            &app,
            &rep,
            &id,
            json!({"kind": "fax", "occurred_at": (Utc::now() + Duration::days(2)).to_rfc3339(),
                   "summary": "客户银行卡 6222 0212 3456 7890 128", "contact_id": other["contacts"][0]["id"],
                   "next_follow_up": "2026-1-5"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let mut fields: Vec<&str> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "contact_id",
            "kind",
            "next_follow_up",
            "occurred_at",
            "summary"
        ]
    );
    // A follow-up before the contact itself.
    problem(
        record(
            &app,
            &rep,
            &id,
            json!({"kind": "call", "occurred_at": ago(3), "summary": "电话",
                   "next_follow_up": (Utc::now() - Duration::days(10)).date_naive().to_string()}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let list = get(
        &app,
        &rep.token,
        &format!("/api/v1/customers/{id}/activities"),
    )
    .await;
    assert_eq!(list["items"], json!([]));
    // Nothing was contacted: the customer's follow-up still counts from its creation.
    let due = get(&app, &rep.token, "/api/v1/follow-ups/due").await;
    assert_eq!(due["items"], json!([]));
}
