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
    let key = app.pinned_customer(&rep, &manager, "key").await;
    let ordinary = app.pinned_customer(&rep, &manager, "ordinary").await;
    let fresh = app.pinned_customer(&rep, &manager, "key").await;

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
    let id = app.pinned_customer(&rep, &manager, "key").await;
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

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.as_user(Method::POST, path, token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn contract(customer: &str, number: &str, starts: &str, ends: &str, amount: &str) -> Value {
    json!({"customer_id": customer, "number": number, "amount": amount,
           "starts_on": starts, "ends_on": ends})
}

#[tokio::test]
async fn contracts_are_renewed_once_and_count_towards_the_customer() {
    let app = TestApp::spawn().await;
    let rep = app.user(Role::Sales).await;
    let other = app.user(Role::Sales).await;
    let created = app
        .create_customer(&rep.token, &customer_body("佛山顺德家电配件有限公司"))
        .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["customer_type"], "potential");
    let today = Utc::now().date_naive();
    let ends_soon = (today + Duration::days(60)).to_string();
    let start = (today - Duration::days(300)).to_string();

    // A contract of its own makes a paying customer whose volume counts it.
    let first = json(
        post(
            &app,
            &rep.token,
            "/api/v1/contracts",
            contract(id, "HT-2026-0001", &start, &ends_soon, "6000000"),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(first["status"], "active");
    assert_eq!(first["amount"], "6000000.00");
    assert_eq!(first["days_to_end"], 60);
    let customer = get(&app, &rep.token, &format!("/api/v1/customers/{id}")).await;
    assert_eq!(customer["customer_type"], "customer");
    let score = customer["tier_score"].as_i64().unwrap();
    assert!(score >= 30, "{customer}");

    // A won deal put on paper counts once: through the deal.
    let deal = json(
        post(
            &app,
            &rep.token,
            "/api/v1/opportunities",
            json!({"customer_id": id, "name": "备件年度采购", "amount": "100.00",
                   "expected_close_date": today.to_string(), "probability": 90}),
        )
        .await,
        201,
    )
    .await;
    let deal_id = deal["id"].as_str().unwrap();
    let open_deal = contract(id, "HT-2026-0002", &start, &ends_soon, "100.00");
    let mut tied = open_deal.clone();
    tied["opportunity_id"] = json!(deal_id);
    problem(
        post(&app, &rep.token, "/api/v1/contracts", tied.clone()).await,
        422,
        "validation_failed",
    )
    .await;
    json(
        post(
            &app,
            &rep.token,
            &format!("/api/v1/opportunities/{deal_id}/win"),
            json!({"amount": "4000000.00"}),
        )
        .await,
        200,
    )
    .await;
    let with_deal = get(&app, &rep.token, &format!("/api/v1/customers/{id}")).await["tier_score"]
        .as_i64()
        .unwrap();
    json(post(&app, &rep.token, "/api/v1/contracts", tied).await, 201).await;
    let after = get(&app, &rep.token, &format!("/api/v1/customers/{id}")).await["tier_score"]
        .as_i64()
        .unwrap();
    assert_eq!(after, with_deal);

    // Bad contracts are refused whole.
    let refused = problem(
        post(
            &app,
            &rep.token,
            "/api/v1/contracts",
            json!({"customer_id": id, "number": " ", "amount": "-1", "starts_on": "2026-05-01",
                   "ends_on": "2026-04-30", "signed_on": "2999-01-01"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(refused["errors"].as_array().unwrap().len(), 4);
    problem(
        post(
            &app,
            &rep.token,
            "/api/v1/contracts",
            contract(id, "HT-2026-0001", &start, &ends_soon, "1"),
        )
        .await,
        409,
        "duplicate_contract_number",
    )
    .await;

    // Renewal talks: the contract ending in 60 days is listed, a later one is not.
    json(
        post(
            &app,
            &rep.token,
            "/api/v1/contracts",
            contract(
                id,
                "HT-2026-0009",
                &start,
                &(today + Duration::days(200)).to_string(),
                "1",
            ),
        )
        .await,
        201,
    )
    .await;
    let due = get(&app, &rep.token, "/api/v1/contracts?ending_within_days=90").await;
    let numbers: Vec<&str> = due["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["HT-2026-0002", "HT-2026-0001"]);

    // Renewed once: two renewals at once, one wins.
    let first_id = first["id"].as_str().unwrap();
    let renew = |n: &'static str| {
        app.as_user(
            Method::POST,
            &format!("/api/v1/contracts/{first_id}/renew"),
            &rep.token,
        )
        .json(&json!({"number": n, "amount": "6500000", "ends_on": (today + Duration::days(425)).to_string()}))
        .send()
    };
    let (a, b) = tokio::join!(renew("HT-2027-0001"), renew("HT-2027-0002"));
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409]);
    let old = get(&app, &rep.token, &format!("/api/v1/contracts/{first_id}")).await;
    assert_eq!(old["status"], "renewed");
    let successor = get(
        &app,
        &rep.token,
        &format!(
            "/api/v1/contracts/{}",
            old["successor_id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(successor["predecessor_id"], first_id);
    assert_eq!(
        successor["starts_on"],
        (today + Duration::days(61)).to_string()
    );
    let again = problem(
        post(
            &app,
            &rep.token,
            &format!("/api/v1/contracts/{first_id}/renew"),
            json!({"number": "HT-2027-0003", "amount": "1", "ends_on": "2028-12-31"}),
        )
        .await,
        409,
        "already_renewed",
    )
    .await;
    assert_eq!(again["existing_id"], successor["id"]);

    // Another rep sees none of it.
    problem(
        app.as_user(
            Method::GET,
            &format!("/api/v1/contracts/{first_id}"),
            &other.token,
        )
        .send()
        .await
        .unwrap(),
        404,
        "not_found",
    )
    .await;
    let none = get(&app, &other.token, "/api/v1/contracts").await;
    assert_eq!(none["items"], json!([]));
}

async fn inbox(app: &TestApp, user: &TestUser) -> Vec<Value> {
    get(app, &user.token, "/api/v1/reminders?limit=200").await["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn kinds(items: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = items
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn the_morning_inbox_is_made_once_whatever_the_number_of_copies() {
    let app = TestApp::spawn().await;
    let twin = app.spawn_twin().await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    let rep = app.user(Role::Sales).await;
    let other = app.user(Role::Sales).await;
    let agent = app.user(Role::Service).await;
    let office = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let office_today = Utc::now().with_timezone(&office).date_naive();

    // A contract ending in 30 days: renewal talks.
    let id = app.pinned_customer(&rep, &manager, "key").await;
    json(
        post(
            &app,
            &rep.token,
            "/api/v1/contracts",
            contract(
                &id,
                "HT-2026-0100",
                "2026-01-01",
                &(Utc::now().date_naive() + Duration::days(30)).to_string(),
                "200000",
            ),
        )
        .await,
        201,
    )
    .await;
    // A customer last called 100 days ago: a follow-up.
    let quiet = app.pinned_customer(&rep, &manager, "ordinary").await;
    json(
        record(
            &app,
            &rep,
            &quiet,
            json!({"kind": "call", "occurred_at": ago(100), "summary": "电话"}),
        )
        .await,
        201,
    )
    .await;
    // A contact whose birthday is in three days.
    let birthday = (office_today + Duration::days(3))
        .format("1980-%m-%d")
        .to_string()
        .replace("1980-02-29", "1980-02-28");
    let contact = json(
        post(
            &app,
            &rep.token,
            &format!("/api/v1/customers/{id}/contacts"),
            json!({"name": "王芳", "title": "总经理", "mobile": "13800001111", "birthday": birthday}),
        )
        .await,
        201,
    )
    .await;
    // A care holiday in two days, for every rep and manager.
    let holiday = (office_today + Duration::days(2)).to_string();
    json(
        app.as_user(Method::PUT, "/api/v1/care-calendar/holidays", &admin.token)
            .json(&json!({"holidays": [{"date": holiday, "name": "测试节"}]}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    // A late work order: its agent and the manager it went to.
    let order = json(
        post(
            &app,
            &rep.token,
            "/api/v1/work-orders",
            json!({"customer_id": id, "title": "设备故障", "description": "无法启动",
                   "category": "repair", "severity": "high", "channel": "phone"}),
        )
        .await,
        201,
    )
    .await;
    app.make_late(order["id"].as_str().unwrap()).await;
    crm_app::work_orders::sweep(&app.ctx).await.unwrap();

    // Both copies generate at once, their workers every second too.
    let settings = crm_app::reminders::GenerateSettings::default();
    let (a, b) = tokio::join!(
        crm_app::reminders::generate(&app.ctx, settings),
        crm_app::reminders::generate(&twin.ctx, settings)
    );
    a.unwrap();
    b.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        crm_app::reminders::generate(&twin.ctx, settings)
            .await
            .unwrap(),
        0
    );

    let mine = inbox(&app, &rep).await;
    assert_eq!(
        kinds(&mine),
        ["birthday", "follow_up", "holiday", "renewal"]
    );
    let birthday_reminder = mine.iter().find(|r| r["kind"] == "birthday").unwrap();
    assert_eq!(birthday_reminder["subject_id"], contact["id"]);
    assert_eq!(kinds(&inbox(&app, &agent).await), ["breach"]);
    assert_eq!(kinds(&inbox(&app, &manager).await), ["breach", "holiday"]);
    assert_eq!(kinds(&inbox(&app, &other).await), ["holiday"]);

    // Worked off: done, dismissed, snoozed; what is hidden stays findable.
    let renewal = mine.iter().find(|r| r["kind"] == "renewal").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let follow = mine.iter().find(|r| r["kind"] == "follow_up").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let greet = mine.iter().find(|r| r["kind"] == "holiday").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = json(
        post(
            &app,
            &rep.token,
            &format!("/api/v1/reminders/{renewal}/done"),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(done["status"], "done");
    json(
        post(
            &app,
            &rep.token,
            &format!("/api/v1/reminders/{greet}/dismiss"),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    problem(
        post(
            &app,
            &rep.token,
            &format!("/api/v1/reminders/{follow}/snooze"),
            json!({"until": ago(1)}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    json(
        post(
            &app,
            &rep.token,
            &format!("/api/v1/reminders/{follow}/snooze"),
            json!({"until": (Utc::now() + Duration::days(2)).to_rfc3339()}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(kinds(&inbox(&app, &rep).await), ["birthday"]);
    let snoozed = get(&app, &rep.token, "/api/v1/reminders?include_snoozed=true").await;
    assert_eq!(snoozed["items"].as_array().unwrap().len(), 2);
    let finished = get(&app, &rep.token, "/api/v1/reminders?status=done").await;
    assert_eq!(finished["items"][0]["id"], renewal.as_str());
    // Nothing comes back after it was worked off.
    crm_app::reminders::generate(&app.ctx, settings)
        .await
        .unwrap();
    assert_eq!(kinds(&inbox(&app, &rep).await), ["birthday"]);

    // Someone else's reminder does not exist for you; reps set reminders only for themselves.
    problem(
        post(
            &app,
            &other.token,
            &format!("/api/v1/reminders/{follow}/done"),
            json!({}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let for_rep = json!({"title": "准备季度回顾", "due_at": (Utc::now() + Duration::days(1)).to_rfc3339(), "user_id": rep.id});
    problem(
        post(&app, &other.token, "/api/v1/reminders", for_rep.clone()).await,
        403,
        "forbidden",
    )
    .await;
    let set = json(
        post(&app, &manager.token, "/api/v1/reminders", for_rep).await,
        201,
    )
    .await;
    assert_eq!(set["user_id"], rep.id.to_string());
    assert_eq!(set["created_by"], manager.id.to_string());
    assert_eq!(kinds(&inbox(&app, &rep).await), ["birthday", "manual"]);
}

#[tokio::test]
async fn the_care_calendar_shows_birthdays_and_holidays_of_ones_customers() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    let rep = app.user(Role::Sales).await;
    let other = app.user(Role::Sales).await;
    let id = app.pinned_customer(&rep, &manager, "key").await;
    for (name, birthday) in [
        ("李雷", "1985-03-10"),
        ("韩梅梅", "1990-12-25"),
        ("王强", "1976-02-29"),
    ] {
        json(
            post(
                &app,
                &rep.token,
                &format!("/api/v1/customers/{id}/contacts"),
                json!({"name": name, "title": "经理", "mobile": "13800002222", "birthday": birthday}),
            )
            .await,
            201,
        )
        .await;
    }
    json(
        app.as_user(Method::PUT, "/api/v1/care-calendar/holidays", &admin.token)
            .json(&json!({"holidays": [{"date": "2027-02-06", "name": "春节"}, {"date": "2026-09-25", "name": "中秋节"}]}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let days = get(
        &app,
        &rep.token,
        "/api/v1/care-calendar?from=2027-01-01&to=2027-03-31",
    )
    .await;
    let seen: Vec<(String, String)> = days["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_owned(),
                d["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("2027-02-06".to_owned(), "春节".to_owned()),
            ("2027-02-28".to_owned(), "王强".to_owned()),
            ("2027-03-10".to_owned(), "李雷".to_owned()),
        ]
    );
    let theirs = get(
        &app,
        &other.token,
        "/api/v1/care-calendar?from=2027-01-01&to=2027-03-31",
    )
    .await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    for bad in [
        "from=2027-1-1",
        "from=2027-03-01&to=2027-01-01",
        "from=2027-01-01&to=2028-06-01",
    ] {
        problem(
            app.as_user(
                Method::GET,
                &format!("/api/v1/care-calendar?{bad}"),
                &rep.token,
            )
            .send()
            .await
            .unwrap(),
            400,
            "invalid_parameter",
        )
        .await;
    }
    let refused = problem(
        app.as_user(Method::PUT, "/api/v1/care-calendar/holidays", &admin.token)
            .json(&json!({"holidays": [{"date": "2027-02-06", "name": "春节"}, {"date": "2027-02-06", "name": " "}]}))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(refused["errors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn surveys_at_risk_customers_and_referrals() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let rep = app.user(Role::Sales).await;
    let other = app.user(Role::Sales).await;
    let agent = app.user(Role::Service).await;
    let id = app.pinned_customer(&rep, &manager, "key").await;
    let surveys = format!("/api/v1/customers/{id}/surveys");

    // Twice a year, once per half year.
    let first = json(
        post(
            &app,
            &rep.token,
            &surveys,
            json!({"needs": "希望增加培训", "product_satisfaction": 5, "service_satisfaction": 4, "comments": "交付及时"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(first["satisfied"], true);
    let again = problem(
        post(
            &app,
            &rep.token,
            &surveys,
            json!({"period": first["period"], "product_satisfaction": 3, "service_satisfaction": 3}),
        )
        .await,
        409,
        "duplicate_survey",
    )
    .await;
    assert_eq!(again["existing_id"], first["id"]);
    let refused = problem(
        post(
            &app,
            &rep.token,
            &surveys,
            json!({"period": "2099-H1", "product_satisfaction": 0, "service_satisfaction": 6}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(refused["errors"].as_array().unwrap().len(), 3);
    json(
        post(
            &app,
            &rep.token,
            &surveys,
            json!({"period": "2025-H2", "product_satisfaction": 2, "service_satisfaction": 4}),
        )
        .await,
        201,
    )
    .await;
    let list = get(&app, &rep.token, &surveys).await;
    let periods: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["period"].as_str().unwrap())
        .collect();
    assert_eq!(periods.len(), 2);
    assert_eq!(periods[1], "2025-H2");
    assert_eq!(list["items"][1]["satisfied"], false);

    // At risk: no contact, won deal or contract for 12 months.
    let quiet = app.pinned_customer(&rep, &manager, "ordinary").await;
    json(
        record(
            &app,
            &rep,
            &quiet,
            json!({"kind": "visit", "occurred_at": ago(400), "summary": "拜访"}),
        )
        .await,
        201,
    )
    .await;
    let risky = get(&app, &rep.token, "/api/v1/customers/at-risk").await;
    let ids: Vec<&str> = risky["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [quiet.as_str()]);
    assert!(risky["items"][0]["quiet_days"].as_i64().unwrap() >= 399);
    assert_eq!(
        get(&app, &other.token, "/api/v1/customers/at-risk").await["items"],
        json!([])
    );
    problem(
        app.as_user(Method::GET, "/api/v1/customers/at-risk", &agent.token)
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    // A manager marks it lost, with the reason; a rep may not.
    let lost_path = format!("/api/v1/customers/{quiet}/mark-lost");
    problem(
        post(&app, &rep.token, &lost_path, json!({"reason": "无采购"})).await,
        403,
        "forbidden",
    )
    .await;
    problem(
        post(&app, &manager.token, &lost_path, json!({"reason": ""})).await,
        422,
        "validation_failed",
    )
    .await;
    let lost = json(
        post(
            &app,
            &manager.token,
            &lost_path,
            json!({"reason": "连续两年无采购"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(lost["customer_type"], "lost");
    assert_eq!(lost["lost_reason"], "连续两年无采购");
    assert!(lost["lost_at"].is_string());
    problem(
        post(&app, &manager.token, &lost_path, json!({"reason": "再次"})).await,
        409,
        "illegal_transition",
    )
    .await;
    assert_eq!(
        get(&app, &rep.token, "/api/v1/customers/at-risk").await["items"],
        json!([])
    );
    let history = get(
        &app,
        &manager.token,
        &format!("/api/v1/customers/{quiet}/history"),
    )
    .await;
    assert_eq!(history["items"][0]["action"], "marked_lost");

    // Referrals: who brought whom, and whether it paid.
    let mut body = customer_body("东莞长安精密模具有限公司");
    body["referred_by"] = json!(id);
    let paying = app.create_customer(&rep.token, &body).await;
    let mut body = customer_body("惠州仲恺电子材料有限公司");
    body["referred_by"] = json!(id);
    let waiting = app.create_customer(&rep.token, &body).await;
    json(
        post(
            &app,
            &rep.token,
            "/api/v1/contracts",
            contract(
                paying["id"].as_str().unwrap(),
                "HT-TJ-1",
                "2026-01-01",
                "2026-12-31",
                "50000",
            ),
        )
        .await,
        201,
    )
    .await;
    let report = get(&app, &rep.token, "/api/v1/reports/referrals").await;
    let rows: Vec<(&str, bool)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["referred_id"].as_str().unwrap(),
                r["converted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (paying["id"].as_str().unwrap(), true),
            (waiting["id"].as_str().unwrap(), false)
        ]
    );
    assert_eq!(report["items"][0]["referrer_id"], id.as_str());
    assert!(report["items"][0]["referrer_name"].is_string());
    assert_eq!(
        get(&app, &other.token, "/api/v1/reports/referrals").await["items"],
        json!([])
    );
    let none = get(
        &app,
        &rep.token,
        "/api/v1/reports/referrals?from=2020-01-01&to=2020-12-31",
    )
    .await;
    assert_eq!(none["items"], json!([]));
}

#[tokio::test]
async fn reminders_follow_the_customer_to_its_new_owner_and_go_with_a_purge() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    let first = app.user(Role::Sales).await;
    let second = app.user(Role::Sales).await;
    let id = app.pinned_customer(&first, &manager, "key").await;
    for n in 0..3 {
        json(
            post(
                &app,
                &first.token,
                "/api/v1/contracts",
                contract(
                    &id,
                    &format!("HT-HO-{n}"),
                    "2026-01-01",
                    &(Utc::now().date_naive() + Duration::days(20 + n)).to_string(),
                    "1000",
                ),
            )
            .await,
            201,
        )
        .await;
    }
    let settings = crm_app::reminders::GenerateSettings::default();
    crm_app::reminders::generate(&app.ctx, settings)
        .await
        .unwrap();
    // Paged one by one, every reminder comes once.
    let mut seen = Vec::new();
    let mut query = "limit=1".to_owned();
    loop {
        let page = get(&app, &first.token, &format!("/api/v1/reminders?{query}")).await;
        for r in page["items"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("limit=1&cursor={c}"),
            None => break,
        }
        assert!(seen.len() <= 3, "{seen:?}");
    }
    assert_eq!(seen.len(), 3);

    // The customer passes to another rep: the reminders go with it.
    let current = get(&app, &manager.token, &format!("/api/v1/customers/{id}")).await;
    json(
        app.as_user(
            Method::PATCH,
            &format!("/api/v1/customers/{id}"),
            &manager.token,
        )
        .header("If-Match", format!("\"{}\"", current["version"]))
        .json(&json!({"owner_id": second.id}))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(inbox(&app, &first).await, Vec::<Value>::new());
    crm_app::reminders::generate(&app.ctx, settings)
        .await
        .unwrap();
    assert_eq!(
        kinds(&inbox(&app, &second).await),
        ["renewal", "renewal", "renewal"]
    );

    // A purge takes them away.
    let response = app
        .as_user(
            Method::POST,
            &format!("/api/v1/customers/{id}/purge"),
            &admin.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(inbox(&app, &second).await, Vec::<Value>::new());
}

#[tokio::test]
async fn extreme_instants_and_days_are_refused_not_crashed_on() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    for path in [
        "/api/v1/reports/referrals?to=%2B262143-12-31",
        "/api/v1/reports/referrals?from=2026-13-01",
        "/api/v1/work-orders?created_from=-5000-01-01T00:00:00Z",
        "/api/v1/work-orders?due_before=%2B10000-01-01T00:00:00Z",
        "/api/v1/activities?from=0001-01-01T00:00:00Z",
        "/api/v1/reminders?due_before=1000-01-01T00:00:00Z",
        "/api/v1/leads?received_from=-0001-01-01T00:00:00Z",
        "/api/v1/customers/at-risk?cursor=-300000000000000000.0190a3c5-0000-7000-8000-000000000000",
        "/api/v1/reminders?cursor=x.y",
    ] {
        let response = app
            .as_user(Method::GET, path, &manager.token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(status == 400 || status == 200, "{path}: {status}");
        if status == 400 {
            problem(response, 400, "invalid_parameter").await;
        }
    }
}
