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
