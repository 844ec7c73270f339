//! How the server opens its database: the settings that reach each connection.

use sea_orm::{ConnectionTrait, Statement};

/// `PRAGMA mmap_size` on a connection of a server opened with `config`.
async fn mapped_bytes(config: &crm_server::Config) -> i64 {
    let db = crm_server::open_database(config).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA mmap_size",
        ))
        .await
        .unwrap()
        .unwrap();
    let bytes: i64 = row.try_get_by_index(0).unwrap();
    db.close().await.unwrap();
    bytes
}

/// Each SQLite connection maps as much of the file as `CRM_SQLITE_MMAP_MIB` says: 256 MiB
/// unless told, none at 0, and more than SQLite's usual 2 GiB ceiling, which the bundled
/// build raises (a build without it would answer 2 GiB for the 4 GiB asked).
#[tokio::test]
async fn sqlite_connections_map_as_much_of_the_file_as_configured() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crm_server::Config {
        data_dir: dir.path().to_owned(),
        database_url: None,
        ..crm_server::Config::default()
    };
    assert_eq!(mapped_bytes(&config).await, 256 << 20);
    config.sqlite_mmap_mib = 0;
    assert_eq!(mapped_bytes(&config).await, 0);
    config.sqlite_mmap_mib = 4096;
    assert_eq!(mapped_bytes(&config).await, 4096 << 20);
}

/// Many rows in one statement (the bulk path of imports, journals and demo data) come back
/// as they went in: a NULL apart from an empty text, text that quoting would trip on, dates,
/// flags and times to the microsecond.
#[tokio::test]
async fn rows_written_in_bulk_read_back_exactly() {
    use chrono::{NaiveDate, TimeZone, Utc};
    use crm_store::contacts;

    let app = crm_tests::TestApp::spawn().await;
    let rep = app.user(crm_domain::access::Role::Sales).await;
    let customer = app
        .create_customer(&rep.token, &crm_tests::customer_body("批量写入"))
        .await;
    let customer_id: uuid::Uuid = customer["id"].as_str().unwrap().parse().unwrap();
    let at = Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap()
        + chrono::Duration::microseconds(123_456);
    let contact =
        |n: u8, name: &str, email: Option<&str>, birthday: Option<NaiveDate>| contacts::Model {
            id: uuid::Uuid::now_v7(),
            customer_id,
            name: name.to_owned(),
            title: String::new(),
            mobile: format!("1390000{n:04}"),
            email: email.map(str::to_owned),
            birthday,
            is_primary: n == 0,
            created_at: at,
            updated_at: at + chrono::Duration::seconds(i64::from(n)),
        };
    let written = vec![
        contact(0, "王芳", Some(""), NaiveDate::from_ymd_opt(1990, 2, 28)),
        contact(1, r#"a "quoted", {braced} \back\slashed name"#, None, None),
        contact(
            2,
            "NULL",
            Some("x@example.com"),
            NaiveDate::from_ymd_opt(2000, 1, 1),
        ),
    ];
    contacts::insert_many(&app.test_db.db, written.clone())
        .await
        .unwrap();
    for expected in &written {
        let read = contacts::find(&app.test_db.db, expected.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&read, expected);
    }
}
