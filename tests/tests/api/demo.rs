//! Demo data is valid data: everything `crm demo-data` writes passes the API's own checks.

use crm_domain::access::Role;
use crm_domain::customer::{Uscc, check_industry, check_mobile, check_region};
use crm_server::demo::Size;
use crm_tests::{TestApp, json};
use reqwest::Method;

#[tokio::test]
async fn demo_customers_pass_every_check() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    crm_server::demo::load(&app.ctx, Size::for_customers(300), 7)
        .await
        .unwrap();
    // A second run into the same database adds more without clashing.
    crm_server::demo::load(&app.ctx, Size::for_customers(50), 7)
        .await
        .unwrap();

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

async fn all(app: &TestApp, token: &str, path: &str) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=200&cursor={c}"),
            None => format!("{path}{sep}limit=200"),
        };
        let page = json(
            app.as_user(Method::GET, &url, token).send().await.unwrap(),
            200,
        )
        .await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

#[tokio::test]
async fn demo_data_shows_a_pipeline_in_every_stage() {
    let app = TestApp::spawn().await;
    let manager = app.user(Role::Manager).await;
    crm_server::demo::load(
        &app.ctx,
        Size {
            customers: 200,
            leads: 1200,
            deals: 400,
            work_orders: 150,
            upkeep: 200,
        },
        11,
    )
    .await
    .unwrap();

    let rules = json(
        app.as_user(Method::GET, "/api/v1/assignment-rules", &manager.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(rules["items"].as_array().unwrap().len(), 3);

    // A service desk with work orders in every state, some late and escalated.
    let orders = all(&app, &manager.token, "/api/v1/work-orders").await;
    assert_eq!(orders.len(), 150);
    for status in [
        "new",
        "assigned",
        "in_progress",
        "resolved",
        "closed",
        "cancelled",
    ] {
        assert!(orders.iter().any(|o| o["status"] == status), "{status}");
    }
    assert!(
        orders
            .iter()
            .any(|o| o["breached"] == true && o["escalated_to"].is_string())
    );
    assert!(
        orders
            .iter()
            .filter(|o| o["status"] == "closed")
            .all(|o| o["visit"]["satisfaction"].is_i64())
    );
    let calendar = json(
        app.as_user(Method::GET, "/api/v1/work-calendar", &manager.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(calendar["calendar"]["holidays"].as_array().unwrap().len() > 30);

    // A year of upkeep: records, contracts in every status, surveys, referrals, reminders.
    let activities = all(&app, &manager.token, "/api/v1/activities").await;
    assert!(activities.len() >= 200, "{}", activities.len());
    let contracts = all(&app, &manager.token, "/api/v1/contracts").await;
    for status in ["active", "expired"] {
        assert!(contracts.iter().any(|c| c["status"] == status), "{status}");
    }
    let renewals = all(
        &app,
        &manager.token,
        "/api/v1/contracts?ending_within_days=90",
    )
    .await;
    assert!(!renewals.is_empty());
    let referrals = all(&app, &manager.token, "/api/v1/reports/referrals").await;
    assert!(!referrals.is_empty());
    let holidays = json(
        app.as_user(
            Method::GET,
            "/api/v1/care-calendar/holidays",
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(holidays["holidays"].as_array().unwrap().len(), 4);

    let leads = all(&app, &manager.token, "/api/v1/leads").await;
    assert_eq!(leads.len(), 1200);
    assert!(
        leads
            .iter()
            .any(|l| l["status"] == "following" && l["assigned_by"] == "rule")
    );
    assert!(
        leads
            .iter()
            .any(|l| l["status"] == "new" && l["owner_id"].is_null())
    );
    assert!(
        leads
            .iter()
            .any(|l| l["duplicate_of"]["customer_id"].is_string())
    );

    let deals = all(&app, &manager.token, "/api/v1/opportunities").await;
    assert_eq!(deals.len(), 400);
    for (status, probability) in [
        ("open", 30),
        ("open", 60),
        ("open", 90),
        ("won", 100),
        ("lost", 0),
    ] {
        assert!(
            deals
                .iter()
                .any(|d| d["status"] == status && d["probability"] == probability),
            "no {status} deal at {probability} %"
        );
    }
    // Customers with a deal won in the past year are paying customers.
    let won = deals.iter().find(|d| d["status"] == "won").unwrap();
    let customer = json(
        app.as_user(
            Method::GET,
            &format!("/api/v1/customers/{}", won["customer_id"].as_str().unwrap()),
            &manager.token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_ne!(customer["customer_type"], "potential");
    let forecast = json(
        app.as_user(Method::GET, "/api/v1/reports/forecast", &manager.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(forecast["totals"]["open_count"].as_i64().unwrap() > 100);
    assert_ne!(forecast["totals"]["weighted_amount"], "0.00");
}
