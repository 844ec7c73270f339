//! Service work orders, their timeline, the daily number counters, and the documents that
//! govern them (SLA policy, work calendar); with the visibility condition every work-order
//! query is built on, the agents' loads the assignment reads, and the sweep's query.

use chrono::{DateTime, Utc};
use crm_domain::access::Visibility;
use crm_domain::work_order::WorkOrderStatus;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{ExprTrait, Func, LikeExpr, Query};
use sea_orm::{Condition, DbBackend, FromQueryResult, QueryOrder, QuerySelect, Statement};

use crate::StoreError;

/// A row of `work_orders`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "work_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `WO-YYYYMMDD-NNNN`.
    pub number: String,
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub category: String,
    pub severity: String,
    pub channel: String,
    pub status: String,
    /// The customer's tier the deadlines were computed for.
    pub tier: String,
    /// `calendar` or `business`.
    pub sla_clock: String,
    pub assignee_id: Option<Uuid>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub response_due_at: DateTime<Utc>,
    pub resolution_due_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    pub response_breached_at: Option<DateTime<Utc>>,
    pub resolution_breached_at: Option<DateTime<Utc>>,
    pub escalated_to: Option<Uuid>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub visit_satisfaction: Option<i16>,
    pub visit_comment: Option<String>,
    pub visited_by: Option<Uuid>,
    pub visited_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The timeline of a work order: progress notes and every move.
pub mod entry {
    use chrono::{DateTime, Utc};
    use sea_orm::entity::prelude::*;

    /// A row of `work_order_entries`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "work_order_entries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub work_order_id: Uuid,
        /// `created`, `note`, `status`, `assigned`, `breached`, `escalated`, `visit`.
        pub kind: String,
        pub body: Option<String>,
        pub from_status: Option<String>,
        pub to_status: Option<String>,
        /// The agent assigned, or the manager escalated to.
        pub user_id: Option<Uuid>,
        pub actor_id: Option<Uuid>,
        pub at: DateTime<Utc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Documents that govern the service desk, one row each, versioned.
pub mod document {
    use chrono::{DateTime, Utc};
    use sea_orm::entity::prelude::*;

    /// A row of `service_documents`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service_documents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub body: Json,
        pub updated_by: Option<Uuid>,
        pub updated_at: DateTime<Utc>,
        pub version: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The document `name`, if one was ever saved.
pub async fn document(
    conn: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<document::Model>, StoreError> {
    Ok(document::Entity::find_by_id(name.to_owned())
        .one(conn)
        .await?)
}

/// Saves the document `name` if its version is still `expected` (0: never saved). `None`
/// when someone else saved it first.
pub async fn save_document(
    conn: &impl ConnectionTrait,
    name: &str,
    body: Json,
    by: Option<Uuid>,
    expected: i32,
) -> Result<Option<document::Model>, StoreError> {
    let row = document::Model {
        name: name.to_owned(),
        body,
        updated_by: by,
        updated_at: Utc::now(),
        version: expected + 1,
    };
    if expected == 0 {
        let inserted = document::Entity::insert(document::ActiveModel::from(row.clone()))
            .on_conflict_do_nothing()
            .exec_without_returning(conn)
            .await?;
        return Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(1)).then_some(row));
    }
    let mut active = document::ActiveModel::from(row.clone()).reset_all();
    active.name = sea_orm::ActiveValue::NotSet;
    let result = document::Entity::update_many()
        .set(active)
        .filter(document::Column::Name.eq(name))
        .filter(document::Column::Version.eq(expected))
        .exec(conn)
        .await?;
    Ok((result.rows_affected == 1).then_some(row))
}

fn open_statuses() -> Vec<&'static str> {
    WorkOrderStatus::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.as_str())
        .collect()
}

