//! Attachments, duplicates and merge, purge, and the tag catalogue.

use crm_domain::access::Role;
use crm_tests::{TestApp, TestUser, customer_body, json, problem};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0xFF, 0xD9,
];
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

async fn upload(
    app: &TestApp,
    user: &TestUser,
    customer: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str("application/octet-stream")
            .unwrap(),
    );
    app.as_user(
        Method::POST,
        &format!("/api/v1/customers/{customer}/attachments"),
        &user.token,
    )
    .multipart(form)
    .send()
    .await
    .unwrap()
}

fn files_in(dir: &std::path::Path) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    walk(dir)
}

#[tokio::test]
async fn attachments_accept_pdf_and_jpeg_by_their_bytes_only() {
    let app = TestApp::spawn().await;
    let sales = app.user(Role::Sales).await;
    let other = app.user(Role::Sales).await;
    let customer = app
        .create_customer(&sales.token, &customer_body("苏州工业园精工有限公司"))
        .await;
    let id = customer["id"].as_str().unwrap();

    let response = upload(&app, &sales, id, "营业执照.pdf", PDF.to_vec()).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let pdf = json(response, 201).await;
    assert_eq!(pdf["content_type"], "application/pdf");
    assert_eq!(pdf["filename"], "营业执照.pdf");
    assert_eq!(pdf["size"], PDF.len());
    assert_eq!(pdf["sha256"].as_str().unwrap().len(), 64);
    // A JPEG named .pdf is still a JPEG.
    let jpeg = json(
        upload(&app, &sales, id, "合同.pdf", JPEG.to_vec()).await,
        201,
    )
    .await;
    assert_eq!(jpeg["content_type"], "image/jpeg");
    // A PNG named .jpg is refused.
    problem(
        upload(&app, &sales, id, "photo.jpg", PNG.to_vec()).await,
        415,
        "unsupported_media_type",
    )
    .await;
    problem(
        upload(&app, &sales, id, "empty.pdf", Vec::new()).await,
        415,
        "unsupported_media_type",
    )
    .await;
    let mut big = PDF.to_vec();
    big.resize(5 * 1024 * 1024 + 1, b' ');
    problem(
        upload(&app, &sales, id, "big.pdf", big).await,
        413,
        "payload_too_large",
    )
    .await;
    let response = app
        .as_user(
            Method::POST,
            &format!("/api/v1/customers/{id}/attachments"),
            &sales.token,
        )
        .multipart(Form::new().text("note", "no file here"))
        .send()
        .await
        .unwrap();
    problem(response, 400, "bad_request").await;

    let response = app
        .as_user(Method::GET, &location, &sales.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), PDF);
    problem(
        app.as_user(Method::GET, &location, &other.token)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;

    let list = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{id}/attachments"),
            &sales.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(files_in(app.files_dir.path()), 2);
    assert_eq!(
        app.as_user(Method::DELETE, &location, &sales.token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(files_in(app.files_dir.path()), 1);
    problem(
        app.as_user(Method::GET, &location, &sales.token)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn finds_likely_duplicates_and_merges_everything_onto_the_survivor() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let sales = app.user(Role::Sales).await;
    let mut first = customer_body("深圳市腾达科技有限公司");
    first["tags"] = json!(["a", "shared"]);
    let survivor = app.create_customer(&manager.token, &first).await;
    let mut second = customer_body("深圳市腾达科技（中国）有限责任公司");
    second["tags"] = json!(["b", "shared"]);
    second["contacts"] = json!([
        {"name": "周八", "title": "采购", "mobile": "13566667777", "email": "zhou@tengda.example", "is_primary": true},
        {"name": "吴九", "title": "财务", "mobile": "13566668888"}
    ]);
    let source = app.create_customer(&manager.token, &second).await;
    let mut third = customer_body("完全不同的名字有限公司");
    third["contacts"][0]["mobile"] = json!("13566667777");
    let by_mobile = app.create_customer(&manager.token, &third).await;
    app.create_customer(&manager.token, &customer_body("深圳市腾飞科技有限公司"))
        .await;
    let (sid, src) = (
        survivor["id"].as_str().unwrap(),
        source["id"].as_str().unwrap(),
    );

    let dupes = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{src}/duplicates"),
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let found: Vec<(String, Value)> = dupes
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["customer"]["id"].as_str().unwrap().to_owned(),
                d["reasons"].clone(),
            )
        })
        .collect();
    assert_eq!(found.len(), 2, "{dupes}");
    assert!(found.contains(&(sid.to_owned(), json!(["same_name"]))));
    assert!(found.contains(&(
        by_mobile["id"].as_str().unwrap().to_owned(),
        json!(["same_mobile"])
    )));

    let attachment = json(
        upload(&app, &manager, src, "合同.pdf", PDF.to_vec()).await,
        201,
    )
    .await;
    let response = app
        .as_user(
            Method::POST,
            &format!("/api/v1/customers/{sid}/merge"),
            &sales.token,
        )
        .json(&json!({"source_id": src}))
        .send()
        .await
        .unwrap();
    problem(response, 403, "forbidden").await;
    let response = app
        .as_user(
            Method::POST,
            &format!("/api/v1/customers/{sid}/merge"),
            &manager.token,
        )
        .json(&json!({"source_id": sid}))
        .send()
        .await
        .unwrap();
    problem(response, 409, "merge_into_self").await;
    let response = app
        .as_user(
            Method::POST,
            &format!("/api/v1/customers/{sid}/merge"),
            &manager.token,
        )
        .json(&json!({"source_id": src}))
        .send()
        .await
        .unwrap();
    let merged = json(response, 200).await;
    assert_eq!(merged["contacts"].as_array().unwrap().len(), 3);
    assert_eq!(
        merged["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["is_primary"] == true)
            .count(),
        1
    );
    assert_eq!(
        merged["contacts"][0]["id"], survivor["contacts"][0]["id"],
        "the survivor's primary stays primary"
    );
    assert_eq!(merged["tags"], json!(["a", "b", "shared"]));
    let attachments = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{sid}/attachments"),
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(attachments["items"][0]["id"], attachment["id"]);
    let history = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{sid}/history"),
            &manager.token,
        )
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
    assert_eq!(actions[0], "merged");
    assert_eq!(
        actions.iter().filter(|a| **a == "created").count(),
        2,
        "the source's history moved: {actions:?}"
    );
    let gone = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{src}"),
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        (
            gone["archived"].as_bool(),
            gone["contacts"].as_array().unwrap().len(),
            gone["tags"].as_array().unwrap().len()
        ),
        (Some(true), 0, 0)
    );
}

