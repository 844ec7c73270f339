//! Database faults answer 503 with `Retry-After`, never 500, and the server recovers by
//! itself: on PostgreSQL every connection of the server is terminated under load; on SQLite
//! another process holds the write lock longer than the busy timeout.

use std::time::{Duration, Instant};

use crm_domain::access::Role;
use crm_tests::{TestApp, customer_body, problem};
use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend};

#[tokio::test]
async fn a_database_fault_is_503_then_the_server_recovers() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Sales).await;
    let create = || {
        app.as_user(Method::POST, "/api/v1/customers", &user.token)
            .json(&customer_body("容错测试有限公司"))
            .send()
    };
    match app.test_db.db.get_database_backend() {
        DbBackend::Postgres => {
            let name = app
                .test_db
                .url
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .split('?')
                .next()
                .unwrap_or_default()
                .to_owned();
            let admin = crm_store::connect(&std::env::var("CRM_TEST_DATABASE_URL").unwrap(), 1)
                .await
                .unwrap();
            // Load while every connection of the server is killed, twice.
            let load = async {
                let mut statuses = Vec::new();
                for _ in 0..40 {
                    let batch: Vec<_> = (0..4).map(|_| create()).collect();
                    for r in futures_util::future::join_all(batch).await {
                        statuses.push(r.unwrap().status().as_u16());
                    }
                }
                statuses
            };
            let kill = async {
                for _ in 0..2 {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    admin
                        .execute_unprepared(&format!(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                        ))
                        .await
                        .unwrap();
                }
            };
            let (statuses, ()) = tokio::join!(load, kill);
            assert!(
                statuses.iter().all(|s| *s == 201 || *s == 503),
                "{statuses:?}"
            );
        }
        _ => {
            // Another process holds the write lock past the busy timeout.
            let other = crm_store::connect(&app.test_db.url, 1).await.unwrap();
            let held = crm_store::begin_write(&other).await.unwrap();
            held.execute_unprepared("UPDATE users SET display_name = display_name")
                .await
                .unwrap();
            let response = create().await.unwrap();
            assert_eq!(response.headers()["retry-after"], "5");
            problem(response, 503, "service_unavailable").await;
            held.commit().await.unwrap();
        }
    }
    // Back within five seconds, without a restart.
    let started = Instant::now();
    loop {
        let status = create().await.unwrap().status().as_u16();
        if status == 201 {
            break;
        }
        assert_eq!(status, 503);
        assert!(started.elapsed() < Duration::from_secs(5), "no recovery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
