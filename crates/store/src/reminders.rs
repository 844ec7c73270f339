//! The reminder inbox, and the queries reminders are generated from.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{ExprTrait, OnConflict, Query};
use sea_orm::{Condition, DbBackend, FromQueryResult, QueryOrder, QuerySelect};

use crate::StoreError;

/// A row of `reminders`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reminders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose inbox.
    pub user_id: Uuid,
    /// `renewal`, `follow_up`, `breach`, `birthday`, `holiday`, `manual`.
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    /// `contract`, `customer`, `work_order`, `contact`.
    pub subject_type: Option<String>,
    pub subject_id: Option<Uuid>,
    pub due_at: DateTime<Utc>,
    /// `open`, `done`, `dismissed`.
    pub status: String,
    pub snoozed_until: Option<DateTime<Utc>>,
    /// For generated reminders: what makes them one (`renewal:<contract>`…).
    pub dedupe_key: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores a reminder unless one with its key exists; `true` when stored.
pub async fn insert_once(conn: &impl ConnectionTrait, model: Model) -> Result<bool, StoreError> {
    let result = Entity::insert(ActiveModel::from(model))
        .on_conflict(
            OnConflict::column(Column::DedupeKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(result == 1)
}

/// Which of `keys` generated reminders already have.
pub async fn existing_keys(
    conn: &impl ConnectionTrait,
    keys: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    if keys.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let found: Vec<Option<String>> = Entity::find()
        .select_only()
        .column(Column::DedupeKey)
        .filter(Column::DedupeKey.is_in(keys.iter().cloned()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// What reminders about a customer can point at: the customer, its contacts, contracts and
/// work orders.
pub async fn subjects_of_customer(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    let mut ids = vec![customer_id];
    let of = |col: &str, table: &str| {
        Query::select()
            .column(sea_orm::sea_query::Alias::new("id"))
            .from(sea_orm::sea_query::Alias::new(table))
            .and_where(Expr::col(sea_orm::sea_query::Alias::new(col)).eq(customer_id))
            .to_owned()
    };
    let backend = conn.get_database_backend();
    for table in ["contacts", "contracts", "work_orders"] {
        let rows = conn
            .query_all_raw(backend.build(&of("customer_id", table)))
            .await?;
        for row in rows {
            ids.push(row.try_get::<Uuid>("", "id")?);
        }
    }
    Ok(ids)
}

/// Takes back `user`'s open generated reminders about any of `subjects` (the subject passed
/// to someone else, who gets their own). Returns the ids taken back.
pub async fn retract(
    conn: &impl ConnectionTrait,
    user: Uuid,
    subjects: &[Uuid],
) -> Result<Vec<Uuid>, StoreError> {
    let mine = Condition::all()
        .add(Column::UserId.eq(user))
        .add(Column::Status.eq("open"))
        .add(Column::DedupeKey.is_not_null());
    delete_about(conn, subjects, mine).await
}

/// Deletes every reminder about any of `subjects` (a purge). Returns their ids.
pub async fn delete_for_subjects(
    conn: &impl ConnectionTrait,
    subjects: &[Uuid],
) -> Result<Vec<Uuid>, StoreError> {
    delete_about(conn, subjects, Condition::all()).await
}

/// Deletes the reminders about any of `subjects` that also meet `also`, a bounded number
/// of subjects per statement. Returns their ids.
async fn delete_about(
    conn: &impl ConnectionTrait,
    subjects: &[Uuid],
    also: Condition,
) -> Result<Vec<Uuid>, StoreError> {
    let mut gone = Vec::new();
    for chunk in subjects.chunks(500) {
        let rows: Vec<Uuid> = Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(also.clone())
            .filter(Column::SubjectId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        if !rows.is_empty() {
            Entity::delete_many()
                .filter(Column::Id.is_in(rows.iter().copied()))
                .exec(conn)
                .await?;
        }
        gone.extend(rows);
    }
    Ok(gone)
}

/// The reminder `id` if it is `user`'s, locked for a change.
pub async fn find_own(
    conn: &impl ConnectionTrait,
    id: Uuid,
    user: Uuid,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id)
        .filter(Column::UserId.eq(user))
        .lock_exclusive()
        .one(conn)
        .await?)
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

/// Filters of the inbox.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    /// Due at or before.
    pub due_before: Option<DateTime<Utc>>,
    /// Leave out open reminders snoozed past this instant.
    pub awake_at: Option<DateTime<Utc>>,
}

/// A page of `user`'s reminders, soonest due first, after (due, id) `after`.
pub async fn inbox(
    conn: &impl ConnectionTrait,
    user: Uuid,
    f: &InboxFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find().filter(Column::UserId.eq(user));
    if let Some(v) = &f.status {
        query = query.filter(Column::Status.eq(v.as_str()));
    }
    if let Some(v) = &f.kind {
        query = query.filter(Column::Kind.eq(v.as_str()));
    }
    if let Some(v) = f.due_before {
        query = query.filter(Column::DueAt.lte(v));
    }
    if let Some(v) = f.awake_at {
        query = query.filter(
            Condition::any()
                .add(Column::SnoozedUntil.is_null())
                .add(Column::SnoozedUntil.lte(v)),
        );
    }
    if let Some((due, id)) = after {
        query = query.filter(
            Condition::any().add(Column::DueAt.gt(due)).add(
                Condition::all()
                    .add(Column::DueAt.eq(due))
                    .add(Column::Id.gt(id)),
            ),
        );
    }
    Ok(query
        .order_by_asc(Column::DueAt)
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// A contact whose birthday falls in the window, with its customer's owner.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct BirthdayRow {
    pub contact_id: Uuid,
    pub name: String,
    pub birthday: NaiveDate,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub owner_id: Uuid,
}

/// Contacts of live customers (among those `customers` selects, or all) whose birthday
/// (month and day) is one of `month_days` (`MM-DD`), after contact `after`, by contact id.
pub async fn birthdays(
    conn: &impl ConnectionTrait,
    month_days: &[String],
    customers: Option<Condition>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<BirthdayRow>, StoreError> {
    if month_days.is_empty() {
        return Ok(Vec::new());
    }
    use crate::{contacts, customers as c};
    let month_day = match conn.get_database_backend() {
        DbBackend::Postgres => "TO_CHAR(contacts.birthday, 'MM-DD')",
        _ => "STRFTIME('%m-%d', contacts.birthday)",
    };
    let mut query = Query::select();
    query
        .expr_as(
            Expr::col((contacts::Entity, contacts::Column::Id)),
            "contact_id",
        )
        .expr_as(
            Expr::col((contacts::Entity, contacts::Column::Name)),
            "name",
        )
        .expr_as(
            Expr::col((contacts::Entity, contacts::Column::Birthday)),
            "birthday",
        )
        .expr_as(Expr::col((c::Entity, c::Column::Id)), "customer_id")
        .expr_as(Expr::col((c::Entity, c::Column::Name)), "customer_name")
        .expr_as(Expr::col((c::Entity, c::Column::OwnerId)), "owner_id")
        .from(contacts::Entity)
        .inner_join(
            c::Entity,
            Expr::col((c::Entity, c::Column::Id))
                .equals((contacts::Entity, contacts::Column::CustomerId)),
        )
        .and_where(Expr::col((contacts::Entity, contacts::Column::Birthday)).is_not_null())
        .and_where(Expr::col((c::Entity, c::Column::ArchivedAt)).is_null())
        .and_where(Expr::cust(month_day).is_in(month_days.iter().cloned()))
        .order_by(
            (contacts::Entity, contacts::Column::Id),
            sea_orm::Order::Asc,
        )
        .limit(limit);
    if let Some(cond) = customers {
        query.and_where(
            Expr::col((c::Entity, c::Column::Id)).in_subquery(
                Query::select()
                    .column(c::Column::Id)
                    .from(c::Entity)
                    .cond_where(cond)
                    .to_owned(),
            ),
        );
    }
    if let Some(after) = after {
        query.and_where(Expr::col((contacts::Entity, contacts::Column::Id)).gt(after));
    }
    let backend = conn.get_database_backend();
    Ok(BirthdayRow::find_by_statement(backend.build(&query))
        .all(conn)
        .await?)
}