/// The SQL form of a caller's visibility over work orders: managers and admins all; a rep
/// the orders of the customers they own; an agent the orders assigned to them or that they
/// opened; integrators none.
pub fn visible(visibility: Visibility) -> Condition {
    match visibility {
        Visibility::All => Condition::all(),
        Visibility::OwnedBy(user) => Condition::all().add(
            Column::CustomerId.in_subquery(
                Query::select()
                    .column(crate::customers::Column::Id)
                    .from(crate::customers::Entity)
                    .and_where(crate::customers::Column::OwnerId.eq(user))
                    .to_owned(),
            ),
        ),
        Visibility::AssignedTo(user) => Condition::any()
            .add(Column::AssigneeId.eq(user))
            .add(Column::CreatedBy.eq(user)),
        Visibility::CreatedByKey(_) => Condition::all().add(Expr::cust("1 = 0")),
    }
}

/// The customers behind the work orders an agent can see (their customers' visibility).
pub fn customers_of_agent(user: Uuid) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(Column::CustomerId)
        .from(Entity)
        .cond_where(
            Condition::any()
                .add(Column::AssigneeId.eq(user))
                .add(Column::CreatedBy.eq(user)),
        )
        .to_owned()
}

/// The work order `id` if the caller can see it.
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

/// The work order `id` if the caller can see it, locked until the transaction ends (on
/// PostgreSQL; SQLite's write transactions are serial anyway), so that a move and the
/// breach sweep take turns instead of failing each other.
pub async fn find_for_update(
    conn: &impl ConnectionTrait,
    id: Uuid,
    visibility: Visibility,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id)
        .filter(visible(visibility))
        .lock_exclusive()
        .one(conn)
        .await?)
}

/// The next number of the day `day` (`YYYYMMDD`), counted in the database so that every
/// copy of the server draws from one sequence. Taken inside the creating transaction: on
/// PostgreSQL the counter row stays locked until commit, so creations of one day queue
/// here and each sees the orders committed before it.
pub async fn next_sequence(conn: &impl ConnectionTrait, day: &str) -> Result<i64, StoreError> {
    let backend = conn.get_database_backend();
    let p = match backend {
        DbBackend::Postgres => "$1",
        _ => "?",
    };
    let sql = format!(
        "INSERT INTO work_order_counters (day, last) VALUES ({p}, 1) \
         ON CONFLICT (day) DO UPDATE SET last = work_order_counters.last + 1 RETURNING last"
    );
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [day.into()]))
        .await?
        .ok_or_else(|| StoreError::Database(DbErr::RecordNotFound("counter".to_owned())))?;
    Ok(row.try_get::<i64>("", "last")?)
}

