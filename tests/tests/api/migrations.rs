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
