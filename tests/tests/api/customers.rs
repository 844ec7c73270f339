//! Customer profiles: checks, privacy, visibility, concurrency, history, lists.

use crm_domain::access::Role;
use crm_tests::{TestApp, customer_body, json, problem, random_uscc};
use reqwest::Method;
use serde_json::{Value, json};

fn full_body() -> Value {
    json!({
        "name": "  福州市闽江精密机械有限公司 ",
        "uscc": "91350100m000100y43",
        "industry_code": "c35",
        "customer_type": "customer",
        "annual_budget": "1250.5",
        "needs": "希望年底前完成产线改造",
        "scale": "medium",
        "source": "fair",
        "address": "福州市鼓楼区五四路 100 号",
        "phone": "0591-87654321",
        "cooperation_since": "2019-05-01",
        "influence": 4,
        "contacts": [
            {"name": "陈静", "title": "采购经理", "mobile": "13800138000", "email": "Chen.Jing@Example.com", "birthday": "1985-03-08", "is_primary": true},
            {"name": "林峰", "title": "设备主管", "mobile": "13900139000"}
        ],
        "tags": ["高潜力客户", "意向产品A", "高潜力客户"]
    })
}

#[tokio::test]
async fn creates_a_full_profile() {
    let app = TestApp::spawn().await;
    let sales = app.user(Role::Sales).await;
    let response = app
        .as_user(Method::POST, "/api/v1/customers", &sales.token)
        .json(&full_body())
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let body = json(response, 201).await;
    assert_eq!(body["name"], "福州市闽江精密机械有限公司");
    assert_eq!(body["uscc"], "91350100M000100Y43");
    assert_eq!(body["industry_code"], "C35");
    assert_eq!(body["region"], "35", "derived from the USCC");
    assert_eq!(body["annual_budget"], "1250.50");
    assert_eq!(body["owner_id"], sales.id.to_string());
    assert_eq!(body["cooperation_since"], "2019-05-01");
    assert!(body["cooperation_years"].as_u64().unwrap() >= 7);
    assert_eq!(body["tags"], json!(["意向产品A", "高潜力客户"]));
    assert_eq!(body["contacts"][0]["is_primary"], true);
    assert_eq!(body["contacts"][0]["email"], "chen.jing@example.com");
    assert_eq!(body["contacts"].as_array().unwrap().len(), 2);
    // 1250.5 万元 (50) + 7 years (14) + influence 4 (22) = 86: strategic under the default policy.
    assert_eq!(body["tier"], "strategic");
    assert_eq!(body["archived"], false);
    assert_eq!(
        location,
        format!("/api/v1/customers/{}", body["id"].as_str().unwrap())
    );

    let fetched = json(
        app.as_user(Method::GET, &location, &sales.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(fetched, body);
    // A list reads the customer with its contacts and tags in the same statement; it shows
    // exactly what the profile shows.
    let listed = json(
        app.as_user(Method::GET, "/api/v1/customers", &sales.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listed["items"][0], body);
}

#[tokio::test]
async fn reports_every_invalid_field_at_once() {
    let app = TestApp::spawn().await;
    let sales = app.user(Role::Sales).await;
    let body = json!({
        "name": "X",
        "uscc": "91350100M000100Y44",
        "industry_code": "C99",
        "customer_type": "vip",
        "annual_budget": "-5",
        "influence": 9,
        "scale": "huge",
        "cooperation_since": "2999-01-01",
        "region": "00",
        "contacts": [
            {"name": "", "title": "经理", "mobile": "12345", "email": "nope", "is_primary": false},
            {"name": "王", "title": "经理", "mobile": "13800138000", "birthday": "1990-02-30"}
        ],
        "tags": [""]
    });
    let response = app
        .as_user(Method::POST, "/api/v1/customers", &sales.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let found = problem(response, 422, "validation_failed").await;
    let fields: Vec<&str> = found["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for expected in [
        "annual_budget",
        "contacts",
        "contacts[0].email",
        "contacts[0].mobile",
        "contacts[0].name",
        "contacts[1].birthday",
        "cooperation_since",
        "customer_type",
        "industry_code",
        "influence",
        "name",
        "region",
        "scale",
        "tags[0]",
        "uscc",
    ] {
        assert!(
            fields.contains(&expected),
            "{expected} missing from {fields:?}"
        );
    }
    // Nothing was written.
    let list = json(
        app.as_user(Method::GET, "/api/v1/customers", &sales.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"], json!([]));

    let mut no_contacts = customer_body("杭州示例科技有限公司");
    no_contacts["contacts"] = json!([]);
    let response = app
        .as_user(Method::POST, "/api/v1/customers", &sales.token)
        .json(&no_contacts)
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 422, "validation_failed").await["errors"][0]["field"],
        "contacts"
    );
    let mut two_primaries = customer_body("杭州示例科技有限公司");
    two_primaries["contacts"] = json!([
        {"name": "甲", "title": "经理", "mobile": "13800138000", "is_primary": true},
        {"name": "乙", "title": "经理", "mobile": "13800138001", "is_primary": true}
    ]);
    let response = app
        .as_user(Method::POST, "/api/v1/customers", &sales.token)
        .json(&two_primaries)
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 422, "validation_failed").await["errors"][0]["code"],
        "primary"
    );
}

#[tokio::test]
async fn privacy_guard_refuses_id_and_card_numbers_in_free_text() {
    let app = TestApp::spawn().await;
    let sales = app.user(Role::Sales).await;
    for (field, value) in [
        ("needs", "法人身份证 110105 19491231 002X 请存档"),
        ("needs", "对公付款卡号 6222-0212-3456-7890-128"),
        ("address", "北京市 11010519491231002x"),
        ("name", "卡号4111111111111111有限公司"),
    ] {
        let mut body = customer_body("成都蓉城贸易有限公司");
        body[field] = json!(value);
        let response = app
            .as_user(Method::POST, "/api/v1/customers", &sales.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let found = problem(response, 422, "validation_failed").await;
        assert_eq!(found["errors"][0]["field"], field, "{value}");
        assert_eq!(found["errors"][0]["code"], "sensitive_data");
        let text = found.to_string();
        assert!(
            !text.contains("19491231") && !text.contains("3456"),
            "value echoed: {text}"
        );
    }
    let mut body = customer_body("成都蓉城贸易有限公司");
    body["tags"] = json!(["客户卡 4111 1111 1111 1111"]);
    let response = app
        .as_user(Method::POST, "/api/v1/customers", &sales.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 422, "validation_failed").await["errors"][0]["field"],
        "tags[0]"
    );
    let list = json(
        app.as_user(Method::GET, "/api/v1/customers", &sales.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"], json!([]), "nothing stored");

    // Edits are guarded too.
    let created = app
        .create_customer(&sales.token, &customer_body("成都蓉城贸易有限公司"))
        .await;
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/customers/{}", created["id"].as_str().unwrap()),
            &sales.token,
        )
        .header("If-Match", "\"1\"")
        .json(&json!({"needs": "card 4111 1111 1111 1111"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 422, "validation_failed").await["errors"][0]["field"],
        "needs"
    );
}

#[tokio::test]
async fn duplicate_uscc_is_a_conflict_that_names_only_what_you_may_see() {
    let app = TestApp::spawn().await;
    let alice = app.user(Role::Sales).await;
    let bob = app.user(Role::Sales).await;
    let manager = app.user(Role::Manager).await;
    let body = customer_body("厦门海湾物流有限公司");
    let created = app.create_customer(&alice.token, &body).await;

    let mut again = customer_body("厦门海湾物流有限公司");
    again["uscc"] = json!(body["uscc"].as_str().unwrap().to_lowercase());
    let response = app
        .as_user(Method::POST, "/api/v1/customers", &alice.token)
        .json(&again)
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 409, "duplicate_uscc").await["existing_id"],
        created["id"]
    );
    let response = app
        .as_user(Method::POST, "/api/v1/customers", &bob.token)
        .json(&again)
        .send()
        .await
        .unwrap();
    let conflict = problem(response, 409, "duplicate_uscc").await;
    assert!(
        conflict.get("existing_id").is_none(),
        "bob must not learn the id: {conflict}"
    );
    let response = app
        .as_user(Method::POST, "/api/v1/customers", &manager.token)
        .json(&again)
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 409, "duplicate_uscc").await["existing_id"],
        created["id"]
    );

    // Once archived, the code is free again.
    let response = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/customers/{}", created["id"].as_str().unwrap()),
            &manager.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let second = app.create_customer(&bob.token, &again).await;
    // Restoring the first would now clash.
    let response = app
        .as_user(
            Method::POST,
            &format!(
                "/api/v1/customers/{}/restore",
                created["id"].as_str().unwrap()
            ),
            &manager.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 409, "duplicate_uscc").await["existing_id"],
        second["id"]
    );
}

