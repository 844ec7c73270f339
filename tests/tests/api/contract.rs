//! The server accepts what the OpenAPI document declares and refuses what it does not, in
//! the shared paths (body decoding, text checks, query parsing, routing): each case here is
//! one a schema fuzzer found the two disagreeing on.

use crm_domain::access::Role;
use crm_tests::{TestApp, customer_body, json, problem};
use reqwest::Method;
use serde_json::json as j;

fn field(problem: &serde_json::Value, index: usize) -> (&str, &str) {
    (
        problem["errors"][index]["field"]
            .as_str()
            .unwrap_or_default(),
        problem["errors"][index]["code"]
            .as_str()
            .unwrap_or_default(),
    )
}

#[tokio::test]
async fn an_integral_number_written_with_a_fraction_is_an_integer() {
    let app = TestApp::spawn().await;
    let rep = app.user(Role::Sales).await;
    let customer = app
        .create_customer(&rep.token, &customer_body("整数评分有限公司"))
        .await;
    let path = format!(
        "/api/v1/customers/{}/surveys",
        customer["id"].as_str().unwrap()
    );
    // JSON Schema's `integer` holds 3.0; so does the server.
    let response = app
        .as_user(Method::POST, &path, &rep.token)
        .json(&j!({"product_satisfaction": 3.0, "service_satisfaction": 4}))
        .send()
        .await
        .unwrap();
    let survey = json(response, 201).await;
    assert_eq!(survey["product_satisfaction"], 3);
    // A real fraction is still no integer.
    let response = app
        .as_user(Method::POST, &path, &rep.token)
        .json(&j!({"product_satisfaction": 3.5, "service_satisfaction": 4}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(field(&body, 0).0, "product_satisfaction");
}

#[tokio::test]
async fn text_is_checked_as_sent_in_every_body() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let rep = app.user(Role::Sales).await;
    let customer = app
        .create_customer(&rep.token, &customer_body("文本边界有限公司"))
        .await;
    let contacts = format!(
        "/api/v1/customers/{}/contacts",
        customer["id"].as_str().unwrap()
    );
    // An empty email is no email address: `null` (or leaving it out) says "none".
    let response = app
        .as_user(Method::POST, &contacts, &rep.token)
        .json(&j!({"name": "王五", "title": "经理", "mobile": "13912345678", "email": ""}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(field(&body, 0), ("email", "invalid_format"));
    // A C1 control character (U+009B) in a name the old check let through.
    let response = app
        .as_user(Method::POST, "/api/v1/api-keys", &admin.token)
        .json(&j!({"name": "官网\u{9b}表单", "scopes": ["leads:write"]}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(field(&body, 0), ("name", "invalid_character"));
    // The upper bound counts what was sent, padding included.
    let padded = format!("{}  ", "长".repeat(99));
    let response = app
        .as_user(Method::POST, "/api/v1/tags", &admin.token)
        .json(&j!({"name": format!("{}{padded}", "签")}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(field(&body, 0), ("name", "too_long"));
    // Lists are counted as sent: 21 tags are too many even when they repeat.
    let tags = format!(
        "/api/v1/customers/{}/tags",
        customer["id"].as_str().unwrap()
    );
    let etag = app
        .as_user(
            Method::GET,
            &format!("/api/v1/customers/{}", customer["id"].as_str().unwrap()),
            &rep.token,
        )
        .send()
        .await
        .unwrap()
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let response = app
        .as_user(Method::PUT, &tags, &rep.token)
        .header("If-Match", etag)
        .json(&j!({"tags": vec!["重复"; 21]}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(field(&body, 0), ("tags", "too_many"));
}

#[tokio::test]
async fn a_rule_is_created_with_its_required_fields() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let response = app
        .as_user(Method::POST, "/api/v1/assignment-rules", &manager.token)
        .json(&j!({"name": "华东线索"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(field(&body, 0).0, "assignees");
}

#[tokio::test]
async fn query_parameters_are_bounded_alike_on_every_list() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let get = |path: String| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            app.as_user(Method::GET, &path, &token)
                .send()
                .await
                .unwrap()
        }
    };
    let long = "a".repeat(1001);
    let body = problem(
        get(format!("/api/v1/customers?q={long}")).await,
        400,
        "invalid_parameter",
    )
    .await;
    assert_eq!(field(&body, 0), ("q", "too_long"));
    let many: String = (0..21).map(|i| format!("tag=t{i}&")).collect();
    let body = problem(
        get(format!("/api/v1/customers?{many}")).await,
        400,
        "invalid_parameter",
    )
    .await;
    assert_eq!(field(&body, 0), ("tag", "too_many"));
    // An empty cursor is no cursor of any list.
    for path in [
        "/api/v1/tags?cursor=",
        "/api/v1/customers?cursor=",
        "/api/v1/users?cursor=",
    ] {
        problem(get(path.to_owned()).await, 400, "invalid_parameter").await;
    }
    // Declared bounds hold: the maximum of inactive_days, the pattern of a region.
    problem(
        get("/api/v1/users?inactive_days=36501".to_owned()).await,
        400,
        "invalid_parameter",
    )
    .await;
    json(
        get("/api/v1/users?inactive_days=36500".to_owned()).await,
        200,
    )
    .await;
    problem(
        get("/api/v1/leads?region=".to_owned()).await,
        400,
        "invalid_parameter",
    )
    .await;
}

#[tokio::test]
async fn a_fixed_path_refuses_other_methods_with_405() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    // `/customers/at-risk` is not a customer whose id failed to parse.
    for method in [Method::PATCH, Method::DELETE] {
        let response = app
            .as_user(method.clone(), "/api/v1/customers/at-risk", &admin.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], "GET", "{method}");
        problem(response, 405, "method_not_allowed").await;
    }
}

#[tokio::test]
async fn an_upload_holds_the_file_part_only() {
    let app = TestApp::spawn().await;
    let rep = app.user(Role::Sales).await;
    let customer = app
        .create_customer(&rep.token, &customer_body("附件表单有限公司"))
        .await;
    let path = format!(
        "/api/v1/customers/{}/attachments",
        customer["id"].as_str().unwrap()
    );
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4\n%%EOF".to_vec()).file_name("a.pdf"),
        )
        .text("note", "营业执照");
    let response = app
        .as_user(Method::POST, &path, &rep.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    problem(response, 400, "bad_request").await;
}

#[tokio::test]
async fn what_a_lead_lacks_for_a_customer_is_missing_not_malformed() {
    let app = TestApp::spawn().await;
    let rep = app.user(Role::Sales).await;
    // Only an email: no mobile, no USCC, no industry.
    let lead = json(
        app.as_user(Method::POST, "/api/v1/leads", &rep.token)
            .json(
                &j!({"source": "website", "company_name": "只有邮箱的线索有限公司",
                       "contact_name": "钱八", "email": "qian@example.com"}),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let id = lead["id"].as_str().unwrap();
    let body = problem(
        app.as_user(Method::POST, &format!("/api/v1/leads/{id}/convert"), &rep.token)
            .json(&j!({"opportunity": {"amount": "1000.00", "expected_close_date": "2030-01-31", "probability": 30}}))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let mut errors: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    errors.sort_unstable();
    assert_eq!(
        errors,
        [
            ("customer.contact_title", "required"),
            ("industry_code", "required"),
            ("mobile", "required"),
            ("uscc", "required"),
        ],
        "{body}"
    );
}
