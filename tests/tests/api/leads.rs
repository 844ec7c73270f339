//! Leads: intake by integrators and reps, imports (JSON and CSV in every encoding a
//! spreadsheet writes), duplicates, routing by rules, assignment, disqualification.

use std::collections::HashMap;

use crm_domain::access::Role;
use crm_tests::{TestApp, TestUser, customer_body, json, problem};
use reqwest::Method;
use serde_json::{Value, json};

/// A random valid mainland mobile number.
pub fn mobile() -> String {
    format!("137{:08}", uuid::Uuid::new_v4().as_u128() % 100_000_000)
}

/// Creates an API key with `scopes` as `admin`; returns the secret.
pub async fn api_key(app: &TestApp, admin: &TestUser, scopes: &[&str]) -> (String, String) {
    let created = json(
        app.as_user(Method::POST, "/api/v1/api-keys", &admin.token)
            .json(&json!({"name": "官网表单", "scopes": scopes}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    (
        created["key"].as_str().unwrap().to_owned(),
        created["id"].as_str().unwrap().to_owned(),
    )
}

/// Creates an assignment rule as `manager`.
pub async fn rule(app: &TestApp, manager: &TestUser, body: Value) -> Value {
    json(
        app.as_user(Method::POST, "/api/v1/assignment-rules", &manager.token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await
}

/// Imports `leads` as JSON with a bearer token; asserts 200.
async fn import(app: &TestApp, token: &str, leads: Value) -> Value {
    json(
        app.as_user(Method::POST, "/api/v1/leads/import", token)
            .json(&json!({"leads": leads}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

async fn list(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    json(
        app.as_user(Method::GET, &format!("/api/v1/leads{query}"), token)
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

fn post_csv(app: &TestApp, token: &str, bytes: Vec<u8>) -> reqwest::RequestBuilder {
    app.as_user(Method::POST, "/api/v1/leads/import", token)
        .header("content-type", "text/csv")
        .body(bytes)
}

#[tokio::test]
async fn an_integrator_key_creates_leads_and_reads_back_only_its_own() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let sales = app.user(Role::Sales).await;
    let (key, key_id) = api_key(&app, &admin, &["leads:write"]).await;
    let (other_key, _) = api_key(&app, &admin, &["leads:write"]).await;

    let form = json!({"source": "website", "source_detail": "官网 /contact 表单",
        "company_name": "苏州工业园区精密模具有限公司", "contact_name": "王磊",
        "mobile": mobile(), "needs": "询价 200 套温控模块", "external_id": "form-000123"});
    let response = app
        .request(Method::POST, "/api/v1/leads")
        .header("X-API-Key", &key)
        .json(&form)
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let lead = json(response, 201).await;
    assert_eq!(lead["status"], "new");
    assert_eq!(lead["created_by_api_key_id"], key_id.as_str());
    assert_eq!(lead["created_by_user_id"], Value::Null);
    assert_eq!(lead["owner_id"], Value::Null);
    assert_eq!(
        location,
        format!("/api/v1/leads/{}", lead["id"].as_str().unwrap())
    );

    // The form posts again (a retry, a double click): the same lead, answered 200.
    let again = json(
        app.request(Method::POST, "/api/v1/leads")
            .header("X-API-Key", &key)
            .json(&form)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(again["id"], lead["id"]);
    // Another integrator's id space is its own.
    let theirs = json(
        app.request(Method::POST, "/api/v1/leads")
            .header("X-API-Key", &other_key)
            .json(&form)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_ne!(theirs["id"], lead["id"]);

    // It reads back its own leads, and nothing else exists for it.
    let mine = app
        .request(Method::GET, "/api/v1/leads")
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    let mine = json(mine, 200).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], lead["id"]);
    let response = app
        .request(
            Method::GET,
            &format!("/api/v1/leads/{}", theirs["id"].as_str().unwrap()),
        )
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    problem(response, 404, "not_found").await;
    for (method, path) in [
        (Method::GET, "/api/v1/customers"),
        (Method::GET, "/api/v1/opportunities"),
        (Method::GET, "/api/v1/assignment-rules"),
        (
            Method::POST,
            &format!("/api/v1/leads/{}/convert", lead["id"].as_str().unwrap()),
        ),
    ] {
        let response = app
            .request(method, path)
            .header("X-API-Key", &key)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        problem(response, 403, "forbidden").await;
    }
    // A rep creating a lead keeps it.
    let own = json(
        app.as_user(Method::POST, "/api/v1/leads", &sales.token)
            .json(
                &json!({"source": "phone", "company_name": "杭州西湖电子科技有限公司",
                "contact_name": "李娜", "email": "lina@example.com"}),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(own["owner_id"], sales.id.to_string());
    assert_eq!(own["status"], "following");
    assert_eq!(own["assigned_by"], "creator");
    assert_eq!(own["created_by_user_id"], sales.id.to_string());

    // A lead duplicating a customer is flagged for the integrator, without naming the
    // customer, which the key may not see; the customer's owner sees which it is.
    let customer = app
        .create_customer(&sales.token, &customer_body("南京既有客户有限公司"))
        .await;
    let same = customer["contacts"][0]["mobile"].as_str().unwrap();
    let flagged = json(
        app.request(Method::POST, "/api/v1/leads")
            .header("X-API-Key", &key)
            .json(&json!({"source": "website", "company_name": "南京既有客户有限公司", "contact_name": "张伟", "mobile": same}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(flagged["duplicate_of"]["reasons"], json!(["same_mobile"]));
    assert_eq!(flagged["duplicate_of"]["customer_id"], Value::Null);
    let seen = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/leads/{}", flagged["id"].as_str().unwrap()),
            &sales.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(seen["duplicate_of"]["customer_id"], customer["id"]);
    assert_eq!(seen["owner_id"], sales.id.to_string());
    // The change log names what the key may not see: people only.
    let response = app
        .request(
            Method::GET,
            &format!("/api/v1/leads/{}/history", flagged["id"].as_str().unwrap()),
        )
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    problem(response, 403, "forbidden").await;
    // Once the rep converts it, the key reads the lead back without the customer or deal.
    let converted = json(
        app.as_user(Method::POST, &format!("/api/v1/leads/{}/convert", flagged["id"].as_str().unwrap()), &sales.token)
            .json(&json!({"customer_id": customer["id"], "opportunity": {"amount": "100.00", "expected_close_date": "2030-01-31", "probability": 30}}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(converted["lead"]["customer_id"], customer["id"]);
    let read_back = json(
        app.request(
            Method::GET,
            &format!("/api/v1/leads/{}", flagged["id"].as_str().unwrap()),
        )
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(read_back["status"], "converted");
    assert_eq!(read_back["customer_id"], Value::Null);
    assert_eq!(read_back["opportunity_id"], Value::Null);

    // Admins choose from the known scopes only.
    let response = app
        .as_user(Method::POST, "/api/v1/api-keys", &admin.token)
        .json(&json!({"name": "x", "scopes": ["leads:delete"]}))
        .send()
        .await
        .unwrap();
    problem(response, 422, "validation_failed").await;
}

#[tokio::test]
async fn a_fair_spreadsheet_in_gb18030_goes_in_with_one_request() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    let [rep_a, rep_b, owner] = [
        app.user(Role::Sales).await,
        app.user(Role::Sales).await,
        app.user(Role::Sales).await,
    ];
    // Fair leads from Guangdong go to reps A and B in turn; nothing else matches.
    rule(
        &app,
        &manager,
        json!({"name": "广东展会", "regions": ["44"], "sources": ["fair"],
               "assignees": [rep_a.id, rep_b.id]}),
    )
    .await;
    let mut existing = customer_body("深圳南山既有客户有限公司");
    existing["region"] = json!("44");
    let existing = app.create_customer(&owner.token, &existing).await;
    let existing_uscc = existing["uscc"].as_str().unwrap().to_owned();
    let existing_mobile = existing["contacts"][0]["mobile"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut csv = String::from(
        "来源,来源说明,公司名称,统一社会信用代码,联系人,手机,邮箱,省份代码,行业代码,需求描述,外部编号\n",
    );
    // Consecutive numbers from a random start: a thousand random ones would collide now and
    // then, and a collision is a duplicate the counts below do not expect.
    let base = uuid::Uuid::new_v4().as_u128() % 99_990_000;
    let seq = |k: u128| format!("137{:08}", base + k);
    let mut mobiles = Vec::new();
    for i in 0..996 {
        let m = seq(i);
        mobiles.push(m.clone());
        csv.push_str(&format!(
            "展会,2026 广交会 B 馆,广州第{i}号机电设备有限公司,,张{i},{m},,44,C35,\"需要报价, 约 {i} 台\",scan-{i}\n"
        ));
    }
    // Line 998: the existing customer's USCC; 999: the mobile of the row on line 2;
    // 1000: a bad mobile and a made-up industry; 1001: outside the rule.
    csv.push_str(&format!(
        "展会,,既有客户的采购部,{existing_uscc},周强,{},,44,,,\n",
        seq(996)
    ));
    csv.push_str(&format!(
        "展会,,重复名片有限公司,,赵敏,{},,44,,,\n",
        mobiles[0]
    ));
    csv.push_str("展会,,错误行有限公司,,钱进,12345,,44,Z99,,\n");
    csv.push_str(&format!(
        "电话,,北京来电咨询有限公司,,孙红,{},,11,,,\n",
        seq(997)
    ));
    let (bytes, _, _) = encoding_rs::GB18030.encode(&csv);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file must really be GB18030"
    );

    let report = json(
        post_csv(&app, &rep_a.token, bytes.into_owned())
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let summary = &report["summary"];
    assert_eq!(summary["received"], 1000, "{summary}");
    assert_eq!(summary["created"], 997, "{summary}");
    assert_eq!(summary["duplicates"], 2, "{summary}");
    assert_eq!(summary["invalid"], 1, "{summary}");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1000);
    // Rows carry their line numbers in the file.
    assert_eq!(rows[0]["row"], 2);
    let by_line: HashMap<u64, &Value> = rows
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r))
        .collect();
    let customer_dup = by_line[&998];
    assert_eq!(customer_dup["status"], "duplicate");
    // The importing rep may not see that customer: flagged, but not named.
    assert_eq!(customer_dup["duplicate_of"]["customer_id"], Value::Null);
    assert_eq!(
        customer_dup["duplicate_of"]["reasons"],
        json!(["same_uscc"])
    );
    // A lead of an existing customer goes to that customer's owner.
    assert_eq!(customer_dup["owner_id"], owner.id.to_string());
    let theirs = list(&app, &owner.token, "").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["duplicate_of"]["customer_id"], existing["id"]);
    let lead_dup = by_line[&999];
    assert_eq!(lead_dup["status"], "duplicate");
    assert_eq!(lead_dup["duplicate_of"]["lead_id"], by_line[&2]["lead_id"]);
    assert_eq!(lead_dup["duplicate_of"]["reasons"], json!(["same_mobile"]));
    let bad = by_line[&1000];
    assert_eq!(bad["status"], "invalid");
    assert_eq!(bad["lead_id"], Value::Null);
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"mobile") && fields.contains(&"industry_code"),
        "{bad}"
    );

    // The importing rep is a sales rep, so the rows are theirs unless a customer's owner
    // claims them; a manager's import is routed by the rules instead (below).
    assert_eq!(by_line[&2]["owner_id"], rep_a.id.to_string());

    // The same fair, imported by a manager: the rule shares the leads out evenly.
    let mut csv = String::from("来源,公司名称,联系人,手机,省份代码\n");
    for i in 0..100 {
        csv.push_str(&format!(
            "展会,深圳第{i}号电子有限公司,林{i},{},44\n",
            mobile()
        ));
    }
    csv.push_str(&format!("展会,深圳老客户,周强,{existing_mobile},44\n"));
    csv.push_str(&format!("电话,北京来电,孙红,{},11\n", mobile()));
    let (bytes, _, _) = encoding_rs::GB18030.encode(&csv);
    let report = json(
        post_csv(&app, &manager.token, bytes.into_owned())
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let rows = report["rows"].as_array().unwrap();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for row in &rows[..100] {
        *counts
            .entry(row["owner_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(counts[&rep_a.id.to_string()], 50, "{counts:?}");
    assert_eq!(counts[&rep_b.id.to_string()], 50, "{counts:?}");
    assert_eq!(
        rows[100]["owner_id"],
        owner.id.to_string(),
        "contact's mobile → customer's owner"
    );
    assert_eq!(rows[100]["duplicate_of"]["reasons"], json!(["same_mobile"]));
    assert_eq!(
        rows[101]["owner_id"],
        Value::Null,
        "no rule matches: the managers' queue"
    );
    assert_eq!(report["summary"]["assigned"], 101);

    // The managers' queue, the duplicates, and a rep's own view.
    let queue = list(&app, &manager.token, "?unassigned=true&limit=200").await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["status"], "new");
    let dups = list(&app, &admin.token, "?duplicates=true&limit=200").await;
    assert_eq!(dups.len(), 3);
    let bs = list(&app, &rep_b.token, "?limit=200").await;
    assert_eq!(bs.len(), 50);
    assert!(
        bs.iter()
            .all(|l| l["owner_id"] == rep_b.id.to_string() && l["status"] == "following")
    );
    // A lead's history shows how it was assigned.
    let id = rows[0]["lead_id"].as_str().unwrap();
    let history = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/leads/{id}/history"),
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let created = &history["items"][0];
    assert_eq!(created["action"], "created");
    assert_eq!(created["changes"]["assigned_by"]["to"], "rule");
}

#[tokio::test]
async fn csv_files_in_utf8_with_and_without_bom_english_headers_and_multipart() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let body = |bom: bool, i: usize| {
        let mut bytes = if bom {
            vec![0xEF, 0xBB, 0xBF]
        } else {
            Vec::new()
        };
        bytes.extend_from_slice(
            format!(
                "source,company_name,contact_name,mobile,email\nwebsite,成都第{i}软件有限公司,何{i},{},\nreferral,\"Acme, Ltd.\",Bob,,bob{i}@example.com\n",
                mobile()
            )
            .as_bytes(),
        );
        bytes
    };
    for (i, bom) in [(1, false), (2, true)] {
        let report = json(
            post_csv(&app, &manager.token, body(bom, i))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(report["summary"]["created"], 2, "{report}");
    }
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(body(true, 3))
            .file_name("线索.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    let report = json(
        app.as_user(Method::POST, "/api/v1/leads/import", &manager.token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(report["summary"]["created"], 2, "{report}");
    let names: Vec<String> = list(&app, &manager.token, "?q=Acme")
        .await
        .iter()
        .map(|l| l["company_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["Acme, Ltd."; 3]);

    // The template comes in both languages, and reads back as an import.
    let template = app
        .as_user(Method::GET, "/api/v1/leads/import/template", &manager.token)
        .send()
        .await
        .unwrap();
    assert_eq!(template.status(), 200);
    assert!(
        template.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = template.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    assert!(String::from_utf8_lossy(&bytes).contains("公司名称"));
    let report = json(
        post_csv(&app, &manager.token, bytes.to_vec())
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(report["summary"]["received"], 1, "{report}");
    assert_eq!(report["rows"][0]["status"], "created", "{report}");
    let english = app
        .as_user(
            Method::GET,
            "/api/v1/leads/import/template?lang=en",
            &manager.token,
        )
        .send()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&english.bytes().await.unwrap()).contains("company_name"));
}

#[tokio::test]
async fn a_bad_file_is_refused_whole_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let header = "source,company_name,contact_name,mobile\n";
    let row = |i: usize| format!("fair,第{i}号有限公司,张三,{}\n", mobile());

    // An unknown column.
    let response = post_csv(
        &app,
        &manager.token,
        format!(
            "source,company_name,contact_name,mobile,wechat\n{}",
            row(1).trim_end().to_owned() + ",x\n"
        )
        .into_bytes(),
    )
    .send()
    .await
    .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "columns[4]");
    assert_eq!(body["errors"][0]["code"], "unknown_column");
    // A missing required column.
    let response = post_csv(
        &app,
        &manager.token,
        b"source,contact_name,mobile\nfair,x,13800138000\n".to_vec(),
    )
    .send()
    .await
    .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "missing_column");
    // 1,001 rows: the 1,001st is named by its line.
    let mut big = header.to_owned();
    for i in 0..1001 {
        big.push_str(&row(i));
    }
    let response = post_csv(&app, &manager.token, big.into_bytes())
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "rows[1002]");
    // A row with a field too many: not CSV as the header says.
    let response = post_csv(
        &app,
        &manager.token,
        format!("{header}{}fair,x,y,13800138000,extra\n", row(1)).into_bytes(),
    )
    .send()
    .await
    .unwrap();
    let body = problem(response, 400, "malformed_csv").await;
    assert!(
        body["detail"].as_str().unwrap().contains("line 3"),
        "{body}"
    );
    // UTF-16, as Excel's "Unicode text" saves it.
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in format!("{header}{}", row(1)).encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    problem(
        post_csv(&app, &manager.token, utf16).send().await.unwrap(),
        400,
        "malformed_csv",
    )
    .await;
    // Only a header.
    problem(
        post_csv(&app, &manager.token, header.as_bytes().to_vec())
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    // Neither JSON nor CSV.
    let response = app
        .as_user(Method::POST, "/api/v1/leads/import", &manager.token)
        .header("content-type", "application/xml")
        .body("<leads/>")
        .send()
        .await
        .unwrap();
    problem(response, 415, "unsupported_media_type").await;
    // JSON: 1,001 leads, none, or not a list.
    let many: Vec<Value> = (0..1001).map(|i| json!({"source": "fair", "company_name": format!("第{i}号公司"), "contact_name": "x", "mobile": mobile()})).collect();
    let response = app
        .as_user(Method::POST, "/api/v1/leads/import", &manager.token)
        .json(&json!({"leads": many}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "leads");
    let response = app
        .as_user(Method::POST, "/api/v1/leads/import", &manager.token)
        .json(&json!({"leads": []}))
        .send()
        .await
        .unwrap();
    problem(response, 422, "validation_failed").await;
    let response = app
        .as_user(Method::POST, "/api/v1/leads/import", &manager.token)
        .json(&json!({"leads": "x"}))
        .send()
        .await
        .unwrap();
    problem(response, 422, "validation_failed").await;

    assert!(
        list(&app, &manager.token, "").await.is_empty(),
        "nothing may be written"
    );
}

#[tokio::test]
async fn json_imports_answer_each_row_and_a_retry_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let (key, _) = api_key(&app, &admin, &["leads:write"]).await;
    let m = mobile();
    let leads = json!([
        {"source": "fair", "company_name": "展会名片一有限公司", "contact_name": "甲", "mobile": m, "external_id": "badge-1"},
        {"source": "fair", "company_name": "展会名片二有限公司", "contact_name": "乙", "email": "yi@example.com", "external_id": "badge-2"},
        // Missing the contact, wrong type, unknown field: each answered on its own row.
        {"source": "fair", "company_name": "缺联系人有限公司", "mobile": mobile()},
        {"source": "fair", "company_name": 42, "contact_name": "丙", "mobile": mobile()},
        {"source": "fair", "company_name": "多字段有限公司", "contact_name": "丁", "mobile": mobile(), "fax": "1"},
        // A resident ID number in free text never enters the system.
        {"source": "fair", "company_name": "隐私有限公司", "contact_name": "戊", "mobile": mobile(), "needs": "身份证 11010519491231002X"},
        {"source": "moon", "company_name": "来源错误有限公司", "contact_name": "己"},
        // The same badge scanned twice in one upload.
        {"source": "fair", "company_name": "展会名片一有限公司", "contact_name": "甲", "mobile": m, "external_id": "badge-1"},
    ]);
    let send = |key_header: &'static str| {
        app.request(Method::POST, "/api/v1/leads/import")
            .header("X-API-Key", &key)
            .header("Idempotency-Key", key_header)
            .json(&json!({"leads": leads}))
    };
    let first = json(send("fair-2026-upload-1").send().await.unwrap(), 200).await;
    let statuses: Vec<&str> = first["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "created", "created", "invalid", "invalid", "invalid", "invalid", "invalid", "existing"
        ]
    );
    let rows = first["rows"].as_array().unwrap();
    assert_eq!(rows[2]["errors"][0]["field"], "contact_name");
    assert_eq!(rows[3]["errors"][0]["field"], "company_name");
    assert_eq!(rows[4]["errors"][0]["code"], "unknown_field");
    assert_eq!(rows[5]["errors"][0]["field"], "needs");
    assert!(!first.to_string().contains("11010519491231002X"));
    let fields: Vec<&str> = rows[6]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"source") && fields.contains(&"mobile"),
        "{fields:?}"
    );
    assert_eq!(rows[7]["lead_id"], rows[0]["lead_id"]);

    // A retry with the same key: the first answer, nothing new.
    let response = send("fair-2026-upload-1").send().await.unwrap();
    assert_eq!(response.headers()["idempotent-replayed"], "true");
    assert_eq!(json(response, 200).await, first);
    // Without the key, the external ids still protect against doubles.
    let again = json(send("fair-2026-upload-2").send().await.unwrap(), 200).await;
    assert_eq!(again["summary"]["existing"], 3);
    assert_eq!(again["summary"]["created"], 0);
    let all = json(
        app.request(Method::GET, "/api/v1/leads")
            .header("X-API-Key", &key)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn leads_are_listed_filtered_paged_and_edited_by_those_who_see_them() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let rep = app.user(Role::Sales).await;
    let other = app.user(Role::Sales).await;
    let leads: Vec<Value> = (0..5)
        .map(|i| json!({"source": if i % 2 == 0 {"fair"} else {"website"}, "company_name": format!("第{i}号过滤测试有限公司"),
            "contact_name": format!("测{i}"), "mobile": mobile(), "region": if i < 3 {"44"} else {"11"}, "industry_code": if i < 2 {"C35"} else {"I65"}}))
        .collect();
    let report = import(&app, &rep.token, json!(leads)).await;
    assert_eq!(report["summary"]["created"], 5);
    let one = report["rows"][0]["lead_id"].as_str().unwrap().to_owned();

    assert_eq!(list(&app, &rep.token, "?source=fair").await.len(), 3);
    assert_eq!(list(&app, &rep.token, "?region=11").await.len(), 2);
    assert_eq!(list(&app, &rep.token, "?industry=C").await.len(), 2);
    assert_eq!(
        list(&app, &rep.token, "?industry=I65&region=44")
            .await
            .len(),
        1
    );
    assert_eq!(list(&app, &rep.token, "?q=第3号").await.len(), 1);
    assert_eq!(list(&app, &rep.token, "?status=following").await.len(), 5);
    assert_eq!(
        list(&app, &manager.token, &format!("?owner_id={}", rep.id))
            .await
            .len(),
        5
    );
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let q = format!("?received_from={}", urlencoding(&future));
    assert_eq!(list(&app, &rep.token, &q).await.len(), 0);
    let q = format!("?received_to={}", urlencoding(&future));
    assert_eq!(list(&app, &rep.token, &q).await.len(), 5);
    assert!(
        list(&app, &other.token, "").await.is_empty(),
        "another rep sees none"
    );
    let response = app
        .as_user(Method::GET, &format!("/api/v1/leads/{one}"), &other.token)
        .send()
        .await
        .unwrap();
    problem(response, 404, "not_found").await;
    let response = app
        .as_user(Method::GET, "/api/v1/leads?status=lost", &rep.token)
        .send()
        .await
        .unwrap();
    problem(response, 400, "invalid_parameter").await;

    // Keyset pages, newest first, each lead once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/leads?limit=2&cursor={c}"),
            None => "/api/v1/leads?limit=2".to_owned(),
        };
        let page = json(
            app.as_user(Method::GET, &path, &rep.token)
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(
        seen.iter().collect::<std::collections::HashSet<_>>().len(),
        5
    );

    // Merge patch with If-Match; the privacy guard; the history.
    let path = format!("/api/v1/leads/{one}");
    let response = app
        .as_user(Method::PATCH, &path, &rep.token)
        .json(&json!({"needs": "x"}))
        .send()
        .await
        .unwrap();
    problem(response, 428, "precondition_required").await;
    let response = app
        .as_user(Method::PATCH, &path, &other.token)
        .json(&json!({"needs": "x"}))
        .send()
        .await
        .unwrap();
    problem(response, 404, "not_found").await;
    let response = app
        .as_user(Method::PATCH, &path, &rep.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"needs": "卡号 6222 0212 3456 7890 128", "email": null}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "needs");
    let response = app
        .as_user(Method::PATCH, &path, &rep.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"needs": "要 30 台", "source_detail": "电话回访"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["etag"], "\"2\"");
    let patched = json(response, 200).await;
    assert_eq!(patched["needs"], "要 30 台");
    let response = app
        .as_user(Method::PATCH, &path, &rep.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"needs": "y"}))
        .send()
        .await
        .unwrap();
    problem(response, 412, "precondition_failed").await;
    // New contact details are checked for duplicates again.
    let other_mobile = report["rows"][1]["lead_id"].as_str().unwrap();
    let other_lead = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/leads/{other_mobile}"),
            &rep.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let response = app
        .as_user(Method::PATCH, &path, &rep.token)
        .header("If-Match", "\"2\"")
        .json(&json!({"mobile": other_lead["mobile"]}))
        .send()
        .await
        .unwrap();
    let flagged = json(response, 200).await;
    assert_eq!(flagged["duplicate_of"]["lead_id"], other_lead["id"]);
    assert_eq!(flagged["duplicate_of"]["reasons"], json!(["same_mobile"]));
    assert_eq!(list(&app, &rep.token, "?duplicates=true").await.len(), 1);
    let history = json(
        app.as_user(Method::GET, &format!("{path}/history"), &rep.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let items = history["items"].as_array().unwrap();
    let updated = items
        .iter()
        .find(|h| h["action"] == "updated" && h["changes"]["needs"].is_object())
        .expect("an update entry");
    assert_eq!(updated["changes"]["needs"]["to"], "要 30 台");
    assert_eq!(updated["actor_id"], rep.id.to_string());
}

#[tokio::test]
async fn managers_assign_and_anyone_who_sees_a_lead_may_disqualify_it() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let rep = app.user(Role::Sales).await;
    let other = app.user(Role::Sales).await;
    let report = import(&app, &manager.token, json!([{"source": "other", "company_name": "待分配有限公司", "contact_name": "甲", "mobile": mobile()}])).await;
    let id = report["rows"][0]["lead_id"].as_str().unwrap().to_owned();
    assert_eq!(report["rows"][0]["owner_id"], Value::Null);

    let assign = format!("/api/v1/leads/{id}/assign");
    let response = app
        .as_user(Method::POST, &assign, &rep.token)
        .json(&json!({"owner_id": rep.id}))
        .send()
        .await
        .unwrap();
    problem(response, 403, "forbidden").await;
    let response = app
        .as_user(Method::POST, &assign, &manager.token)
        .json(&json!({"owner_id": uuid::Uuid::now_v7()}))
        .send()
        .await
        .unwrap();
    problem(response, 422, "validation_failed").await;
    let lead = json(
        app.as_user(Method::POST, &assign, &manager.token)
            .json(&json!({"owner_id": rep.id}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(lead["status"], "following");
    assert_eq!(lead["owner_id"], rep.id.to_string());
    assert_eq!(lead["assigned_by"], "manager");
    let lead = json(
        app.as_user(Method::POST, &assign, &manager.token)
            .json(&json!({"owner_id": other.id}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(lead["owner_id"], other.id.to_string());
    // The first rep no longer sees it.
    let response = app
        .as_user(Method::GET, &format!("/api/v1/leads/{id}"), &rep.token)
        .send()
        .await
        .unwrap();
    problem(response, 404, "not_found").await;
    let history = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/leads/{id}/history"),
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let assigned: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["action"] == "assigned")
        .collect();
    assert_eq!(assigned.len(), 2);
    // Newest first.
    assert_eq!(
        assigned[0]["changes"]["owner_id"]["to"],
        other.id.to_string()
    );
    assert_eq!(assigned[1]["changes"]["owner_id"]["to"], rep.id.to_string());

    let disqualify = format!("/api/v1/leads/{id}/disqualify");
    let response = app
        .as_user(Method::POST, &disqualify, &other.token)
        .json(&json!({"reason": ""}))
        .send()
        .await
        .unwrap();
    problem(response, 422, "validation_failed").await;
    let lead = json(
        app.as_user(Method::POST, &disqualify, &other.token)
            .json(&json!({"reason": "预算不足，明年再联系"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(lead["status"], "disqualified");
    assert_eq!(lead["disqualify_reason"], "预算不足，明年再联系");
    // Closed leads move no further.
    for (path, body) in [
        (assign.clone(), json!({"owner_id": rep.id})),
        (disqualify.clone(), json!({"reason": "again"})),
        (
            format!("/api/v1/leads/{id}/convert"),
            json!({"opportunity": {"amount": "1.00", "expected_close_date": "2027-01-01", "probability": 30}}),
        ),
    ] {
        let response = app
            .as_user(Method::POST, &path, &manager.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let body = problem(response, 409, "illegal_transition").await;
        assert!(
            body["detail"].as_str().unwrap().contains("disqualified"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn round_robin_stays_even_across_concurrent_imports_on_two_server_copies() {
    let app = TestApp::spawn().await;
    let twin = app.spawn_twin().await;
    let manager = app.user(Role::Manager).await;
    let reps = [
        app.user(Role::Sales).await,
        app.user(Role::Sales).await,
        app.user(Role::Sales).await,
    ];
    rule(&app, &manager, json!({"name": "全部网站线索", "sources": ["website"], "assignees": reps.iter().map(|r| r.id).collect::<Vec<_>>()})).await;
    let batch = |n: usize| -> Value {
        json!({"leads": (0..n).map(|i| json!({"source": "website", "company_name": format!("并发第{i}号有限公司"), "contact_name": "并发", "mobile": mobile()})).collect::<Vec<_>>()})
    };
    let mut requests = Vec::new();
    for i in 0..6 {
        let server = if i % 2 == 0 { &app } else { &twin };
        requests.push(
            server
                .as_user(Method::POST, "/api/v1/leads/import", &manager.token)
                .json(&batch(if i < 3 { 31 } else { 1 }))
                .send(),
        );
    }
    for response in futures_util::future::join_all(requests).await {
        json(response.unwrap(), 200).await;
    }
    // 96 leads over three reps: 32 each, whatever the interleaving.
    for rep in &reps {
        assert_eq!(list(&app, &rep.token, "?limit=200").await.len(), 32);
    }
}

fn urlencoding(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn control_characters_are_refused_in_text_and_in_query_parameters() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    // A NUL in a lead's text: 422 naming the field, on both databases alike.
    let response = app
        .as_user(Method::POST, "/api/v1/leads", &manager.token)
        .json(
            &json!({"source": "fair", "company_name": "控制\u{0}字符有限公司",
                      "contact_name": "张三", "mobile": mobile()}),
        )
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "company_name");
    assert_eq!(body["errors"][0]["code"], "invalid_character");
    // Line breaks and tabs in free text are fine.
    let response = app
        .as_user(Method::POST, "/api/v1/leads", &manager.token)
        .json(
            &json!({"source": "fair", "company_name": "换行测试有限公司", "contact_name": "李四",
                      "mobile": mobile(), "needs": "第一行\r\n第二行\t备注"}),
        )
        .send()
        .await
        .unwrap();
    json(response, 201).await;
    // In a query parameter: 400 naming it.
    for path in [
        "/api/v1/leads?q=%00",
        "/api/v1/customers?q=a%01b",
        "/api/v1/opportunities?status=open%00",
    ] {
        let response = app
            .as_user(Method::GET, path, &manager.token)
            .send()
            .await
            .unwrap();
        let body = problem(response, 400, "invalid_parameter").await;
        assert_eq!(body["errors"][0]["code"], "invalid_character", "{path}");
    }
    assert_eq!(list(&app, &manager.token, "").await.len(), 1);
}
