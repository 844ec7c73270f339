//! Deals (商机, opportunities) and their stage history, with the visibility condition every
//! deal query — list, get, forecast — is built on, and the aggregates the forecast and the
//! tiers read.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::access::Visibility;
use sea_orm::entity::prelude::*;
use sea_orm::{Condition, DbBackend, FromQueryResult, QueryOrder, QuerySelect, Statement};

use crate::StoreError;

/// A row of `opportunities`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "opportunities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub name: String,
    /// The estimated amount while open, the final amount once won; in fen.
    pub amount_fen: i64,
    pub expected_close_date: NaiveDate,
    pub owner_id: Uuid,
    /// `open`, `won`, `lost`.
    pub status: String,
    /// 30, 60 or 90 while open; 100 won; 0 lost.
    pub probability: i16,
    pub lost_reason: Option<String>,
    /// The UTC date it was won or lost.
    pub closed_on: Option<NaiveDate>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The stage history: one row per change of status or probability.
pub mod stage {
    use chrono::{DateTime, Utc};
    use sea_orm::entity::prelude::*;

    /// A row of `opportunity_stages`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "opportunity_stages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub opportunity_id: Uuid,
        pub from_status: Option<String>,
        pub from_probability: Option<i16>,
        pub to_status: String,
        pub to_probability: i16,
        pub amount_fen: i64,
        pub actor_id: Option<Uuid>,
        pub at: DateTime<Utc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The SQL form of a caller's visibility over deals.
pub fn visible(visibility: Visibility) -> Condition {
    match visibility {
        Visibility::All => Condition::all(),
        Visibility::OwnedBy(user) => Condition::all().add(Column::OwnerId.eq(user)),
        Visibility::AssignedTo(_) | Visibility::CreatedByKey(_) => {
            Condition::all().add(Expr::cust("1 = 0"))
        }
    }
}

/// The deal `id` if the caller can see it.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    id: Uuid,
    visibility: Visibility,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id)
        .filter(visible(visibility))
        .one(conn)
        .await?)
}

/// Stores a new deal.
pub async fn insert(conn: &impl ConnectionTrait, model: Model) -> Result<Model, StoreError> {
    Ok(ActiveModel::from(model).insert(conn).await?)
}

/// Stores many new deals (bulk loads).
pub async fn insert_many(conn: &impl ConnectionTrait, rows: Vec<Model>) -> Result<(), StoreError> {
    let rows: Vec<ActiveModel> = rows.into_iter().map(ActiveModel::from).collect();
    crate::bulk::insert_all(conn, rows, 1000).await
}

/// Replaces the stored row if its version is still `expected_version`; bumps the version.
pub async fn save(
    conn: &impl ConnectionTrait,
    mut model: Model,
    expected_version: i32,
) -> Result<Option<Model>, StoreError> {
    model.version = expected_version + 1;
    let mut active = ActiveModel::from(model.clone()).reset_all();
    active.id = sea_orm::ActiveValue::NotSet;
    let result = Entity::update_many()
        .set(active)
        .filter(Column::Id.eq(model.id))
        .filter(Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok((result.rows_affected == 1).then_some(model))
}

/// Appends stage changes.
pub async fn record_stages(
    conn: &impl ConnectionTrait,
    rows: Vec<stage::Model>,
) -> Result<(), StoreError> {
    let rows: Vec<stage::ActiveModel> = rows.into_iter().map(stage::ActiveModel::from).collect();
    crate::bulk::insert_all(conn, rows, 1000).await
}

/// A deal's stage changes, oldest first.
pub async fn stages(
    conn: &impl ConnectionTrait,
    opportunity_id: Uuid,
) -> Result<Vec<stage::Model>, StoreError> {
    Ok(stage::Entity::find()
        .filter(stage::Column::OpportunityId.eq(opportunity_id))
        .order_by_asc(stage::Column::Id)
        .all(conn)
        .await?)
}

/// Filters of the deal list; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct DealFilter {
    pub status: Option<String>,
    pub owner_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub probability: Option<i16>,
    pub close_from: Option<NaiveDate>,
    pub close_to: Option<NaiveDate>,
}

