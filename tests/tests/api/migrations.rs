//! Migrations are reversible on both databases: up, down, up again.

use crm_tests::TestDb;

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let test_db = TestDb::empty().await;
    crm_store::migrate_up(&test_db.db).await.unwrap();
    crm_store::migrate_down(&test_db.db, None).await.unwrap();
    crm_store::migrate_up(&test_db.db).await.unwrap();
    // Running up again when nothing is pending changes nothing.
    crm_store::migrate_up(&test_db.db).await.unwrap();
}

/// The customers' change log moves into the audit log, and back when migrating down.
#[tokio::test]
async fn customer_history_moves_into_the_audit_log_and_back() {
    use crm_migrations::MigratorTrait;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    let test_db = TestDb::empty().await;
    let db = &test_db.db;
    crm_migrations::Migrator::up(db, Some(3)).await.unwrap();
    let backend = db.get_database_backend();
    let user = crm_store::users::insert(
        db,
        crm_store::users::NewUser {
            username: "hist.user".to_owned(),
            display_name: "H".to_owned(),
            email: None,
            role: "sales".to_owned(),
            region: None,
            team: None,
            password_hash: "x".to_owned(),
        },
    )
    .await
    .unwrap()
    .id;
    let now = chrono::Utc::now();
    // Written as the third migration left the table: without the columns added later.
    let row = crm_store::customers::Model {
        id: uuid::Uuid::now_v7(),
        name: "历史迁移有限公司".to_owned(),
        name_key: "历史迁移".to_owned(),
        uscc: "91110000600037341L".to_owned(),
        industry_code: "C35".to_owned(),
        customer_type: "potential".to_owned(),
        annual_budget: None,
        needs: None,
        scale: None,
        source: None,
        address: None,
        phone: None,
        region: "11".to_owned(),
        owner_id: user,
        cooperation_since: None,
        influence: None,
        referred_by: None,
        tier: "ordinary".to_owned(),
        tier_score: 0,
        tier_pinned: false,
        tier_reason: None,
        created_by: user,
        created_at: now,
        updated_at: now,
        archived_at: None,
        purged_at: None,
        version: 1,
        last_activity_at: None,
        last_engaged_at: None,
        lost_at: None,
        lost_reason: None,
    };
    let customer = row.id;
    let mut active = crm_store::customers::ActiveModel::from(row);
    active.last_activity_at = sea_orm::ActiveValue::NotSet;
    active.last_engaged_at = sea_orm::ActiveValue::NotSet;
    active.lost_at = sea_orm::ActiveValue::NotSet;
    active.lost_reason = sea_orm::ActiveValue::NotSet;
    <crm_store::customers::Entity as sea_orm::EntityTrait>::insert(active)
        .exec_without_returning(db)
        .await
        .unwrap();
    let entry = uuid::Uuid::now_v7();
    let exec = |sql: &str, values: Vec<sea_orm::Value>| {
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
    };
    let p = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    exec(
        &format!(
            "INSERT INTO customer_history (id, customer_id, actor_id, at, action, changes) VALUES ({}, {}, {}, {}, 'updated', {})",
            p(1), p(2), p(3), p(4), p(5)
        ),
        vec![
            entry.into(),
            customer.into(),
            user.into(),
            now.into(),
            serde_json::json!({"needs": {"from": null, "to": "x"}}).into(),
        ],
    )
    .await
    .unwrap();

    crm_store::migrate_up(db).await.unwrap();
    let moved = crm_store::audit::list(db, "customer", customer, None, 10)
        .await
        .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].id, entry);
    assert_eq!(moved[0].actor_user_id, Some(user));
    assert_eq!(moved[0].action, "updated");
    assert_eq!(moved[0].changes["needs"]["to"], "x");

    // Down to just before the audit log (the fifth migration).
    let later = u32::try_from(crm_migrations::Migrator::migrations().len() - 4).unwrap();
    crm_store::migrate_down(db, Some(later)).await.unwrap();
    let back = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT COUNT(*) AS n FROM customer_history WHERE id = {}",
                p(1)
            ),
            [entry.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(back, 1);
    crm_store::migrate_up(db).await.unwrap();
}