/// Stores a new work order.
pub async fn insert(conn: &impl ConnectionTrait, model: Model) -> Result<Model, StoreError> {
    Ok(ActiveModel::from(model).insert(conn).await?)
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

/// Appends timeline entries.
pub async fn add_entries(
    conn: &impl ConnectionTrait,
    rows: Vec<entry::Model>,
) -> Result<(), StoreError> {
    let rows: Vec<entry::ActiveModel> = rows.into_iter().map(entry::ActiveModel::from).collect();
    crate::bulk::insert_all(conn, rows, 1000).await
}

/// A page of a work order's timeline, oldest first, after entry `after`.
pub async fn entries(
    conn: &impl ConnectionTrait,
    work_order_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<entry::Model>, StoreError> {
    let mut query = entry::Entity::find().filter(entry::Column::WorkOrderId.eq(work_order_id));
    if let Some(after) = after {
        query = query.filter(entry::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(entry::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Filters of the work-order list; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct WorkOrderFilter {
    pub status: Option<String>,
    pub open: Option<bool>,
    pub severity: Option<String>,
    pub category: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub unassigned: Option<bool>,
    pub customer_id: Option<Uuid>,
    pub escalated_to: Option<Uuid>,
    pub breached: Option<bool>,
    pub due_before: Option<DateTime<Utc>>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub q: Option<String>,
}

/// A page of the work orders the caller can see, newest first, after order `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    f: &WorkOrderFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut cond = visible(visibility);
    if let Some(v) = &f.status {
        cond = cond.add(Column::Status.eq(v.as_str()));
    }
    match f.open {
        Some(true) => cond = cond.add(Column::Status.is_in(open_statuses())),
        Some(false) => cond = cond.add(Column::Status.is_not_in(open_statuses())),
        None => {}
    }
    if let Some(v) = &f.severity {
        cond = cond.add(Column::Severity.eq(v.as_str()));
    }
    if let Some(v) = &f.category {
        cond = cond.add(Column::Category.eq(v.as_str()));
    }
    if let Some(v) = f.assignee_id {
        cond = cond.add(Column::AssigneeId.eq(v));
    }
    match f.unassigned {
        Some(true) => cond = cond.add(Column::AssigneeId.is_null()),
        Some(false) => cond = cond.add(Column::AssigneeId.is_not_null()),
        None => {}
    }
    if let Some(v) = f.customer_id {
        cond = cond.add(Column::CustomerId.eq(v));
    }
    if let Some(v) = f.escalated_to {
        cond = cond.add(Column::EscalatedTo.eq(v));
    }
    match f.breached {
        Some(true) => {
            cond = cond.add(
                Condition::any()
                    .add(Column::ResponseBreachedAt.is_not_null())
                    .add(Column::ResolutionBreachedAt.is_not_null()),
            )
        }
        Some(false) => {
            cond = cond
                .add(Column::ResponseBreachedAt.is_null())
                .add(Column::ResolutionBreachedAt.is_null())
        }
        None => {}
    }
    if let Some(v) = f.due_before {
        cond = cond.add(Column::Status.is_in(open_statuses())).add(
            Condition::any()
                .add(
                    Condition::all()
                        .add(Column::RespondedAt.is_null())
                        .add(Column::ResponseDueAt.lt(v)),
                )
                .add(
                    Condition::all()
                        .add(Column::ResolvedAt.is_null())
                        .add(Column::ResolutionDueAt.lt(v)),
                ),
        );
    }
    if let Some(v) = f.created_from {
        cond = cond.add(Column::CreatedAt.gte(v));
    }
    if let Some(v) = f.created_to {
        cond = cond.add(Column::CreatedAt.lt(v));
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = crate::customers::escape_like(&q.to_lowercase());
        let like = || LikeExpr::new(pattern.clone()).escape('\\');
        let lower = |c: Column| Expr::expr(Func::lower(Expr::col(c)));
        cond = cond.add(
            Condition::any()
                .add(lower(Column::Title).like(like()))
                .add(lower(Column::Number).like(like())),
        );
    }
    if let Some(after) = after {
        cond = cond.add(Column::Id.lt(after));
    }
    Ok(Entity::find()
        .filter(cond)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Moves a customer's work orders onto another (merge).
pub async fn move_all(
    conn: &impl ConnectionTrait,
    from: Uuid,
    to: Uuid,
) -> Result<u64, StoreError> {
    crate::bulk::repoint::<Entity>(conn, Column::CustomerId, from, to).await
}

/// Removes the personal data a purged customer's work orders hold — titles, descriptions,
/// resolutions, reasons, visit comments and progress notes — keeping numbers, kinds, states
/// and times for the service statistics. Returns the orders touched.
pub async fn purge_customer(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    let ids: Vec<Uuid> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::CustomerId.eq(customer_id))
        .into_tuple()
        .all(conn)
        .await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    Entity::update_many()
        .col_expr(Column::Title, Expr::value("—"))
        .col_expr(Column::Description, Expr::value(""))
        .col_expr(Column::Resolution, Expr::value(Option::<String>::None))
        .col_expr(Column::CancelReason, Expr::value(Option::<String>::None))
        .col_expr(Column::VisitComment, Expr::value(Option::<String>::None))
        .col_expr(Column::ContactId, Expr::value(Option::<Uuid>::None))
        .filter(Column::CustomerId.eq(customer_id))
        .exec(conn)
        .await?;
    for chunk in ids.chunks(500) {
        entry::Entity::update_many()
            .col_expr(entry::Column::Body, Expr::value(Option::<String>::None))
            .filter(entry::Column::WorkOrderId.is_in(chunk.iter().copied()))
            .exec(conn)
            .await?;
    }
    Ok(ids)
}

/// How much a person holds: open orders, and when they were last given one.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Load {
    pub user_id: Uuid,
    pub open: i64,
    pub last_given: Option<DateTime<Utc>>,
}

/// The agents' loads: for each of `users`, the orders assigned to them that are being
/// handled (assigned, in progress, resolved) and when they were last assigned one (none for
/// those never given one).
pub async fn agent_loads(
    conn: &impl ConnectionTrait,
    users: &[Uuid],
) -> Result<Vec<Load>, StoreError> {
    loads(conn, users, Column::AssigneeId, Column::AssignedAt).await
}

/// The managers' escalation loads: for each of `users`, the open orders escalated to them
/// and when they were last given one.
pub async fn escalation_loads(
    conn: &impl ConnectionTrait,
    users: &[Uuid],
) -> Result<Vec<Load>, StoreError> {
    loads(conn, users, Column::EscalatedTo, Column::EscalatedAt).await
}

async fn loads(
    conn: &impl ConnectionTrait,
    users: &[Uuid],
    by: Column,
    given_at: Column,
) -> Result<Vec<Load>, StoreError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let counted = WorkOrderStatus::LOAD
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let (by, given_at) = (by.as_str(), given_at.as_str());
    // Per person, two index searches: the open orders on (person, status), and the latest
    // time on (person, time), which both databases read as one entry.
    Ok(crate::users::Entity::find()
        .select_only()
        .column_as(crate::users::Column::Id, "user_id")
        .column_as(
            Expr::cust(format!(
                "CAST((SELECT COUNT(*) FROM work_orders w WHERE w.{by} = users.id \
                 AND w.status IN ({counted})) AS BIGINT)"
            )),
            "open",
        )
        .column_as(
            Expr::cust(format!(
                "(SELECT MAX(w.{given_at}) FROM work_orders w WHERE w.{by} = users.id)"
            )),
            "last_given",
        )
        .filter(crate::users::Column::Id.is_in(users.iter().copied()))
        .into_model::<Load>()
        .all(conn)
        .await?)
}

/// Open orders the sweep found late, by id after `after`: the breach reminders' source.
pub async fn breached_open(
    conn: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find()
        .filter(Column::Status.is_in(open_statuses()))
        .filter(
            Condition::any()
                .add(Column::ResponseBreachedAt.is_not_null())
                .add(Column::ResolutionBreachedAt.is_not_null()),
        );
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Open orders that have passed a due time the sweep has not yet marked: a response due
/// with no response, or a resolution due with no resolution. Oldest first, after `after`.
pub async fn overdue(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Uuid>, StoreError> {
    let mut query = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.is_in(open_statuses()))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(Column::RespondedAt.is_null())
                        .add(Column::ResponseBreachedAt.is_null())
                        .add(Column::ResponseDueAt.lte(now)),
                )
                .add(
                    Condition::all()
                        .add(Column::ResolvedAt.is_null())
                        .add(Column::ResolutionBreachedAt.is_null())
                        .add(Column::ResolutionDueAt.lte(now)),
                ),
        );
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?)
}

/// Who may hold a late-order reminder for each of `ids` (its agent and the manager it went
/// to), read under a shared lock (PostgreSQL `FOR SHARE`) so that a reassignment or a purge
/// in progress is waited for.
pub async fn holders_locked(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<Uuid>>, StoreError> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .lock_shared()
        .all(conn)
        .await?
        .into_iter()
        .map(|o| {
            (
                o.id,
                [o.assignee_id, o.escalated_to]
                    .into_iter()
                    .flatten()
                    .collect(),
            )
        })
        .collect())
}
