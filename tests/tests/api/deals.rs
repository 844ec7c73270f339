//! Deals: conversion from a lead, the 30/60/90 stages, win and loss, reopening, what a won
//! deal does to its customer, the weighted forecast.

use crm_domain::access::Role;
use crm_tests::{TestApp, TestUser, customer_body, json, problem, random_uscc};
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

async fn new_lead(app: &TestApp, user: &TestUser, body: Value) -> Value {
    json(
        app.as_user(Method::POST, "/api/v1/leads", &user.token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await
}

async fn new_deal(
    app: &TestApp,
    user: &TestUser,
    customer: &str,
    amount: &str,
    probability: i64,
) -> Value {
    json(
        app.as_user(Method::POST, "/api/v1/opportunities", &user.token)
            .json(
                &json!({"customer_id": customer, "name": "年度框架采购", "amount": amount,
                "expected_close_date": in_days(20), "probability": probability}),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await
}

async fn post(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    version: Option<i64>,
    body: Value,
) -> reqwest::Response {
    let mut request = app.as_user(Method::POST, path, &user.token).json(&body);
    if let Some(v) = version {
        request = request.header("If-Match", format!("\"{v}\""));
    }
    request.send().await.unwrap()
}

async fn get(app: &TestApp, user: &TestUser, path: &str) -> Value {
    json(
        app.as_user(Method::GET, path, &user.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

async fn forecast(app: &TestApp, user: &TestUser, query: &str) -> Value {
    get(app, user, &format!("/api/v1/reports/forecast{query}")).await
}

#[tokio::test]
async fn a_rep_takes_a_lead_to_a_won_deal_and_the_customer_and_forecast_follow() {
    let app = TestApp::spawn().await;
    let rep = app.user(Role::Sales).await;
    let manager = app.user(Role::Manager).await;
    let before = forecast(&app, &manager, "").await;
    assert_eq!(before["totals"]["won_amount"], "0.00");

    let lead = new_lead(
        &app,
        &rep,
        json!({"source": "fair", "company_name": "东莞松山湖智能装备有限公司", "contact_name": "陈静",
               "mobile": "13912345678", "industry_code": "C35", "needs": "产线改造"}),
    )
    .await;
    let id = lead["id"].as_str().unwrap();
    // What the lead lacks for a customer is named after the lead's fields or the conversion's.
    let response = post(&app, &rep, &format!("/api/v1/leads/{id}/convert"), None,
        json!({"opportunity": {"amount": "3000000.00", "expected_close_date": in_days(30), "probability": 30}})).await;
    let body = problem(response, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"uscc") && fields.contains(&"customer.contact_title"),
        "{fields:?}"
    );
    // The lead has no USCC: it is missing, not malformed.
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["code"] == "required"),
        "{body}"
    );
    let uscc = random_uscc();
    let conversion = json(
        post(&app, &rep, &format!("/api/v1/leads/{id}/convert"), None,
            json!({"customer": {"uscc": uscc, "contact_title": "采购经理"},
                   "opportunity": {"name": "产线改造一期", "amount": "3000000.00", "expected_close_date": in_days(30), "probability": 30}}))
        .await,
        200,
    )
    .await;
    let customer = &conversion["customer"];
    let deal = &conversion["opportunity"];
    assert_eq!(conversion["lead"]["status"], "converted");
    assert_eq!(conversion["lead"]["customer_id"], customer["id"]);
    assert_eq!(conversion["lead"]["opportunity_id"], deal["id"]);
    assert_eq!(customer["customer_type"], "potential");
    assert_eq!(customer["tier"], "ordinary");
    assert_eq!(customer["owner_id"], rep.id.to_string());
    assert_eq!(customer["contacts"][0]["mobile"], "13912345678");
    assert_eq!(customer["source"], "fair");
    assert_eq!(deal["probability"], 30);
    assert_eq!(deal["weighted_amount"], "900000.00");
    assert_eq!(deal["lead_id"], lead["id"]);
    // A second conversion is refused.
    let response = post(&app, &rep, &format!("/api/v1/leads/{id}/convert"), None,
        json!({"customer_id": customer["id"], "opportunity": {"amount": "1.00", "expected_close_date": in_days(30), "probability": 30}})).await;
    problem(response, 409, "illegal_transition").await;

    // The rep raises the influence so that only the purchase volume is missing for a tier.
    let customer_path = format!("/api/v1/customers/{}", customer["id"].as_str().unwrap());
    let patched = json(
        app.as_user(Method::PATCH, &customer_path, &rep.token)
            .header("If-Match", format!("\"{}\"", customer["version"]))
            .json(&json!({"influence": 5}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(patched["tier"], "ordinary");

    // 30 → 60 → 90, each with If-Match.
    let deal_path = format!("/api/v1/opportunities/{}", deal["id"].as_str().unwrap());
    let mut version = deal["version"].as_i64().unwrap();
    for p in [60, 90] {
        let response = app
            .as_user(Method::PATCH, &deal_path, &rep.token)
            .header("If-Match", format!("\"{version}\""))
            .json(&json!({"probability": p}))
            .send()
            .await
            .unwrap();
        let moved = json(response, 200).await;
        assert_eq!(moved["probability"], p);
        version = moved["version"].as_i64().unwrap();
    }
    let mid = forecast(&app, &rep, "").await;
    assert_eq!(mid["totals"]["open_amount"], "3000000.00");
    assert_eq!(mid["totals"]["weighted_amount"], "2700000.00");

    // Won at the final amount: probability 100, closed today.
    let won = json(
        post(
            &app,
            &rep,
            &format!("{deal_path}/win"),
            Some(version),
            json!({"amount": "10000000.00"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(won["status"], "won");
    assert_eq!(won["probability"], 100);
    assert_eq!(won["amount"], "10000000.00");
    assert_eq!(won["weighted_amount"], "0.00");
    assert_eq!(
        won["closed_on"],
        chrono::Utc::now().date_naive().to_string()
    );
    let stages = get(&app, &rep, &format!("{deal_path}/stages")).await;
    let moves: Vec<(Value, Value)> = stages["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["from_probability"].clone(), s["to_probability"].clone()))
        .collect();
    assert_eq!(
        moves,
        vec![
            (Value::Null, json!(30)),
            (json!(30), json!(60)),
            (json!(60), json!(90)),
            (json!(90), json!(100))
        ]
    );
    assert!(
        stages["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["actor_id"] == rep.id.to_string() && s["at"].is_string())
    );

    // The customer follows at once: a paying customer, and strategic by its purchases.
    let after = get(&app, &rep, &customer_path).await;
    assert_eq!(after["customer_type"], "customer");
    assert_eq!(after["tier"], "strategic");
    let history = get(&app, &rep, &format!("{customer_path}/history")).await;
    assert!(
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["changes"]["tier"]["to"] == "strategic"),
        "{history}"
    );
    // And the forecast moves.
    let now = forecast(&app, &manager, "").await;
    assert_eq!(now["totals"]["won_amount"], "10000000.00");
    assert_eq!(now["totals"]["won_count"], 1);
    assert_eq!(now["totals"]["open_count"], 0);
    // The deal's history names every stage, newest first.
    let deal_history = get(&app, &rep, &format!("{deal_path}/history")).await;
    let actions: Vec<&str> = deal_history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["won", "stage_changed", "stage_changed", "created"]
    );
}

#[tokio::test]
async fn deals_refuse_bad_values_and_illegal_moves() {
    let app = TestApp::spawn().await;
    let rep = app.user(Role::Sales).await;
    let manager = app.user(Role::Manager).await;
    let other = app.user(Role::Sales).await;
    let customer = app
        .create_customer(&rep.token, &customer_body("规则测试有限公司"))
        .await;
    let cid = customer["id"].as_str().unwrap();

    let bad = |probability: Value, amount: &str| json!({"customer_id": cid, "name": "测试商机", "amount": amount, "expected_close_date": in_days(10), "probability": probability});
    for (body, field, needle) in [
        (bad(json!(50), "1000.00"), "probability", "30, 60 or 90"),
        (bad(json!(100), "1000.00"), "probability", "30, 60 or 90"),
        (bad(json!(30), "-1.00"), "amount", "negative"),
        (bad(json!(30), "1.001"), "amount", "two decimal"),
        (
            bad(json!(30), "99999999999999999999999999999"),
            "amount",
            "",
        ),
        (bad(json!(30), "一百万"), "amount", ""),
    ] {
        let response = app
            .as_user(Method::POST, "/api/v1/opportunities", &rep.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = problem(response, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{problem}"
        );
    }
    // Another rep's customer does not exist for this rep.
    let theirs = app
        .create_customer(&other.token, &customer_body("别人的客户有限公司"))
        .await;
    let response = app
        .as_user(Method::POST, "/api/v1/opportunities", &rep.token)
        .json(&json!({"customer_id": theirs["id"], "name": "x商机", "amount": "1.00", "expected_close_date": in_days(10), "probability": 30}))
        .send()
        .await
        .unwrap();
    problem(response, 422, "validation_failed").await;

    let deal = new_deal(&app, &rep, cid, "500000.00", 30).await;
    let path = format!("/api/v1/opportunities/{}", deal["id"].as_str().unwrap());
    // Another rep: the deal does not exist for them, whatever they send.
    for body in [json!({}), json!({"amount": "1.00"})] {
        problem(
            post(&app, &other, &format!("{path}/win"), None, body).await,
            404,
            "not_found",
        )
        .await;
    }
    let response = app
        .as_user(Method::PATCH, &path, &other.token)
        .json(&json!({"probability": 60}))
        .send()
        .await
        .unwrap();
    problem(response, 404, "not_found").await;
    // A rep may not hand the deal to someone else.
    let response = app
        .as_user(Method::PATCH, &path, &rep.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"owner_id": other.id}))
        .send()
        .await
        .unwrap();
    problem(response, 403, "forbidden").await;
    let response = app
        .as_user(Method::PATCH, &path, &rep.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"probability": 50}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "probability");
    // Win without an amount, lose without a reason.
    let body = problem(
        post(&app, &rep, &format!("{path}/win"), None, json!({})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "amount");
    let body = problem(
        post(
            &app,
            &rep,
            &format!("{path}/lose"),
            None,
            json!({"reason": "  "}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "reason");
    // A stale If-Match comes before the body.
    problem(
        post(&app, &rep, &format!("{path}/win"), Some(7), json!({})).await,
        412,
        "precondition_failed",
    )
    .await;

    let lost = json(
        post(
            &app,
            &rep,
            &format!("{path}/lose"),
            Some(1),
            json!({"reason": "客户选择了价格更低的供应商"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(lost["status"], "lost");
    assert_eq!(lost["probability"], 0);
    assert_eq!(lost["lost_reason"], "客户选择了价格更低的供应商");
    // Closed: no win, no edit; only a manager reopens.
    let body = problem(
        post(
            &app,
            &rep,
            &format!("{path}/win"),
            None,
            json!({"amount": "1.00"}),
        )
        .await,
        409,
        "illegal_transition",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("reopen"),
        "{body}"
    );
    let response = app
        .as_user(Method::PATCH, &path, &rep.token)
        .header("If-Match", "\"2\"")
        .json(&json!({"probability": 60}))
        .send()
        .await
        .unwrap();
    problem(response, 409, "illegal_transition").await;
    problem(
        post(&app, &rep, &format!("{path}/reopen"), None, json!({})).await,
        403,
        "forbidden",
    )
    .await;
    let body = problem(
        post(
            &app,
            &manager,
            &format!("{path}/reopen"),
            None,
            json!({"probability": 45}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "probability");
    let reopened = json(
        post(
            &app,
            &manager,
            &format!("{path}/reopen"),
            None,
            json!({"probability": 60}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(reopened["status"], "open");
    assert_eq!(reopened["probability"], 60);
    assert_eq!(reopened["lost_reason"], Value::Null);
    let body = problem(
        post(&app, &manager, &format!("{path}/reopen"), None, json!({})).await,
        409,
        "illegal_transition",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("win"), "{body}");

    // Archived customers take no new deals, and their deals wait until they are restored.
    let waiting = new_deal(&app, &rep, cid, "100.00", 30).await;
    let response = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/customers/{cid}"),
            &manager.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let waiting_path = format!("/api/v1/opportunities/{}", waiting["id"].as_str().unwrap());
    problem(
        post(
            &app,
            &manager,
            &format!("{waiting_path}/win"),
            None,
            json!({"amount": "100.00"}),
        )
        .await,
        409,
        "customer_archived",
    )
    .await;
    let response = app
        .as_user(Method::PATCH, &waiting_path, &manager.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"probability": 60}))
        .send()
        .await
        .unwrap();
    problem(response, 409, "customer_archived").await;
    let response = app
        .as_user(Method::POST, "/api/v1/opportunities", &manager.token)
        .json(&bad(json!(30), "1.00"))
        .send()
        .await
        .unwrap();
    problem(response, 409, "customer_archived").await;
}

#[tokio::test]
async fn deals_are_listed_by_what_reps_own_and_move_with_a_merge() {
    let app = TestApp::spawn().await;
    let rep = app.user(Role::Sales).await;
    let other = app.user(Role::Sales).await;
    let manager = app.user(Role::Manager).await;
    let a = app
        .create_customer(&rep.token, &customer_body("合并甲有限公司"))
        .await;
    let b = app
        .create_customer(&rep.token, &customer_body("合并乙有限公司"))
        .await;
    let (aid, bid) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let d1 = new_deal(&app, &rep, aid, "100.00", 30).await;
    let d2 = new_deal(&app, &rep, bid, "200.00", 60).await;
    let d3 = new_deal(&app, &rep, bid, "300.00", 90).await;
    let c = app
        .create_customer(&other.token, &customer_body("别人丙有限公司"))
        .await;
    new_deal(&app, &other, c["id"].as_str().unwrap(), "400.00", 30).await;

    let list = |user: &TestUser, q: &str| {
        let path = format!("/api/v1/opportunities{q}");
        let app = &app;
        let token = user.token.clone();
        async move {
            json(
                app.as_user(Method::GET, &path, &token)
                    .send()
                    .await
                    .unwrap(),
                200,
            )
            .await["items"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    assert_eq!(list(&rep, "").await.len(), 3);
    assert_eq!(list(&manager, "").await.len(), 4);
    assert_eq!(list(&rep, "?probability=60").await.len(), 1);
    assert_eq!(list(&rep, &format!("?customer_id={bid}")).await.len(), 2);
    assert_eq!(
        list(&manager, &format!("?owner_id={}", other.id))
            .await
            .len(),
        1
    );
    assert_eq!(
        list(
            &rep,
            &format!("?close_from={}&close_to={}", in_days(19), in_days(21))
        )
        .await
        .len(),
        3
    );
    assert_eq!(
        list(&rep, &format!("?close_from={}", in_days(21)))
            .await
            .len(),
        0
    );
    assert_eq!(list(&rep, "?status=won").await.len(), 0);
    assert_eq!(list(&rep, "?status=open").await.len(), 3);
    let page = json(
        app.as_user(Method::GET, "/api/v1/opportunities?limit=2", &rep.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let rest = json(
        app.as_user(
            Method::GET,
            &format!(
                "/api/v1/opportunities?limit=2&cursor={}",
                page["next_cursor"].as_str().unwrap()
            ),
            &rep.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);

    // A won deal on B makes B a paying customer; a lost customer winning again is won back.
    json(
        post(
            &app,
            &rep,
            &format!("/api/v1/opportunities/{}/win", d2["id"].as_str().unwrap()),
            None,
            json!({"amount": "200.00"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        get(&app, &rep, &format!("/api/v1/customers/{bid}")).await["customer_type"],
        "customer"
    );
    let mut gone = customer_body("流失客户有限公司");
    gone["customer_type"] = json!("lost");
    let gone = app.create_customer(&rep.token, &gone).await;
    let back = new_deal(&app, &rep, gone["id"].as_str().unwrap(), "50.00", 90).await;
    json(
        post(
            &app,
            &rep,
            &format!("/api/v1/opportunities/{}/win", back["id"].as_str().unwrap()),
            None,
            json!({"amount": "50.00"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        get(
            &app,
            &rep,
            &format!("/api/v1/customers/{}", gone["id"].as_str().unwrap())
        )
        .await["customer_type"],
        "customer"
    );

    // Merging B into A moves B's deals onto A, and A follows them.
    let response = app
        .as_user(
            Method::POST,
            &format!("/api/v1/customers/{aid}/merge"),
            &manager.token,
        )
        .json(&json!({"source_id": bid}))
        .send()
        .await
        .unwrap();
    json(response, 200).await;
    let moved = list(&rep, &format!("?customer_id={aid}")).await;
    let ids: Vec<&Value> = moved.iter().map(|d| &d["id"]).collect();
    for d in [&d1, &d2, &d3] {
        assert!(ids.contains(&&d["id"]), "{ids:?}");
    }
    assert!(list(&rep, &format!("?customer_id={bid}")).await.is_empty());
    assert_eq!(
        get(&app, &rep, &format!("/api/v1/customers/{aid}")).await["customer_type"],
        "customer"
    );
}

#[tokio::test]
async fn the_forecast_is_exact_grouped_and_shows_a_rep_only_their_own() {
    let app = TestApp::spawn().await;
    let rep = app.user(Role::Sales).await;
    let other = app.user(Role::Sales).await;
    let manager = app.user(Role::Manager).await;
    let a = app
        .create_customer(&rep.token, &customer_body("预测甲有限公司"))
        .await;
    let b = app
        .create_customer(&other.token, &customer_body("预测乙有限公司"))
        .await;
    let (aid, bid) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    // 0.01 at 30 % and 33.33 at 90 %: weighted 0.003 + 29.997 = 30.00 exactly when summed.
    new_deal(&app, &rep, aid, "0.01", 30).await;
    new_deal(&app, &rep, aid, "33.33", 90).await;
    new_deal(&app, &rep, aid, "1250000.50", 60).await;
    let lost = new_deal(&app, &rep, aid, "99.99", 30).await;
    post(
        &app,
        &rep,
        &format!(
            "/api/v1/opportunities/{}/lose",
            lost["id"].as_str().unwrap()
        ),
        None,
        json!({"reason": "价格"}),
    )
    .await;
    let theirs = new_deal(&app, &other, bid, "10000000000.00", 90).await;
    assert_eq!(theirs["weighted_amount"], "9000000000.00");
    // Outside the range.
    let far = json(
        app.as_user(Method::POST, "/api/v1/opportunities", &rep.token)
            .json(&json!({"customer_id": aid, "name": "远期商机", "amount": "5.00", "expected_close_date": "2099-01-01", "probability": 30}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(far["probability"], 30);

    let mine = forecast(&app, &rep, "").await;
    assert_eq!(mine["group_by"], "owner");
    assert_eq!(mine["groups"].as_array().unwrap().len(), 1);
    assert_eq!(mine["groups"][0]["key"], rep.id.to_string());
    let t = &mine["totals"];
    assert_eq!(t["open_count"], 3);
    assert_eq!(t["open_amount"], "1250033.84");
    assert_eq!(t["weighted_amount"], "750030.30");
    assert_eq!(t["lost_count"], 1);
    assert_eq!(t["lost_amount"], "99.99");
    assert_eq!(t["won_count"], 0);

    let all = forecast(&app, &manager, "").await;
    assert_eq!(all["groups"].as_array().unwrap().len(), 2);
    assert_eq!(all["totals"]["open_amount"], "10001250033.84");
    assert_eq!(all["totals"]["weighted_amount"], "9000750030.30");

    let today = chrono::Utc::now().date_naive();
    let month = format!("?group_by=month&from={}&to=2099-12-31", today);
    let response = app
        .as_user(
            Method::GET,
            &format!("/api/v1/reports/forecast{month}"),
            &manager.token,
        )
        .send()
        .await
        .unwrap();
    problem(response, 400, "invalid_parameter").await;
    let by_month = forecast(
        &app,
        &manager,
        &format!(
            "?group_by=month&from={today}&to={}",
            today + chrono::Duration::days(60)
        ),
    )
    .await;
    let keys: Vec<&str> = by_month["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.iter().all(|k| k.len() == 7 && k.starts_with("20")),
        "{keys:?}"
    );
    assert_eq!(by_month["totals"]["open_count"], 4);
    let far_only = forecast(&app, &rep, "?from=2099-01-01&to=2099-01-31&group_by=month").await;
    assert_eq!(far_only["groups"][0]["key"], "2099-01");
    assert_eq!(far_only["totals"]["open_amount"], "5.00");
    assert_eq!(far_only["totals"]["weighted_amount"], "1.50");
    for bad in [
        "?from=2026-13-01",
        "?group_by=year",
        "?from=2027-01-01&to=2026-01-01",
    ] {
        let response = app
            .as_user(
                Method::GET,
                &format!("/api/v1/reports/forecast{bad}"),
                &rep.token,
            )
            .send()
            .await
            .unwrap();
        problem(response, 400, "invalid_parameter").await;
    }
}

/// Fen of a yuan amount written `"123.45"`.
fn fen(amount: &Value) -> i64 {
    let text = amount.as_str().unwrap();
    let (yuan, cents) = text.split_once('.').unwrap_or((text, "0"));
    yuan.parse::<i64>().unwrap() * 100 + format!("{cents:0<2}").parse::<i64>().unwrap()
}

/// The forecast figures, in fen, that the deals themselves give: per owner, over
/// `from..=to`.
fn expected_by_owner(
    deals: &[Value],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> std::collections::BTreeMap<String, [i64; 7]> {
    let mut out = std::collections::BTreeMap::<String, [i64; 7]>::new();
    let within = |day: &Value| {
        day.as_str()
            .map(|d| d.parse::<chrono::NaiveDate>().unwrap())
            .is_some_and(|d| d >= from && d <= to)
    };
    for d in deals {
        let (status, amount) = (d["status"].as_str().unwrap(), fen(&d["amount"]));
        let counted = match status {
            "open" => within(&d["expected_close_date"]),
            _ => within(&d["closed_on"]),
        };
        if !counted {
            continue;
        }
        let row = out
            .entry(d["owner_id"].as_str().unwrap().to_owned())
            .or_default();
        match status {
            "open" => {
                row[0] += 1;
                row[1] += amount;
                row[2] += amount * d["probability"].as_i64().unwrap() / 100;
            }
            "won" => {
                row[3] += 1;
                row[4] += amount;
            }
            _ => {
                row[5] += 1;
                row[6] += amount;
            }
        }
    }
    out
}

/// The forecast by owner, in fen, as the API answers it.
fn answered_by_owner(forecast: &Value) -> std::collections::BTreeMap<String, [i64; 7]> {
    forecast["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_owned(),
                [
                    g["open_count"].as_i64().unwrap(),
                    fen(&g["open_amount"]),
                    fen(&g["weighted_amount"]),
                    g["won_count"].as_i64().unwrap(),
                    fen(&g["won_amount"]),
                    g["lost_count"].as_i64().unwrap(),
                    fen(&g["lost_amount"]),
                ],
            )
        })
        .collect()
}

#[tokio::test]
async fn the_forecast_follows_every_change_of_a_deal_made_through_the_api_or_in_sql() {
    let app = TestApp::spawn().await;
    let rep = app.user(Role::Sales).await;
    let other = app.user(Role::Sales).await;
    let manager = app.user(Role::Manager).await;
    let customer = app
        .create_customer(&rep.token, &customer_body("预测跟随有限公司"))
        .await;
    let cid = customer["id"].as_str().unwrap();
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (today, today + chrono::Duration::days(180));
    let range = format!("?from={from}&to={to}");
    // The forecast must equal what the deals themselves say, after every step.
    let check = async |step: &str| {
        let deals = get(&app, &manager, "/api/v1/opportunities?limit=200").await;
        let deals = deals["items"].as_array().unwrap().clone();
        let answered = forecast(&app, &manager, &range).await;
        assert_eq!(
            answered_by_owner(&answered),
            expected_by_owner(&deals, from, to),
            "after {step}: {answered}"
        );
        let by_month = forecast(&app, &manager, &format!("{range}&group_by=month")).await;
        assert_eq!(by_month["totals"], answered["totals"], "after {step}");
    };
    let mut made = Vec::new();
    for (amount, probability) in [("100.00", 30), ("200.00", 60), ("300.00", 90)] {
        made.push(new_deal(&app, &rep, cid, amount, probability).await);
    }
    let name = "手工改动的商机";
    let by_hand = app
        .as_user(Method::POST, "/api/v1/opportunities", &rep.token)
        .json(
            &json!({"customer_id": cid, "name": name, "amount": "400.00",
            "expected_close_date": in_days(30), "probability": 30}),
        )
        .send()
        .await
        .unwrap();
    made.push(json(by_hand, 201).await);
    check("four new deals").await;
    let id = |n: usize| made[n]["id"].as_str().unwrap().to_owned();
    let patch = async |n: usize, user: &TestUser, body: Value| {
        let path = format!("/api/v1/opportunities/{}", id(n));
        let current = get(&app, user, &path).await;
        let response = app
            .as_user(Method::PATCH, &path, &user.token)
            .header("If-Match", format!("\"{}\"", current["version"]))
            .json(&body)
            .send()
            .await
            .unwrap();
        json(response, 200).await
    };
    patch(0, &rep, json!({"probability": 60})).await;
    check("a stage change").await;
    patch(1, &rep, json!({"amount": "250.00"})).await;
    check("a new amount").await;
    patch(2, &rep, json!({"expected_close_date": in_days(90)})).await;
    check("a new expected close").await;
    patch(2, &rep, json!({"expected_close_date": in_days(400)})).await;
    check("an expected close past the range").await;
    patch(0, &manager, json!({"owner_id": other.id})).await;
    check("a new owner").await;
    let win = post(
        &app,
        &rep,
        &format!("/api/v1/opportunities/{}/win", id(1)),
        None,
        json!({"amount": "275.00"}),
    )
    .await;
    assert_eq!(win.status(), 200);
    check("a win at a final amount").await;
    let lose = post(
        &app,
        &rep,
        &format!("/api/v1/opportunities/{}/lose", id(3)),
        None,
        json!({"reason": "预算取消"}),
    )
    .await;
    assert_eq!(lose.status(), 200);
    check("a loss").await;
    let reopen = post(
        &app,
        &manager,
        &format!("/api/v1/opportunities/{}/reopen", id(3)),
        None,
        json!({}),
    )
    .await;
    assert_eq!(reopen.status(), 200);
    check("a reopening").await;
    // By hand, in SQL: the totals are kept by the database, not by the server.
    let db = &app.test_db.db;
    db.execute_unprepared(&format!(
        "UPDATE opportunities SET amount_fen = amount_fen + 12300, probability = 90 \
         WHERE name = '{name}' AND status = 'open'"
    ))
    .await
    .unwrap();
    check("a change in SQL").await;
    db.execute_unprepared(&format!(
        "DELETE FROM opportunity_stages WHERE opportunity_id IN \
         (SELECT id FROM opportunities WHERE name = '{name}')"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!("DELETE FROM opportunities WHERE name = '{name}'"))
        .await
        .unwrap();
    check("a deletion in SQL").await;
    // An existing database gets its totals from the deals it holds.
    crm_store::migrate_down(db, Some(1)).await.unwrap();
    crm_store::migrate_up(db).await.unwrap();
    check("the totals rebuilt from the deals").await;
}
