//! Service work orders through the front door: numbering, grading, assignment, deadlines on
//! the work calendar, the state machine with its follow-up visit, notes, visibility, and the
//! breach sweep escalating each late order once however many server copies run it.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use crm_domain::access::Role;
use crm_tests::{TestApp, customer_body, json, problem};
use reqwest::Method;
use serde_json::{Value, json};

fn order_body(customer: &str, severity: &str) -> Value {
    json!({"customer_id": customer, "title": "温控模块报过热告警",
           "description": "二号产线多台温控模块同时报过热。", "category": "repair",
           "severity": severity, "channel": "phone"})
}

async fn open(app: &TestApp, token: &str, body: &Value) -> Value {
    json(
        app.as_user(Method::POST, "/api/v1/work-orders", token)
            .json(body)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    json(
        app.as_user(Method::GET, path, token).send().await.unwrap(),
        200,
    )
    .await
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> reqwest::Response {
    app.as_user(
        Method::POST,
        &format!("/api/v1/work-orders/{id}/{action}"),
        token,
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_critical_order_of_a_strategic_customer_is_assigned_at_once_with_its_deadlines() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let sales = app.user(Role::Sales).await;
    let busy = app.user(Role::Service).await;
    let free = app.user(Role::Service).await;
    let id = app.pinned_customer(&sales, &manager, "strategic").await;

    // The first goes to one of the two; the second to the other, who has less in hand.
    let first = open(&app, &sales.token, &order_body(&id, "normal")).await;
    let first_agent = first["assignee_id"].as_str().unwrap().to_owned();
    let second = open(&app, &sales.token, &order_body(&id, "critical")).await;
    assert_eq!(second["status"], "assigned");
    let second_agent = second["assignee_id"].as_str().unwrap();
    assert_ne!(second_agent, first_agent);
    let agents: BTreeSet<String> = [busy.id.to_string(), free.id.to_string()].into();
    assert!(agents.contains(second_agent) && agents.contains(&first_agent));

    // Numbered for the office's day, one after the other.
    let day = Utc::now()
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y%m%d")
        .to_string();
    assert_eq!(first["number"], format!("WO-{day}-0001"));
    assert_eq!(second["number"], format!("WO-{day}-0002"));

    // Strategic × critical: 30 minutes to respond and 4 hours to resolve, around the clock.
    assert_eq!(second["tier"], "strategic");
    assert_eq!(second["sla_clock"], "calendar");
    let created = at(&second["created_at"]);
    assert_eq!(
        at(&second["response_due_at"]) - created,
        Duration::minutes(30)
    );
    assert_eq!(
        at(&second["resolution_due_at"]) - created,
        Duration::hours(4)
    );
    let left = second["response_minutes_left"].as_i64().unwrap();
    assert!((29..=30).contains(&left), "{left}");
    assert_eq!(second["breached"], false);

    // The timeline shows it opened and assigned.
    let order_id = second["id"].as_str().unwrap();
    let timeline = get(
        &app,
        &manager.token,
        &format!("/api/v1/work-orders/{order_id}/notes"),
    )
    .await;
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "assigned", "status"]);
    assert_eq!(timeline["items"][1]["user_id"], second_agent);
}

#[tokio::test]
async fn business_hour_deadlines_skip_the_days_off_of_the_work_calendar() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    app.user(Role::Service).await;
    // Every day is worked around the clock, except today (office time), a holiday.
    let office = FixedOffset::east_opt(8 * 3600).unwrap();
    let today = Utc::now().with_timezone(&office).date_naive();
    let calendar = json!({
        "utc_offset": "+08:00",
        "working_hours": [{"start": "00:00", "end": "24:00"}],
        "working_weekdays": [1, 2, 3, 4, 5, 6, 7],
        "holidays": [{"date": today.to_string(), "name": "测试假日"}],
        "makeup_workdays": []
    });
    let saved = json(
        app.as_user(Method::PUT, "/api/v1/work-calendar", &admin.token)
            .json(&calendar)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["calendar"]["holidays"][0]["name"], "测试假日");

    // Key × high: 2 business hours to respond, 16 to resolve — counted from tomorrow 00:00.
    let id = app.pinned_customer(&manager, &manager, "key").await;
    let order = open(&app, &manager.token, &order_body(&id, "high")).await;
    assert_eq!(order["sla_clock"], "business");
    let midnight = (today + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(office)
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(at(&order["response_due_at"]), midnight + Duration::hours(2));
    assert_eq!(
        at(&order["resolution_due_at"]),
        midnight + Duration::hours(16)
    );
    // Time left counts only working time: the rest of today does not count.
    assert_eq!(order["response_minutes_left"], 120);

    // Re-grading to critical sets the deadlines again, on calendar time.
    let path = format!("/api/v1/work-orders/{}", order["id"].as_str().unwrap());
    let regraded = json(
        app.as_user(Method::PATCH, &path, &manager.token)
            .header("If-Match", "\"1\"")
            .header("Content-Type", "application/merge-patch+json")
            .body(r#"{"severity": "critical"}"#)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(regraded["sla_clock"], "calendar");
    assert_eq!(
        at(&regraded["response_due_at"]) - at(&regraded["created_at"]),
        Duration::hours(1)
    );
    let history = get(&app, &manager.token, &format!("{path}/history")).await;
    assert_eq!(history["items"][0]["action"], "updated");
    assert_eq!(history["items"][0]["changes"]["severity"]["to"], "critical");
}

#[tokio::test]
async fn an_order_is_worked_through_its_states_and_closed_only_after_the_visit() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let sales = app.user(Role::Sales).await;
    let agent = app.user(Role::Service).await;
    let id = app.pinned_customer(&sales, &manager, "key").await;
    let order = open(&app, &sales.token, &order_body(&id, "high")).await;
    let oid = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["assignee_id"], agent.id.to_string());

    // Closing before it is resolved names the moves allowed.
    let body = problem(
        act(
            &app,
            &agent.token,
            &oid,
            "close",
            json!({"satisfaction": 5, "comment": "好"}),
        )
        .await,
        409,
        "illegal_transition",
    )
    .await;
    assert_eq!(body["allowed"], json!(["assign", "start", "cancel"]));
    // The rep may read and note, not work the ticket.
    problem(
        act(&app, &sales.token, &oid, "start", json!({})).await,
        403,
        "forbidden",
    )
    .await;

    let started = json(
        act(
            &app,
            &agent.token,
            &oid,
            "start",
            json!({"note": "已电话联系客户设备科"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(started["status"], "in_progress");
    assert!(started["responded_at"].is_string());
    assert_eq!(started["response_minutes_left"], Value::Null);

    json(
        app.as_user(
            Method::POST,
            &format!("/api/v1/work-orders/{oid}/notes"),
            &sales.token,
        )
        .json(&json!({"body": "客户再次来电催促"}))
        .send()
        .await
        .unwrap(),
        201,
    )
    .await;
    let resolved = json(
        act(
            &app,
            &agent.token,
            &oid,
            "resolve",
            json!({"resolution": "更换固件"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(resolved["status"], "resolved");
    // The problem came back.
    let reopened = json(
        act(
            &app,
            &agent.token,
            &oid,
            "reopen",
            json!({"reason": "问题复现"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(reopened["status"], "in_progress");
    assert_eq!(reopened["resolved_at"], Value::Null);
    json(
        act(
            &app,
            &agent.token,
            &oid,
            "resolve",
            json!({"resolution": "更换主板"}),
        )
        .await,
        200,
    )
    .await;

    // No visit, no closing: a missing or out-of-range score and an empty comment are 422.
    for bad in [
        json!({}),
        json!({"satisfaction": 5}),
        json!({"satisfaction": 6, "comment": "满意"}),
        json!({"satisfaction": 0, "comment": "满意"}),
        json!({"satisfaction": 4, "comment": "  "}),
    ] {
        problem(
            act(&app, &agent.token, &oid, "close", bad.clone()).await,
            422,
            "validation_failed",
        )
        .await;
    }
    let still = get(&app, &agent.token, &format!("/api/v1/work-orders/{oid}")).await;
    assert_eq!(still["status"], "resolved");
    assert_eq!(still["visit"], Value::Null);

    let closed = json(
        act(
            &app,
            &agent.token,
            &oid,
            "close",
            json!({"satisfaction": 5, "comment": "客户对处理结果满意"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["visit"]["satisfaction"], 5);
    assert_eq!(closed["visit"]["comment"], "客户对处理结果满意");
    assert_eq!(closed["visit"]["visited_by"], agent.id.to_string());
    assert_eq!(closed["resolution_minutes_left"], Value::Null);
    // Closed is final.
    let body = problem(
        act(&app, &manager.token, &oid, "reopen", json!({"reason": "x"})).await,
        409,
        "illegal_transition",
    )
    .await;
    assert!(
        body["allowed"].as_array().is_none_or(|a| a.is_empty()),
        "{body}"
    );

    let timeline = get(
        &app,
        &sales.token,
        &format!("/api/v1/work-orders/{oid}/notes"),
    )
    .await;
    let steps: Vec<String> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| match e["kind"].as_str().unwrap() {
            "status" => format!("→{}", e["to_status"].as_str().unwrap()),
            other => other.to_owned(),
        })
        .collect();
    assert_eq!(
        steps,
        [
            "created",
            "assigned",
            "→assigned",
            "→in_progress",
            "note",
            "→resolved",
            "→in_progress",
            "→resolved",
            "visit",
            "→closed"
        ]
    );
    assert_eq!(timeline["items"][3]["body"], "已电话联系客户设备科");
    assert_eq!(timeline["items"][6]["body"], "问题复现");
    let history = get(
        &app,
        &manager.token,
        &format!("/api/v1/work-orders/{oid}/history"),
    )
    .await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "closed",
            "resolved",
            "reopened",
            "resolved",
            "note_added",
            "started",
            "created"
        ]
    );

    // Cancelling needs a reason and is only for orders not yet resolved.
    let other = open(&app, &manager.token, &order_body(&id, "low")).await;
    let other_id = other["id"].as_str().unwrap();
    problem(
        act(
            &app,
            &agent.token,
            other_id,
            "cancel",
            json!({"reason": ""}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let cancelled = json(
        act(
            &app,
            &agent.token,
            other_id,
            "cancel",
            json!({"reason": "客户重复报修"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "客户重复报修");
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    app.user(Role::Service).await;
    let id = app.pinned_customer(&manager, &manager, "ordinary").await;
    let other = app
        .create_customer(&manager.token, &customer_body("杭州西湖茶业有限公司"))
        .await;
    let foreign_contact = other["contacts"][0]["id"].as_str().unwrap();

    let mut body = order_body(&id, "urgent");
    body["category"] = json!("question");
    body["contact_id"] = json!(foreign_contact);
    body["description"] = json!("客户身份证 11010519491231002X 请核对");
    let refused = problem(
        app.as_user(Method::POST, "/api/v1/work-orders", &manager.token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let fields: BTreeSet<&str> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["category", "contact_id", "description", "severity"].into()
    );
    assert!(!refused.to_string().contains("11010519491231002X"));
    // An unknown customer is a field error too; a wrong type is named by its path.
    let mut body = order_body(&uuid::Uuid::now_v7().to_string(), "low");
    problem(
        app.as_user(Method::POST, "/api/v1/work-orders", &manager.token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    body["customer_id"] = json!(id);
    body["severity"] = json!(3);
    let refused = problem(
        app.as_user(Method::POST, "/api/v1/work-orders", &manager.token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "severity");

    // An archived customer takes no new orders.
    let archived = app
        .create_customer(&manager.token, &customer_body("广州白云五金有限公司"))
        .await;
    let archived_id = archived["id"].as_str().unwrap();
    let response = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/customers/{archived_id}"),
            &manager.token,
        )
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    problem(
        app.as_user(Method::POST, "/api/v1/work-orders", &manager.token)
            .json(&order_body(archived_id, "low"))
            .send()
            .await
            .unwrap(),
        409,
        "customer_archived",
    )
    .await;
    let list = get(&app, &manager.token, "/api/v1/work-orders").await;
    assert_eq!(list["items"], json!([]));

    // Filters of the wrong shape are 400.
    for query in ["severity=urgent", "breached=maybe", "due_before=tomorrow"] {
        problem(
            app.as_user(
                Method::GET,
                &format!("/api/v1/work-orders?{query}"),
                &manager.token,
            )
            .send()
            .await
            .unwrap(),
            400,
            "invalid_parameter",
        )
        .await;
    }

    // Calendars with overlapping or malformed days are refused, every problem listed.
    let calendar = json!({
        "utc_offset": "+08:00",
        "working_hours": [{"start": "09:00", "end": "12:30"}, {"start": "12:00", "end": "18:00"}],
        "working_weekdays": [1, 2, 3, 4, 5],
        "holidays": [{"date": "2026-10-01", "name": "国庆节"}, {"date": "2026-10-1", "name": "国庆节"}],
        "makeup_workdays": [{"date": "2026-10-01", "name": "调休"}]
    });
    let refused = problem(
        app.as_user(Method::PUT, "/api/v1/work-calendar", &admin.token)
            .json(&calendar)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let fields: BTreeSet<&str> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "working_hours[1]",
            "holidays[1].date",
            "makeup_workdays[0].date"
        ]
        .into()
    );
    let kept = get(&app, &admin.token, "/api/v1/work-calendar").await;
    assert_eq!(kept["version"], 0);
    assert_eq!(kept["calendar"]["holidays"], json!([]));

    // A policy with a zero target, or a resolution shorter than the response, is refused.
    let mut policy = get(&app, &manager.token, "/api/v1/sla-policy").await["policy"].clone();
    policy["targets"]["key"]["high"]["response_minutes"] = json!(0);
    policy["targets"]["ordinary"]["low"]["resolution_minutes"] = json!(10);
    let refused = problem(
        app.as_user(Method::PUT, "/api/v1/sla-policy", &manager.token)
            .json(&policy)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(refused["errors"].as_array().unwrap().len(), 2);
    policy["targets"]["key"]
        .as_object_mut()
        .unwrap()
        .remove("low");
    problem(
        app.as_user(Method::PUT, "/api/v1/sla-policy", &manager.token)
            .json(&policy)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        get(&app, &manager.token, "/api/v1/sla-policy").await["version"],
        0
    );
}

#[tokio::test]
async fn concurrent_moves_of_one_order_let_exactly_one_win() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let agent = app.user(Role::Service).await;
    let id = app.pinned_customer(&manager, &manager, "key").await;
    let order = open(&app, &manager.token, &order_body(&id, "normal")).await;
    let oid = order["id"].as_str().unwrap();
    let tries = (0..6).map(|i| {
        let token = if i % 2 == 0 {
            &agent.token
        } else {
            &manager.token
        };
        app.as_user(
            Method::POST,
            &format!("/api/v1/work-orders/{oid}/start"),
            token,
        )
        .header("If-Match", "\"1\"")
        .json(&json!({}))
        .send()
    });
    let statuses: Vec<u16> = futures_util::future::join_all(tries)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 409, 412].contains(s)),
        "{statuses:?}"
    );
    let now = get(&app, &manager.token, &format!("/api/v1/work-orders/{oid}")).await;
    assert_eq!(now["version"], 2);
}

#[tokio::test]
async fn numbers_stay_unique_when_two_copies_open_orders_at_once() {
    let app = TestApp::spawn().await;
    let twin = app.spawn_twin().await;
    let manager = app.user(Role::Manager).await;
    app.user(Role::Service).await;
    let id = app.pinned_customer(&manager, &manager, "ordinary").await;
    let body = order_body(&id, "low");
    let creations = (0..16).map(|i| {
        let server = if i % 2 == 0 { &app } else { &twin };
        server
            .as_user(Method::POST, "/api/v1/work-orders", &manager.token)
            .json(&body)
            .send()
    });
    let mut numbers = BTreeSet::new();
    for response in futures_util::future::join_all(creations).await {
        let order = json(response.unwrap(), 201).await;
        numbers.insert(order["number"].as_str().unwrap().to_owned());
    }
    assert_eq!(numbers.len(), 16);
    let suffixes: BTreeSet<u32> = numbers
        .iter()
        .map(|n| n.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(suffixes, (1..=16).collect());
}

async fn all_events(app: &TestApp, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut query = "?limit=200".to_owned();
    loop {
        let page = get(app, token, &format!("/api/v1/events{query}")).await;
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        if page["has_more"] != true {
            return out;
        }
        query = format!("?limit=200&after={}", page["next_cursor"].as_str().unwrap());
    }
}

#[tokio::test]
async fn a_late_order_is_escalated_once_whatever_the_number_of_copies() {
    let app = TestApp::spawn().await;
    let twin = app.spawn_twin().await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    app.user(Role::Service).await;
    let id = app.pinned_customer(&manager, &manager, "strategic").await;
    let late = open(&app, &manager.token, &order_body(&id, "critical")).await;
    let on_time = open(&app, &manager.token, &order_body(&id, "low")).await;
    let lid = late["id"].as_str().unwrap().to_owned();
    app.make_late(&lid).await;

    // Both copies' workers sweep every second; sweeps run by hand on both copies at once
    // race them too.
    let (a, b) = tokio::join!(
        crm_app::work_orders::sweep(&app.ctx),
        crm_app::work_orders::sweep(&twin.ctx)
    );
    assert!(a.unwrap() + b.unwrap() <= 1);
    let path = format!("/api/v1/work-orders/{lid}");
    let mut order = get(&app, &manager.token, &path).await;
    for _ in 0..100 {
        if order["escalated_to"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        order = get(&app, &manager.token, &path).await;
    }
    assert_eq!(order["breached"], true);
    assert!(order["response_breached_at"].is_string());
    assert!(order["resolution_breached_at"].is_string());
    assert!(order["response_minutes_left"].as_i64().unwrap() < 0);
    assert_eq!(order["escalated_to"], manager.id.to_string());
    // Let both workers sweep a few more times.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    let history = get(&app, &manager.token, &format!("{path}/history")).await;
    let count = |action: &str| {
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .count()
    };
    assert_eq!((count("breached"), count("escalated")), (1, 1));
    let timeline = get(&app, &manager.token, &format!("{path}/notes")).await;
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "escalated").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "breached").count(), 2);
    let events = all_events(&app, &admin.token).await;
    let escalations = events
        .iter()
        .filter(|e| e["type"] == "work_order.escalated" && e["entity_id"] == lid.as_str())
        .count();
    assert_eq!(escalations, 1);

    // The escalation list holds the late order only.
    let list = get(
        &app,
        &manager.token,
        &format!(
            "/api/v1/work-orders?breached=true&escalated_to={}",
            manager.id
        ),
    )
    .await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [lid.as_str()]);
    let fine = get(&app, &manager.token, "/api/v1/work-orders?breached=false").await;
    assert_eq!(fine["items"][0]["id"], on_time["id"]);

    // Starting work now is late but allowed; the order stays marked.
    let started = json(
        act(&app, &manager.token, &lid, "start", json!({})).await,
        200,
    )
    .await;
    assert_eq!(started["breached"], true);
}

#[tokio::test]
async fn agents_see_their_orders_and_the_customers_behind_them() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let owner = app.user(Role::Sales).await;
    let stranger = app.user(Role::Sales).await;
    let agent = app.user(Role::Service).await;
    let id = app.pinned_customer(&owner, &manager, "key").await;
    let customer_path = format!("/api/v1/customers/{id}");
    // Before any order, the agent cannot see the customer.
    problem(
        app.as_user(Method::GET, &customer_path, &agent.token)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    let order = open(&app, &owner.token, &order_body(&id, "normal")).await;
    let oid = order["id"].as_str().unwrap().to_owned();
    let order_path = format!("/api/v1/work-orders/{oid}");
    get(&app, &agent.token, &customer_path).await;
    get(&app, &agent.token, &order_path).await;
    get(&app, &owner.token, &order_path).await;
    let mine = get(&app, &agent.token, "/api/v1/work-orders").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    // Another agent and another rep see neither.
    let other_agent = app.user(Role::Service).await;
    for token in [&other_agent.token, &stranger.token] {
        problem(
            app.as_user(Method::GET, &order_path, token)
                .send()
                .await
                .unwrap(),
            404,
            "not_found",
        )
        .await;
        let list = get(&app, token, "/api/v1/work-orders").await;
        assert_eq!(list["items"], json!([]));
    }
    problem(
        app.as_user(Method::GET, &customer_path, &other_agent.token)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;

    // The manager gives it to the other agent: it moves with its customer.
    json(
        act(
            &app,
            &manager.token,
            &oid,
            "assign",
            json!({"assignee_id": other_agent.id}),
        )
        .await,
        200,
    )
    .await;
    get(&app, &other_agent.token, &order_path).await;
    problem(
        app.as_user(Method::GET, &order_path, &agent.token)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    // Only active agents take orders.
    problem(
        act(
            &app,
            &manager.token,
            &oid,
            "assign",
            json!({"assignee_id": owner.id}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;

    // Orders move with a merge.
    let survivor = app
        .create_customer(&owner.token, &customer_body("深圳华瑞智能装备集团有限公司"))
        .await;
    let survivor_id = survivor["id"].as_str().unwrap();
    json(
        app.as_user(
            Method::POST,
            &format!("/api/v1/customers/{survivor_id}/merge"),
            &manager.token,
        )
        .json(&json!({"source_id": id}))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let moved = get(&app, &manager.token, &order_path).await;
    assert_eq!(moved["customer_id"], survivor_id);
}

#[tokio::test]
async fn assignment_prefers_the_region_and_skips_deactivated_agents() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    let near = app.user(Role::Service).await;
    let far = app.user(Role::Service).await;
    let set_region = |user: uuid::Uuid, region: &'static str| {
        app.as_user(
            Method::PATCH,
            &format!("/api/v1/users/{user}"),
            &admin.token,
        )
        .json(&json!({"region": region}))
        .send()
    };
    assert_eq!(set_region(near.id, "44").await.unwrap().status(), 200);
    assert_eq!(set_region(far.id, "11").await.unwrap().status(), 200);
    // Customers made by the tests are registered in Guangdong (44).
    let id = app.pinned_customer(&manager, &manager, "ordinary").await;
    let mut policy = get(&app, &manager.token, "/api/v1/sla-policy").await["policy"].clone();
    policy["assignment"] = json!("region");
    json(
        app.as_user(Method::PUT, "/api/v1/sla-policy", &manager.token)
            .header("If-Match", "\"0\"")
            .json(&policy)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    for _ in 0..3 {
        let order = open(&app, &manager.token, &order_body(&id, "low")).await;
        assert_eq!(order["assignee_id"], near.id.to_string());
    }

    // Deactivated agents get nothing new; with none active, orders wait as `new`.
    for agent in [&near, &far] {
        let response = app
            .as_user(
                Method::PATCH,
                &format!("/api/v1/users/{}", agent.id),
                &admin.token,
            )
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let waiting = open(&app, &manager.token, &order_body(&id, "low")).await;
    assert_eq!(waiting["status"], "new");
    assert_eq!(waiting["assignee_id"], Value::Null);
    let queue = get(&app, &manager.token, "/api/v1/work-orders?unassigned=true").await;
    assert_eq!(queue["items"][0]["id"], waiting["id"]);
}
