//! Many rows in few statements, for the bulk paths (imports, demo data, audit entries and
//! events of a batch). On PostgreSQL the rows travel as one JSON parameter that
//! `json_to_recordset` unpacks, JSON columns passing through as the text they are: one short
//! statement whatever the number of rows, parsed and planned once, where a multi-row
//! `VALUES` with tens of thousands of parameters costs more to parse and bind than to
//! execute. On SQLite, which parses quickly, as multi-row `VALUES` in chunks under its
//! bound-parameter limit, each row's values moved into the statement, JSON documents as
//! their text. Also: which of many ids pass a condition, in one query.

use chrono::SecondsFormat;
use sea_orm::sea_query::{ColumnType, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait,
    IdenStatic, Iterable, Statement,
};
use serde_json::Value as Json;

use crate::StoreError;

/// Inserts `rows`; on SQLite `chunk` rows per statement. Columns left unset in the first row
/// (database defaults, such as a sequence) are left to the database in every row; a column
/// set in the first row and unset in a later one is NULL there.
pub async fn insert_all<A>(
    conn: &impl ConnectionTrait,
    rows: Vec<A>,
    chunk: usize,
) -> Result<(), StoreError>
where
    A: ActiveModelTrait + Send,
{
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|c| !first.get(*c).is_not_set())
        .collect();
    if columns.is_empty() {
        return Err(unsupported("row without values"));
    }
    let table = <A::Entity as Default>::default().table_name().to_owned();
    if conn.get_database_backend() == DbBackend::Postgres {
        let mut names = Vec::with_capacity(columns.len());
        let mut defs = Vec::with_capacity(columns.len());
        for column in &columns {
            let name = column.as_str();
            names.push(format!("\"{name}\""));
            defs.push(format!(
                "\"{name}\" {}",
                pg_type(column.def().get_column_type())?
            ));
        }
        let keys: Vec<&'static str> = columns.iter().map(|c| c.as_str()).collect();
        let mut records = Vec::with_capacity(rows.len());
        for mut row in rows {
            let mut values = Vec::with_capacity(columns.len());
            for column in &columns {
                // Taken, not copied: a row's JSON documents move into the statement.
                values.push(json_of(row.take(*column).into_value())?);
            }
            records.push(Record {
                keys: &keys,
                values,
            });
        }
        let names = names.join(", ");
        // In the order given, so that sequences (the event feed's) number rows as listed.
        let sql = format!(
            "INSERT INTO \"{table}\" ({names}) SELECT {names} FROM ROWS FROM \
             (json_to_recordset($1::text::json) AS ({})) WITH ORDINALITY AS r({names}, \"ordinality\") \
             ORDER BY \"ordinality\"",
            defs.join(", ")
        );
        // Sent as text: the driver copies parameters before binding them, and a string is
        // copied in one move where a JSON tree is rebuilt node by node.
        let records = serde_json::to_string(&records)
            .map_err(|e| StoreError::Database(DbErr::Custom(e.to_string())))?;
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [Value::String(Some(records))],
        ))
        .await?;
        return Ok(());
    }
    // SQLite: multi-row `VALUES`, its text written here and the rows' values moved into the
    // statement. The query builder would copy every value (a JSON document node by node)
    // and the driver again; a JSON document goes as the text SQLite keeps it as.
    let names = columns
        .iter()
        .map(|c| format!("\"{}\"", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let tuple = format!("({})", vec!["?"; columns.len()].join(", "));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(chunk.max(1)).collect();
        let count = batch.len();
        let mut values = Vec::with_capacity(count * columns.len());
        for mut row in batch {
            for column in &columns {
                values.push(sqlite_value(row.take(*column).into_value())?);
            }
        }
        let sql = format!(
            "INSERT INTO \"{table}\" ({names}) VALUES {}",
            vec![tuple.as_str(); count].join(", ")
        );
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            values,
        ))
        .await?;
    }
    Ok(())
}