#[tokio::test]
async fn purge_leaves_no_personal_data_behind() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    let mut body = customer_body("大连星海渔业有限公司");
    body["needs"] = json!("老板手机 13912345678, 生日 3 月 8 日");
    body["address"] = json!("大连市中山区人民路 1 号");
    body["phone"] = json!("0411-88886666");
    body["tags"] = json!(["渔业"]);
    let customer = app.create_customer(&manager.token, &body).await;
    let id = customer["id"].as_str().unwrap();
    json(
        upload(&app, &manager, id, "营业执照.pdf", PDF.to_vec()).await,
        201,
    )
    .await;
    let path = format!("/api/v1/customers/{id}");
    app.as_user(Method::PATCH, &path, &manager.token)
        .header("If-Match", "\"2\"")
        .json(&json!({"needs": "第二版需求 陈静 13800138000"}))
        .send()
        .await
        .unwrap();

    problem(
        app.as_user(Method::POST, &format!("{path}/purge"), &manager.token)
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.as_user(Method::POST, &format!("{path}/purge"), &admin.token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    problem(
        app.as_user(Method::POST, &format!("{path}/purge"), &admin.token)
            .send()
            .await
            .unwrap(),
        409,
        "customer_purged",
    )
    .await;

    let purged = json(
        app.as_user(Method::GET, &path, &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(purged["contacts"], json!([]));
    assert_eq!(purged["tags"], json!([]));
    assert_eq!(
        (
            purged["needs"].clone(),
            purged["address"].clone(),
            purged["phone"].clone()
        ),
        (Value::Null, Value::Null, Value::Null)
    );
    assert_eq!(purged["archived"], true);
    assert!(purged["purged_at"].is_string());
    let attachments = json(
        app.as_user(Method::GET, &format!("{path}/attachments"), &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(attachments["items"], json!([]));
    assert_eq!(files_in(app.files_dir.path()), 0, "the bytes are gone too");
    let history = json(
        app.as_user(Method::GET, &format!("{path}/history"), &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
    assert_eq!(history["items"][0]["action"], "purged");
    assert_eq!(history["items"][0]["actor_id"], admin.id.to_string());
    assert_eq!(history["items"][0]["changes"], json!({}));
    let everything = format!("{purged}{history}");
    for personal in [
        "13912345678",
        "13800138000",
        "陈静",
        "人民路",
        "0411",
        "张伟",
    ] {
        assert!(
            !everything.contains(personal),
            "{personal} survived the purge"
        );
    }
    problem(
        app.as_user(Method::POST, &format!("{path}/restore"), &admin.token)
            .send()
            .await
            .unwrap(),
        409,
        "customer_purged",
    )
    .await;
}

#[tokio::test]
async fn tag_catalogue_renames_merges_and_deletes() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    let sales = app.user(Role::Sales).await;
    let mut body = customer_body("天津滨海化工有限公司");
    body["tags"] = json!(["投诉风险", "高潜力"]);
    let one = app.create_customer(&sales.token, &body).await;
    let mut body = customer_body("石家庄药业有限公司");
    body["tags"] = json!(["高潜力客户"]);
    app.create_customer(&sales.token, &body).await;

    let list = json(
        app.as_user(Method::GET, "/api/v1/tags", &manager.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let by_name = |list: &Value, name: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
    };
    let short = by_name(&list, "高潜力").unwrap();
    assert_eq!(short["usage_count"], 1);
    let response = app
        .as_user(Method::POST, "/api/v1/tags", &sales.token)
        .json(&json!({"name": "高潜力"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 409, "duplicate_tag").await["existing_id"],
        short["id"]
    );
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/tags/{}", short["id"].as_str().unwrap()),
            &sales.token,
        )
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    problem(response, 403, "forbidden").await;

    // Renaming onto an existing name merges.
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/tags/{}", short["id"].as_str().unwrap()),
            &manager.token,
        )
        .json(&json!({"name": "高潜力客户"}))
        .send()
        .await
        .unwrap();
    let merged = json(response, 200).await;
    assert_eq!(
        (merged["name"].as_str(), merged["usage_count"].as_i64()),
        (Some("高潜力客户"), Some(2))
    );
    let customer = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{}", one["id"].as_str().unwrap()),
            &sales.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(customer["tags"], json!(["投诉风险", "高潜力客户"]));

    let risk = by_name(&list, "投诉风险").unwrap();
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/tags/{}", risk["id"].as_str().unwrap()),
            &manager.token,
        )
        .json(&json!({"name": "投诉预警"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response, 200).await["name"], "投诉预警");
    assert_eq!(
        app.as_user(
            Method::DELETE,
            &format!("/api/v1/tags/{}", risk["id"].as_str().unwrap()),
            &manager.token
        )
        .send()
        .await
        .unwrap()
        .status(),
        204
    );
    let customer = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{}", one["id"].as_str().unwrap()),
            &sales.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(customer["tags"], json!(["高潜力客户"]));
    let page = json(
        app.as_user(Method::GET, "/api/v1/tags?limit=1", &manager.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(page["next_cursor"].is_string());
}
