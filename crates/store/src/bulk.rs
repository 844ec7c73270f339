//! Many rows in few statements, for the bulk paths (imports, demo data, audit entries and
//! events of a batch). On PostgreSQL each column travels as one array parameter of its
//! values' texts, beside one of booleans marking its NULLs, and `unnest` lays them out as
//! rows, each text cast to its column's type: one short statement whatever the number of
//! rows, parsed and planned once, where a multi-row `VALUES` with tens of thousands of
//! parameters costs more to parse and bind than to execute, and where one JSON document of
//! all the rows (`json_to_recordset`) costs PostgreSQL a parse of the whole document before
//! each JSON column's own. On SQLite, which parses quickly, as multi-row `VALUES` in chunks
//! under its bound-parameter limit, each row's values moved into the statement, JSON
//! documents as their text. Also: which of many ids pass a condition, in one query.

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
        let count = rows.len();
        let mut names = Vec::with_capacity(columns.len());
        let mut params = Vec::with_capacity(columns.len() * 2);
        let mut outputs = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            names.push(format!("\"{}\"", column.as_str()));
            let (text, null) = (2 * i + 1, 2 * i + 2);
            params.push(format!("${text}::text[], ${null}::bool[]"));
            outputs.push(format!(
                "CASE WHEN r.n{i} THEN NULL ELSE r.v{i}::{} END",
                pg_type(column.def().get_column_type())?
            ));
        }
        // Column by column: each value as its text, and whether it is NULL.
        // (`vec![v; n]` would clone `v`, and a clone keeps none of its capacity.)
        let mut texts: Vec<Vec<String>> = (0..columns.len())
            .map(|_| Vec::with_capacity(count))
            .collect();
        let mut nulls: Vec<Vec<bool>> = (0..columns.len())
            .map(|_| Vec::with_capacity(count))
            .collect();
        for mut row in rows {
            for (i, column) in columns.iter().enumerate() {
                // Taken, not copied: a row's JSON documents move into the statement.
                let text = pg_text(row.take(*column).into_value())?;
                nulls[i].push(text.is_none());
                texts[i].push(text.unwrap_or_default());
            }
        }
        let aliases = (0..columns.len())
            .map(|i| format!("v{i}, n{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        // In the order given, so that sequences (the event feed's) number rows as listed.
        let sql = format!(
            "INSERT INTO \"{table}\" ({}) SELECT {} FROM unnest({}) WITH ORDINALITY \
             AS r({aliases}, \"ordinality\") ORDER BY \"ordinality\"",
            names.join(", "),
            outputs.join(", "),
            params.join(", ")
        );
        let mut values = Vec::with_capacity(columns.len() * 2);
        for (text, null) in texts.into_iter().zip(nulls) {
            values.push(Value::from(text));
            values.push(Value::from(null));
        }
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
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

/// A value as the text PostgreSQL reads back into the column's type (`None`: NULL). A JSON
/// document is its text, and JSON's `null` is NULL, as an unset column is.
fn pg_text(value: Option<Value>) -> Result<Option<String>, StoreError> {
    let Some(value) = value else {
        return Ok(None);
    };
    Ok(match value {
        Value::Bool(v) => v.map(|b| b.to_string()),
        Value::SmallInt(v) => v.map(|n| n.to_string()),
        Value::Int(v) => v.map(|n| n.to_string()),
        Value::BigInt(v) => v.map(|n| n.to_string()),
        Value::String(v) => v,
        Value::Uuid(v) => v.map(|u| u.to_string()),
        Value::Json(v) => match v.map(|j| *j) {
            None | Some(Json::Null) => None,
            Some(json) => Some(
                serde_json::to_string(&json)
                    .map_err(|e| StoreError::Database(DbErr::Custom(e.to_string())))?,
            ),
        },
        Value::ChronoDate(v) => v.map(|d| d.to_string()),
        // Microseconds, as PostgreSQL keeps them (truncated, like the binary protocol).
        Value::ChronoDateTimeUtc(v) => v.map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true)),
        Value::ChronoDateTimeWithTimeZone(v) => {
            v.map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
        }
        Value::ChronoDateTime(v) => v.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
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
