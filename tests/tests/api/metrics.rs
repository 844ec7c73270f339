//! Prometheus metrics: served outside `/api` when configured, requests counted by route
//! template (never a raw id) and exact status, latency histograms, the database pool, the
//! background jobs and the webhook backlog; a scrape token when one is set.

use std::time::Duration;

use crm_api::ApiSettings;
use crm_domain::access::Role;
use crm_tests::{TestApp, customer_body};
use reqwest::Method;

fn with_metrics(token: Option<&str>) -> ApiSettings {
    ApiSettings {
        metrics_path: Some("/metrics".to_owned()),
        metrics_token: token.map(str::to_owned),
        ..ApiSettings::default()
    }
}

/// Every sample line of an exposition: `name{labels} value`, with a value that parses.
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("malformed line {l:?}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("malformed value in {l:?}"));
            (series.to_owned(), value)
        })
        .collect()
}

fn value(samples: &[(String, f64)], series: &str) -> Option<f64> {
    samples.iter().find(|(s, _)| s == series).map(|(_, v)| *v)
}

async fn scrape(app: &TestApp) -> (String, Vec<(String, f64)>) {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let parsed = samples(&text);
    (text, parsed)
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_status() {
    let app = TestApp::spawn_with(with_metrics(None)).await;
    let rep = app.user(Role::Sales).await;
    let customer = app
        .create_customer(&rep.token, &customer_body("指标客户有限公司"))
        .await;
    let id = customer["id"].as_str().unwrap();
    for _ in 0..3 {
        let ok = app
            .as_user(Method::GET, &format!("/api/v1/customers/{id}"), &rep.token)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }
    let missing = app
        .as_user(
            Method::GET,
            &format!("/api/v1/customers/{}", uuid::Uuid::now_v7()),
            &rep.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(app.get(&format!("/no/such/{id}")).await.status(), 404);
    // Let the worker run a few jobs.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let (text, samples) = scrape(&app).await;
    assert!(!text.contains(id), "a raw id leaked into a label");
    let get = |status: &str| {
        value(
            &samples,
            &format!(
                "crm_http_requests_total{{method=\"GET\",route=\"/api/v1/customers/{{id}}\",status=\"{status}\"}}"
            ),
        )
    };
    assert!(get("200").unwrap_or(0.0) >= 3.0, "{text}");
    assert!(get("404").unwrap_or(0.0) >= 1.0, "{text}");
    assert!(
        value(
            &samples,
            "crm_http_requests_total{method=\"POST\",route=\"/api/v1/customers\",status=\"201\"}"
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{text}"
    );
    assert!(
        text.contains("route=\"unmatched\",status=\"404\""),
        "{text}"
    );
    // A latency histogram per route, with cumulative buckets ending at +Inf.
    let bucket = |le: &str| {
        value(
            &samples,
            &format!(
                "crm_http_request_duration_seconds_bucket{{method=\"GET\",route=\"/api/v1/customers/{{id}}\",le=\"{le}\"}}"
            ),
        )
    };
    let all = bucket("+Inf").unwrap_or_else(|| panic!("no histogram: {text}"));
    assert!(all >= 4.0);
    assert!(bucket("0.001").unwrap() <= bucket("10").unwrap());
    assert!(text.contains("# TYPE crm_http_request_duration_seconds histogram"));
    // The pool, the jobs, the outbox.
    let in_use = value(&samples, "crm_db_pool_connections{state=\"in_use\"}").unwrap();
    let idle = value(&samples, "crm_db_pool_connections{state=\"idle\"}").unwrap();
    let max = value(&samples, "crm_db_pool_max_connections").unwrap();
    assert!(
        in_use >= 0.0 && idle >= 0.0 && in_use + idle <= max && max == 4.0,
        "{text}"
    );
    assert_eq!(value(&samples, "crm_db_up"), Some(1.0));
    assert!(
        text.contains("crm_jobs_total{kind=\"deliver_webhooks\",outcome=\"done\"}"),
        "{text}"
    );
    assert!(text.contains("crm_job_duration_seconds_bucket{kind=\"deliver_webhooks\""));
    assert!(value(&samples, "crm_jobs_due").is_some());
    assert!(value(&samples, "crm_jobs_lag_seconds").is_some());
    assert!(value(&samples, "crm_outbox_head_sequence").unwrap() >= 1.0);
    assert_eq!(value(&samples, "crm_webhook_deliveries_pending"), Some(0.0));
    assert!(text.contains("# HELP crm_http_requests_total"));
}

#[tokio::test]
async fn a_scrape_token_is_required_when_set_and_metrics_are_off_by_default() {
    let app = TestApp::spawn_with(with_metrics(Some("scrape-token-0123456789"))).await;
    assert_eq!(app.get("/metrics").await.status(), 401);
    let wrong = app
        .request(Method::GET, "/metrics")
        .bearer_auth("scrape-token-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = app
        .request(Method::GET, "/metrics")
        .bearer_auth("scrape-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // Never under the API's path.
    assert_eq!(app.get("/api/v1/metrics").await.status(), 404);

    let plain = TestApp::spawn().await;
    assert_eq!(plain.get("/metrics").await.status(), 404);
}