/// A value as bound on SQLite: as the query builder binds it, but a JSON document as its
/// text (what the driver would write for it) and an unset column as NULL.
fn sqlite_value(value: Option<Value>) -> Result<Value, StoreError> {
    Ok(match value {
        None => Value::String(None),
        Some(Value::Json(json)) => Value::String(
            json.map(|j| serde_json::to_string(&j))
                .transpose()
                .map_err(|e| StoreError::Database(DbErr::Custom(e.to_string())))?,
        ),
        Some(other) => other,
    })
}

/// Which of `ids` (values of the key column `id`) satisfy `condition`: one query.
pub async fn ids_among<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    id: E::Column,
    ids: &[uuid::Uuid],
    condition: sea_orm::Condition,
) -> Result<Vec<uuid::Uuid>, StoreError> {
    use sea_orm::{QueryFilter, QuerySelect};
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(E::find()
        .select_only()
        .column(id)
        .filter(id.is_in(ids.iter().copied()))
        .filter(condition)
        .into_tuple::<uuid::Uuid>()
        .all(conn)
        .await?)
}

/// One row as a JSON object, written straight into the statement's text.
struct Record<'a> {
    keys: &'a [&'static str],
    values: Vec<Json>,
}

impl serde::Serialize for Record<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.keys.len()))?;
        for (key, value) in self.keys.iter().zip(&self.values) {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

fn unsupported(what: &str) -> StoreError {
    StoreError::Database(DbErr::Custom(format!("bulk insert: unsupported {what}")))
}

/// The PostgreSQL type of a column in the record definition.
fn pg_type(column: &ColumnType) -> Result<&'static str, StoreError> {
    Ok(match column {
        ColumnType::Char(_) | ColumnType::String(_) | ColumnType::Text => "text",
        ColumnType::SmallInteger => "smallint",
        ColumnType::Integer => "integer",
        ColumnType::BigInteger => "bigint",
        ColumnType::Boolean => "boolean",
        ColumnType::Uuid => "uuid",
        ColumnType::Date => "date",
        ColumnType::TimestampWithTimeZone => "timestamptz",
        ColumnType::DateTime | ColumnType::Timestamp => "timestamp",
        ColumnType::Json => "json",
        ColumnType::JsonBinary => "jsonb",
        other => return Err(unsupported(&format!("column type {other:?}"))),
    })
}

/// A value as the JSON that `json_to_recordset` reads back into the column's type.
fn json_of(value: Option<Value>) -> Result<Json, StoreError> {
    let Some(value) = value else {
        return Ok(Json::Null);
    };
    Ok(match value {
        Value::Bool(v) => v.map_or(Json::Null, Json::Bool),
        Value::SmallInt(v) => v.map_or(Json::Null, Json::from),
        Value::Int(v) => v.map_or(Json::Null, Json::from),
        Value::BigInt(v) => v.map_or(Json::Null, Json::from),
        Value::String(v) => v.map_or(Json::Null, Json::String),
        Value::Uuid(v) => v.map_or(Json::Null, |u| Json::String(u.to_string())),
        Value::Json(v) => v.map_or(Json::Null, |j| *j),
        Value::ChronoDate(v) => v.map_or(Json::Null, |d| Json::String(d.to_string())),
        // Microseconds, as PostgreSQL keeps them (truncated, like the binary protocol).
        Value::ChronoDateTimeUtc(v) => v.map_or(Json::Null, |t| {
            Json::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))
        }),
        Value::ChronoDateTimeWithTimeZone(v) => v.map_or(Json::Null, |t| {
            Json::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))
        }),
        Value::ChronoDateTime(v) => v.map_or(Json::Null, |t| {
            Json::String(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
        }),
        other => return Err(unsupported(&format!("value {other:?}"))),
    })
}

/// Points every row whose `column` is `from` at `to` (a merge moving a customer's records to
/// the survivor). Returns how many moved.
pub async fn repoint<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    column: E::Column,
    from: uuid::Uuid,
    to: uuid::Uuid,
) -> Result<u64, StoreError> {
    use sea_orm::QueryFilter;
    Ok(E::update_many()
        .col_expr(column, sea_orm::sea_query::Expr::value(to))
        .filter(column.eq(from))
        .exec(conn)
        .await?
        .rows_affected)
}