#[tokio::test]
async fn a_sales_rep_cannot_learn_that_another_reps_customer_exists() {
    let app = TestApp::spawn().await;
    let alice = app.user(Role::Sales).await;
    let bob = app.user(Role::Sales).await;
    let service = app.user(Role::Service).await;
    let manager = app.user(Role::Manager).await;
    let mut body = customer_body("南京金陵软件有限公司");
    body["tags"] = json!(["alice-only"]);
    let theirs = app.create_customer(&alice.token, &body).await;
    let id = theirs["id"].as_str().unwrap();
    let contact = theirs["contacts"][0]["id"].as_str().unwrap();

    for who in [&bob, &service] {
        for path in [
            format!("/api/v1/customers/{id}"),
            format!("/api/v1/customers/{id}/history"),
            format!("/api/v1/customers/{id}/contacts"),
            format!("/api/v1/customers/{id}/duplicates"),
            format!("/api/v1/customers/{id}/attachments"),
        ] {
            problem(
                app.as_user(Method::GET, &path, &who.token)
                    .send()
                    .await
                    .unwrap(),
                404,
                "not_found",
            )
            .await;
        }
        let list = json(
            app.as_user(Method::GET, "/api/v1/customers?q=金陵", &who.token)
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(list["items"], json!([]));
        let csv = app
            .as_user(Method::GET, "/api/v1/customers/export", &who.token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!csv.contains("金陵"));
        let tags = json(
            app.as_user(Method::GET, "/api/v1/tags", &who.token)
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        let usage: Vec<i64> = tags["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["usage_count"].as_i64().unwrap())
            .collect();
        assert!(usage.iter().all(|n| *n == 0), "counts leak: {tags}");
    }
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/contacts/{contact}"),
            &bob.token,
        )
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    problem(response, 404, "not_found").await;
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/customers/{id}"),
            &bob.token,
        )
        .header("If-Match", "\"1\"")
        .json(&json!({"needs": "x"}))
        .send()
        .await
        .unwrap();
    problem(response, 404, "not_found").await;

    // The manager sees it; the owner too.
    json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{id}"),
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let tags = json(
        app.as_user(Method::GET, "/api/v1/tags", &alice.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(tags["items"][0]["usage_count"], 1);
}

#[tokio::test]
async fn only_managers_change_owners_and_pin_tiers() {
    let app = TestApp::spawn().await;
    let alice = app.user(Role::Sales).await;
    let bob = app.user(Role::Sales).await;
    let manager = app.user(Role::Manager).await;
    let created = app
        .create_customer(&alice.token, &customer_body("武汉光谷电子有限公司"))
        .await;
    let path = format!("/api/v1/customers/{}", created["id"].as_str().unwrap());

    let mut body = customer_body("另一家公司");
    body["owner_id"] = json!(bob.id);
    let response = app
        .as_user(Method::POST, "/api/v1/customers", &alice.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(response, 403, "forbidden").await;
    let response = app
        .as_user(Method::PATCH, &path, &alice.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"owner_id": bob.id}))
        .send()
        .await
        .unwrap();
    problem(response, 403, "forbidden").await;
    let response = app
        .as_user(Method::PATCH, &path, &alice.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"tier": "strategic", "tier_reason": "x"}))
        .send()
        .await
        .unwrap();
    problem(response, 403, "forbidden").await;

    let response = app
        .as_user(Method::PATCH, &path, &manager.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"owner_id": bob.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response, 200).await["owner_id"], bob.id.to_string());
    problem(
        app.as_user(Method::GET, &path, &alice.token)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    json(
        app.as_user(Method::GET, &path, &bob.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;

    let response = app
        .as_user(Method::PATCH, &path, &manager.token)
        .header("If-Match", "\"2\"")
        .json(&json!({"tier": "strategic"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 422, "validation_failed").await["errors"][0]["field"],
        "tier_reason"
    );
    let response = app
        .as_user(Method::PATCH, &path, &manager.token)
        .header("If-Match", "\"2\"")
        .json(&json!({"tier": "strategic", "tier_reason": "集团战略合作伙伴"}))
        .send()
        .await
        .unwrap();
    let pinned = json(response, 200).await;
    assert_eq!(
        (pinned["tier"].as_str(), pinned["tier_pinned"].as_bool()),
        (Some("strategic"), Some(true))
    );
    let filtered = json(
        app.as_user(
            Method::GET,
            "/api/v1/customers?tier=strategic",
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    let response = app
        .as_user(Method::PATCH, &path, &manager.token)
        .header("If-Match", "\"3\"")
        .json(&json!({"tier": null}))
        .send()
        .await
        .unwrap();
    let unpinned = json(response, 200).await;
    assert_eq!(
        (unpinned["tier"].as_str(), unpinned["tier_pinned"].as_bool()),
        (Some("ordinary"), Some(false))
    );
}

#[tokio::test]
async fn stale_writes_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let sales = app.user(Role::Sales).await;
    let created = app
        .create_customer(&sales.token, &customer_body("青岛海港机械有限公司"))
        .await;
    let path = format!("/api/v1/customers/{}", created["id"].as_str().unwrap());

    let response = app
        .as_user(Method::PATCH, &path, &sales.token)
        .json(&json!({"needs": "a"}))
        .send()
        .await
        .unwrap();
    problem(response, 428, "precondition_required").await;
    let response = app
        .as_user(Method::PATCH, &path, &sales.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"needs": "first edit"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["etag"], "\"2\"");
    json(response, 200).await;
    // A second editor still holding version 1 loses nothing silently: 412.
    let response = app
        .as_user(Method::PATCH, &path, &sales.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"needs": "second edit"}))
        .send()
        .await
        .unwrap();
    problem(response, 412, "precondition_failed").await;
    let current = json(
        app.as_user(Method::GET, &path, &sales.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        (current["needs"].as_str(), current["version"].as_i64()),
        (Some("first edit"), Some(2))
    );

    // Contact and tag changes are new versions too.
    let response = app
        .as_user(Method::PUT, &format!("{path}/tags"), &sales.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"tags": ["x"]}))
        .send()
        .await
        .unwrap();
    problem(response, 412, "precondition_failed").await;
    let response = app
        .as_user(Method::PUT, &format!("{path}/tags"), &sales.token)
        .json(&json!({"tags": ["x"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response, 200).await["version"], 3);
}

#[tokio::test]
async fn every_kind_of_change_is_in_the_history() {
    let app = TestApp::spawn().await;
    let sales = app.user(Role::Sales).await;
    let manager = app.user(Role::Manager).await;
    let other = app.user(Role::Sales).await;
    let created = app
        .create_customer(&sales.token, &customer_body("西安古城文化传媒有限公司"))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/customers/{id}");
    let send =
        |method: Method, path: String, token: &str, body: Option<Value>, etag: Option<i64>| {
            let mut request = app.as_user(method, &path, token);
            if let Some(v) = etag {
                request = request.header("If-Match", format!("\"{v}\""));
            }
            if let Some(b) = body {
                request = request.json(&b);
            }
            async move { request.send().await.unwrap() }
        };
    json(
        send(
            Method::PATCH,
            path.clone(),
            &sales.token,
            Some(json!({"customer_type": "customer", "needs": "扩产"})),
            Some(1),
        )
        .await,
        200,
    )
    .await;
    json(
        send(
            Method::PUT,
            format!("{path}/tags"),
            &sales.token,
            Some(json!({"tags": ["重点跟进"]})),
            None,
        )
        .await,
        200,
    )
    .await;
    let contact = json(
        send(
            Method::POST,
            format!("{path}/contacts"),
            &sales.token,
            Some(json!({"name": "赵六", "title": "财务", "mobile": "13511112222"})),
            None,
        )
        .await,
        201,
    )
    .await;
    json(
        send(
            Method::PATCH,
            format!("/api/v1/contacts/{}", contact["id"].as_str().unwrap()),
            &sales.token,
            Some(json!({"title": "财务总监"})),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        send(
            Method::DELETE,
            format!("/api/v1/contacts/{}", contact["id"].as_str().unwrap()),
            &sales.token,
            None,
            None
        )
        .await
        .status(),
        204
    );
    json(
        send(
            Method::PATCH,
            path.clone(),
            &manager.token,
            Some(json!({"owner_id": other.id})),
            Some(6),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        send(Method::DELETE, path.clone(), &manager.token, None, None)
            .await
            .status(),
        204
    );
    json(
        send(
            Method::POST,
            format!("{path}/restore"),
            &manager.token,
            None,
            None,
        )
        .await,
        200,
    )
    .await;

    let history = json(
        send(
            Method::GET,
            format!("{path}/history"),
            &manager.token,
            None,
            None,
        )
        .await,
        200,
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
            "restored",
            "archived",
            "owner_changed",
            "contact_removed",
            "contact_changed",
            "contact_added",
            "tags_changed",
            "updated",
            "created"
        ]
    );
    let updated = &history["items"][7];
    assert_eq!(updated["actor_id"], sales.id.to_string());
    assert_eq!(
        updated["changes"]["customer_type"],
        json!({"from": "potential", "to": "customer"})
    );
    assert_eq!(
        updated["changes"]["needs"],
        json!({"from": null, "to": "扩产"})
    );
    assert!(updated["changes"].get("version").is_none());
    assert_eq!(
        history["items"][2]["changes"]["owner_id"]["to"],
        other.id.to_string()
    );
    assert_eq!(history["items"][2]["actor_id"], manager.id.to_string());
    assert_eq!(
        history["items"][4]["changes"]["contact"]["to"]["title"],
        "财务总监"
    );
    assert!(history["items"][0]["at"].is_string());

    // Pages of the history follow the cursor.
    let page = json(
        send(
            Method::GET,
            format!("{path}/history?limit=4"),
            &manager.token,
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = json(
        send(
            Method::GET,
            format!("{path}/history?limit=4&cursor={cursor}"),
            &manager.token,
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(next["items"][0]["action"], "contact_changed");
}

#[tokio::test]
async fn contacts_keep_exactly_one_primary_and_at_least_one() {
    let app = TestApp::spawn().await;
    let sales = app.user(Role::Sales).await;
    let created = app
        .create_customer(&sales.token, &customer_body("长沙湘江机电有限公司"))
        .await;
    let id = created["id"].as_str().unwrap();
    let first = created["contacts"][0]["id"].as_str().unwrap().to_owned();
    let only = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/contacts/{first}"),
            &sales.token,
        )
        .send()
        .await
        .unwrap();
    problem(only, 409, "last_contact").await;
    let second = json(
        app.as_user(Method::POST, &format!("/api/v1/customers/{id}/contacts"), &sales.token)
            .json(&json!({"name": "钱七", "title": "总经理", "mobile": "13622223333", "is_primary": true}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    // The profile shows the primary contact first, whatever the order they were added in.
    let profile = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{id}"),
            &sales.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let shown: Vec<&Value> = profile["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(shown, vec![&second["id"], &json!(first)]);
    let list = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{id}/contacts"),
            &sales.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let primaries: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["is_primary"] == true)
        .collect();
    assert_eq!(primaries.len(), 1);
    assert_eq!(primaries[0]["id"], second["id"]);
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/contacts/{}", second["id"].as_str().unwrap()),
            &sales.token,
        )
        .json(&json!({"is_primary": false}))
        .send()
        .await
        .unwrap();
    problem(response, 422, "validation_failed").await;
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/contacts/{}", second["id"].as_str().unwrap()),
            &sales.token,
        )
        .json(&json!({"mobile": "1362222333"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 422, "validation_failed").await["errors"][0]["field"],
        "mobile"
    );
    // Removing the primary promotes the remaining contact.
    let response = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/contacts/{}", second["id"].as_str().unwrap()),
            &sales.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let list = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{id}/contacts"),
            &sales.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"][0]["id"], first.as_str());
    assert_eq!(list["items"][0]["is_primary"], true);
}

async fn ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let body = json(
        app.as_user(Method::GET, &format!("/api/v1/customers?{query}"), token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_filter_sort_and_page() {
    let app = TestApp::spawn().await;
    let alice = app.user(Role::Sales).await;
    let bob = app.user(Role::Sales).await;
    let manager = app.user(Role::Manager).await;
    let make = |name: &str, tags: Value, extra: Value| {
        let mut body = customer_body(name);
        body["tags"] = tags;
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let a = app
        .create_customer(
            &alice.token,
            &make(
                "甲公司",
                json!(["a", "b"]),
                json!({"source": "fair", "industry_code": "I65"}),
            ),
        )
        .await;
    app.create_customer(
        &alice.token,
        &make(
            "乙公司",
            json!(["a"]),
            json!({"customer_type": "customer", "region": "11"}),
        ),
    )
    .await;
    app.create_customer(
        &bob.token,
        &make("丙公司", json!(["b"]), json!({"source": "website"})),
    )
    .await;
    let mut with_contact = make("丁公司", json!([]), json!({}));
    with_contact["contacts"][0]["mobile"] = json!("13698765432");
    app.create_customer(&bob.token, &with_contact).await;

    let token = &manager.token;
    assert_eq!(
        ids(&app, token, "sort=name").await,
        ["丁公司", "丙公司", "乙公司", "甲公司"]
    );
    assert_eq!(ids(&app, token, "tag=a&tag=b").await, ["甲公司"]);
    let mut any = ids(&app, token, "any_tag=a&any_tag=b&sort=name").await;
    any.sort();
    assert_eq!(any, ["丙公司", "乙公司", "甲公司"]);
    assert_eq!(ids(&app, token, "tag=nope").await, Vec::<String>::new());
    assert_eq!(ids(&app, token, "source=fair").await, ["甲公司"]);
    assert_eq!(ids(&app, token, "industry_code=I65").await, ["甲公司"]);
    assert_eq!(ids(&app, token, "region=11").await, ["乙公司"]);
    assert_eq!(ids(&app, token, "customer_type=customer").await, ["乙公司"]);
    assert_eq!(
        ids(&app, token, &format!("owner_id={}&sort=name", bob.id)).await,
        ["丁公司", "丙公司"]
    );
    assert_eq!(
        ids(&app, token, "q=98765").await,
        ["丁公司"],
        "by contact mobile"
    );
    assert_eq!(
        ids(&app, token, "q=张伟&sort=name").await.len(),
        4,
        "by contact name"
    );
    let uscc = a["uscc"].as_str().unwrap();
    assert_eq!(
        ids(&app, token, &format!("q={}", &uscc[..12].to_lowercase())).await,
        ["甲公司"],
        "by USCC"
    );
    assert_eq!(
        ids(&app, &alice.token, "sort=name").await,
        ["乙公司", "甲公司"],
        "alice sees her own"
    );
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let encoded = later
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .replace('+', "%2B");
    assert!(
        ids(&app, token, &format!("updated_since={encoded}"))
            .await
            .is_empty()
    );

    // Pages of one, in every order, see everyone once.
    for sort in [
        "name",
        "-name",
        "created_at",
        "-created_at",
        "updated_at",
        "-updated_at",
    ] {
        let mut seen = Vec::new();
        let mut query = format!("limit=1&sort={sort}");
        loop {
            let body = json(
                app.as_user(Method::GET, &format!("/api/v1/customers?{query}"), token)
                    .send()
                    .await
                    .unwrap(),
                200,
            )
            .await;
            seen.extend(
                body["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["id"].as_str().unwrap().to_owned()),
            );
            match body["next_cursor"].as_str() {
                Some(cursor) => query = format!("limit=1&sort={sort}&cursor={cursor}"),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (4, 4), "{sort}");
    }
    let first = json(
        app.as_user(Method::GET, "/api/v1/customers?limit=1&sort=name", token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let response = app
        .as_user(
            Method::GET,
            &format!("/api/v1/customers?sort=-name&cursor={cursor}"),
            token,
        )
        .send()
        .await
        .unwrap();
    problem(response, 400, "invalid_parameter").await;
    for bad in [
        "tier=gold",
        "sort=uscc",
        "limit=500",
        "region=99",
        "updated_since=yesterday",
        "archived=maybe",
        "owner_id=7",
        "nonsense=1",
    ] {
        let response = app
            .as_user(Method::GET, &format!("/api/v1/customers?{bad}"), token)
            .send()
            .await
            .unwrap();
        problem(response, 400, "invalid_parameter").await;
    }
}

#[tokio::test]
async fn archived_customers_leave_lists_until_restored() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let created = app
        .create_customer(&manager.token, &customer_body("沈阳北方重工有限公司"))
        .await;
    let path = format!("/api/v1/customers/{}", created["id"].as_str().unwrap());
    assert_eq!(
        app.as_user(Method::DELETE, &path, &manager.token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert!(ids(&app, &manager.token, "").await.is_empty());
    assert_eq!(
        ids(&app, &manager.token, "archived=true").await,
        ["沈阳北方重工有限公司"]
    );
    let archived = json(
        app.as_user(Method::GET, &path, &manager.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(archived["archived"], true);
    let response = app
        .as_user(Method::PATCH, &path, &manager.token)
        .header("If-Match", format!("\"{}\"", archived["version"]))
        .json(&json!({"needs": "x"}))
        .send()
        .await
        .unwrap();
    problem(response, 409, "customer_archived").await;
    json(
        app.as_user(Method::POST, &format!("{path}/restore"), &manager.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        ids(&app, &manager.token, "").await,
        ["沈阳北方重工有限公司"]
    );
}

#[tokio::test]
async fn tier_policy_changes_retier_customers() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let mut body = customer_body("郑州中原农机有限公司");
    body["annual_budget"] = json!("600");
    let created = app.create_customer(&manager.token, &body).await;
    assert_eq!(
        created["tier"], "ordinary",
        "600 万元 scores 30 under the default policy"
    );

    let policy = json(
        app.as_user(Method::GET, "/api/v1/tier-policy", &manager.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(policy["version"], 0);
    let mut new_policy = policy["policy"].clone();
    new_policy["purchase_full_score_wan"] = json!(500);
    new_policy["key_threshold"] = json!(40);
    let response = app
        .as_user(Method::PUT, "/api/v1/tier-policy", &manager.token)
        .header("If-Match", "\"0\"")
        .json(&new_policy)
        .send()
        .await
        .unwrap();
    let saved = json(response, 200).await;
    assert_eq!(saved["version"], 1);
    assert!(saved["retier_job_id"].is_string(), "{saved}");
    // Re-tiering runs as a background job: the customer follows within moments.
    let path = format!("/api/v1/customers/{}", created["id"].as_str().unwrap());
    let mut customer = json!(null);
    for _ in 0..200 {
        customer = json(
            app.as_user(Method::GET, &path, &manager.token)
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        if customer["tier"] == "key" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(customer["tier"], "key");
    let history = json(
        app.as_user(
            Method::GET,
            &format!(
                "/api/v1/customers/{}/history",
                created["id"].as_str().unwrap()
            ),
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(history["items"][0]["action"], "tier_changed");

    let response = app
        .as_user(Method::PUT, "/api/v1/tier-policy", &manager.token)
        .header("If-Match", "\"0\"")
        .json(&new_policy)
        .send()
        .await
        .unwrap();
    problem(response, 412, "precondition_failed").await;
    new_policy["purchase_weight"] = json!(90);
    let response = app
        .as_user(Method::PUT, "/api/v1/tier-policy", &manager.token)
        .json(&new_policy)
        .send()
        .await
        .unwrap();
    problem(response, 422, "validation_failed").await;
}

#[tokio::test]
async fn export_is_csv_with_bom_of_what_the_caller_sees() {
    let app = TestApp::spawn().await;
    let alice = app.user(Role::Sales).await;
    let bob = app.user(Role::Sales).await;
    let mut body = customer_body("=HYPERLINK(\"x\") 昆明春城花卉有限公司");
    body["tags"] = json!(["花卉", "出口"]);
    app.create_customer(&alice.token, &body).await;
    app.create_customer(&bob.token, &customer_body("贵阳数谷有限公司"))
        .await;
    let response = app
        .as_user(Method::GET, "/api/v1/customers/export", &alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("id,name,uscc,"));
    assert!(
        lines[1].contains("'=HYPERLINK"),
        "formula neutralised: {}",
        lines[1]
    );
    assert!(
        lines[1].contains("专用设备制造业")
            && lines[1].contains("广东省")
            && lines[1].contains("出口;花卉")
    );
    assert!(!text.contains("贵阳"));
}

#[tokio::test]
async fn uscc_and_region_checks_on_edit() {
    let app = TestApp::spawn().await;
    let sales = app.user(Role::Sales).await;
    let created = app
        .create_customer(&sales.token, &customer_body("合肥科大讯达有限公司"))
        .await;
    let path = format!("/api/v1/customers/{}", created["id"].as_str().unwrap());
    assert_eq!(created["region"], "44");
    let response = app
        .as_user(Method::PATCH, &path, &sales.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"uscc": "91110000600037341L"}))
        .send()
        .await
        .unwrap();
    let changed = json(response, 200).await;
    assert_eq!(
        (changed["uscc"].as_str(), changed["region"].as_str()),
        (Some("91110000600037341L"), Some("44"))
    );
    let response = app
        .as_user(Method::PATCH, &path, &sales.token)
        .header("If-Match", "\"2\"")
        .json(&json!({"region": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(response, 200).await["region"],
        "11",
        "null derives it from the USCC again"
    );
    let response = app
        .as_user(Method::PATCH, &path, &sales.token)
        .header("If-Match", "\"3\"")
        .json(&json!({"uscc": "91110000600037341X", "name": null, "annual_budget": "1.234"}))
        .send()
        .await
        .unwrap();
    let fields: Vec<String> = problem(response, 422, "validation_failed").await["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["annual_budget", "name", "uscc"]);
    let other = app
        .create_customer(&sales.token, &customer_body("另一家有限公司"))
        .await;
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/customers/{}", other["id"].as_str().unwrap()),
            &sales.token,
        )
        .header("If-Match", "\"1\"")
        .json(&json!({"uscc": "91110000600037341L"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 409, "duplicate_uscc").await["existing_id"],
        created["id"]
    );
    let _ = random_uscc();
}

#[tokio::test]
async fn a_customer_brings_at_most_fifty_contacts() {
    let app = TestApp::spawn().await;
    let sales = app.user(Role::Sales).await;
    let mut body = customer_body("昆山精工电子有限公司");
    let contact = body["contacts"][0].clone();
    let mut many = vec![contact.clone()];
    for i in 0..8000 {
        let mut extra = contact.clone();
        extra["is_primary"] = json!(false);
        extra["mobile"] = json!(format!("137{:08}", i));
        many.push(extra);
    }
    body["contacts"] = json!(many);
    let refused = problem(
        app.as_user(Method::POST, "/api/v1/customers", &sales.token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "contacts");
    assert_eq!(refused["errors"][0]["code"], "too_many");
    body["contacts"] = json!(many[..50].to_vec());
    json(
        app.as_user(Method::POST, "/api/v1/customers", &sales.token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
}