/// A page of the deals the caller can see, newest first, after deal `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    filter: &DealFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find().filter(visible(visibility));
    if let Some(v) = &filter.status {
        query = query.filter(Column::Status.eq(v.as_str()));
    }
    if let Some(v) = filter.owner_id {
        query = query.filter(Column::OwnerId.eq(v));
    }
    if let Some(v) = filter.customer_id {
        query = query.filter(Column::CustomerId.eq(v));
    }
    if let Some(v) = filter.probability {
        query = query.filter(Column::Probability.eq(v));
    }
    if let Some(v) = filter.close_from {
        query = query.filter(Column::ExpectedCloseDate.gte(v));
    }
    if let Some(v) = filter.close_to {
        query = query.filter(Column::ExpectedCloseDate.lte(v));
    }
    if let Some(after) = after {
        query = query.filter(Column::Id.lt(after));
    }
    Ok(query
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Moves a customer's deals onto another (merge).
pub async fn move_all(
    conn: &impl ConnectionTrait,
    from: Uuid,
    to: Uuid,
) -> Result<u64, StoreError> {
    crate::bulk::repoint::<Entity>(conn, Column::CustomerId, from, to).await
}

#[derive(Debug, FromQueryResult)]
struct Volume {
    customer_id: Uuid,
    fen: i64,
}

/// The annual purchase volume of each customer that has ever won a deal or signed a
/// contract of its own: Σ amount of the deals it won on or after `since`, plus the contracts
/// not tied to a deal signed on or after `since` (0 when none recently). Customers with
/// neither are absent: their declared budget stands in for it.
pub async fn purchase_volumes(
    conn: &impl ConnectionTrait,
    customer_ids: &[Uuid],
    since: NaiveDate,
) -> Result<HashMap<Uuid, i64>, StoreError> {
    if customer_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let since_sql = match conn.get_database_backend() {
        DbBackend::Postgres => "$1",
        _ => "?",
    };
    let volume = format!(
        "CAST(COALESCE(SUM(CASE WHEN status = 'won' AND closed_on >= {since_sql} \
         THEN amount_fen ELSE 0 END), 0) AS BIGINT)"
    );
    let mut out = HashMap::new();
    for chunk in customer_ids.chunks(500) {
        // Filtered by customer only, so that every planner takes the customer index (with
        // the status beside it, SQLite walked every won deal for each customer); the status
        // is looked at in the sums.
        let rows = Entity::find()
            .select_only()
            .column(Column::CustomerId)
            .column_as(Expr::cust_with_values(volume.clone(), [since]), "fen")
            .filter(Column::CustomerId.is_in(chunk.iter().copied()))
            .group_by(Column::CustomerId)
            .having(Expr::cust(
                "SUM(CASE WHEN status = 'won' THEN 1 ELSE 0 END) > 0",
            ))
            .into_model::<Volume>()
            .all(conn)
            .await?;
        out.extend(rows.into_iter().map(|r| (r.customer_id, r.fen)));
    }
    for (customer, fen) in crate::contracts::purchase_volumes(conn, customer_ids, since).await? {
        *out.entry(customer).or_insert(0) += fen;
    }
    Ok(out)
}

/// How the forecast groups deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// By owner.
    Owner,
    /// By month (`YYYY-MM`) of the expected close (open deals) or of the close (won, lost).
    Month,
}

/// One group of the forecast: counts, and sums in fen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForecastRow {
    /// The owner, when grouped by owner.
    pub owner_id: Option<Uuid>,
    /// The month (`YYYY-MM`), when grouped by month.
    pub month: Option<String>,
    pub open_count: i64,
    pub open_fen: i64,
    pub open_fen_30: i64,
    pub open_fen_60: i64,
    pub open_fen_90: i64,
    pub won_count: i64,
    pub won_fen: i64,
    pub lost_count: i64,
    pub lost_fen: i64,
}

/// The forecast over `from..=to`, grouped, in one aggregate query: open deals expected to
/// close in the range, and deals won or lost in it, among those the caller can see. It reads
/// the running totals the database keeps per status, day, owner and probability
/// (`deal_forecast_days`, kept by triggers on `opportunities`), so its cost follows the days
/// and owners in the range, not the deals.
pub async fn forecast(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    from: NaiveDate,
    to: NaiveDate,
    group_by: GroupBy,
) -> Result<Vec<ForecastRow>, StoreError> {
    let backend = conn.get_database_backend();
    let p = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    // Each deal counts once, on the day that places it in the range: its expected close
    // while open, the day it closed once won or lost. The totals are summed per group,
    // status and probability in SQL (a handful of rows per group), and the groups' figures
    // are folded together here, so that no sum multiplies amounts in SQL.
    let mut values: Vec<sea_orm::Value> = vec![from.into(), to.into()];
    let visible = match visibility {
        Visibility::All => String::new(),
        Visibility::OwnedBy(user) => {
            values.push(user.into());
            format!(" AND owner_id = {}", p(values.len()))
        }
        Visibility::AssignedTo(_) | Visibility::CreatedByKey(_) => " AND 1 = 0".to_owned(),
    };
    let (select_key, key) = match (group_by, backend) {
        (GroupBy::Owner, _) => ("owner_id, NULL AS month", "owner_id"),
        (GroupBy::Month, DbBackend::Postgres) => (
            "NULL AS owner_id, TO_CHAR(DATE_TRUNC('month', day), 'YYYY-MM') AS month",
            "DATE_TRUNC('month', day)",
        ),
        (GroupBy::Month, _) => (
            "NULL AS owner_id, SUBSTR(day, 1, 7) AS month",
            "SUBSTR(day, 1, 7)",
        ),
    };
    let sql = format!(
        "SELECT {select_key}, status, probability, CAST(SUM(deals) AS BIGINT) AS n, \
           CAST(SUM(amount_fen) AS BIGINT) AS fen \
         FROM deal_forecast_days \
         WHERE status IN ('open', 'won', 'lost') AND day BETWEEN {} AND {}{visible} \
         GROUP BY {key}, status, probability",
        p(1),
        p(2)
    );
    let parts =
        ForecastPart::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(conn)
            .await?;
    let mut groups: std::collections::BTreeMap<(Option<Uuid>, Option<String>), ForecastRow> =
        std::collections::BTreeMap::new();
    for part in parts {
        let row = groups
            .entry((part.owner_id, part.month.clone()))
            .or_insert_with(|| ForecastRow {
                owner_id: part.owner_id,
                month: part.month.clone(),
                ..ForecastRow::default()
            });
        match (part.status.as_str(), part.probability) {
            ("open", p) => {
                row.open_count += part.n;
                row.open_fen += part.fen;
                match p {
                    30 => row.open_fen_30 += part.fen,
                    60 => row.open_fen_60 += part.fen,
                    _ => row.open_fen_90 += part.fen,
                }
            }
            ("won", _) => {
                row.won_count += part.n;
                row.won_fen += part.fen;
            }
            _ => {
                row.lost_count += part.n;
                row.lost_fen += part.fen;
            }
        }
    }
    Ok(groups.into_values().collect())
}

/// One part of the forecast: the deals of one group, status and probability.
#[derive(Debug, FromQueryResult)]
struct ForecastPart {
    owner_id: Option<Uuid>,
    month: Option<String>,
    status: String,
    probability: i16,
    n: i64,
    fen: i64,
}
