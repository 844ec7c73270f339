//! Demo data is valid data: everything `crm demo-data` writes passes the API's own checks.

use crm_domain::access::Role;
use crm_domain::customer::{Uscc, check_industry, check_mobile, check_region};
use crm_tests::{TestApp, json};
use reqwest::Method;

#[tokio::test]
async fn demo_customers_pass_every_check() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    crm_server::demo::load(&app.ctx, 300, 7).await.unwrap();
    // A second run into the same database adds more without clashing.
    crm_server::demo::load(&app.ctx, 50, 7).await.unwrap();

    let mut seen = 0;
    let mut query = "limit=200".to_owned();
    loop {
        let page = json(
            app.as_user(
                Method::GET,
                &format!("/api/v1/customers?{query}"),
                &manager.token,
            )
            .send()
            .await
            .unwrap(),
            200,
        )
        .await;
        for c in page["items"].as_array().unwrap() {
            seen += 1;
            let uscc = Uscc::parse(c["uscc"].as_str().unwrap()).unwrap();
            assert_eq!(uscc.region(), Some(c["region"].as_str().unwrap()));
            assert!(check_industry(c["industry_code"].as_str().unwrap()).is_ok());
            assert!(check_region(c["region"].as_str().unwrap()).is_ok());
            assert!(c["name"].as_str().unwrap().ends_with("有限公司"));
            let contacts = c["contacts"].as_array().unwrap();
            assert!(!contacts.is_empty());
            assert_eq!(
                contacts.iter().filter(|k| k["is_primary"] == true).count(),
                1
            );
            for k in contacts {
                assert!(check_mobile(k["mobile"].as_str().unwrap()).is_ok());
            }
            assert!(["strategic", "key", "ordinary"].contains(&c["tier"].as_str().unwrap()));
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=200&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, 350);
    let tags = json(
        app.as_user(Method::GET, "/api/v1/tags", &manager.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(
        tags["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "高潜力客户" && t["usage_count"].as_i64().unwrap() > 50)
    );
}
