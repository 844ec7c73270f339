//! Lead assignment rules (线索分配规则): ordered; the first that matches a lead gives it to
//! one user, or round-robin over several. The round-robin turn is a counter on the rule,
//! advanced with one `UPDATE … RETURNING` per rule and import, so concurrent imports and
//! several server copies never hand out the same turn twice.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{DbBackend, QueryOrder, Statement};

use crate::StoreError;

/// A row of `assignment_rules`. List columns hold space-separated values.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub position: i32,
    pub name: String,
    pub regions: String,
    pub industries: String,
    pub sources: String,
    /// Space-separated user ids, in round-robin order.
    pub assignees: String,
    /// How many leads the rule has handed out: the next turn.
    pub turn: i64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Every rule, in order.
pub async fn all(conn: &impl ConnectionTrait) -> Result<Vec<Model>, StoreError> {
    Ok(Entity::find()
        .order_by_asc(Column::Position)
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// One rule.
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id).one(conn).await?)
}

/// Stores a new rule.
pub async fn insert(conn: &impl ConnectionTrait, model: Model) -> Result<Model, StoreError> {
    Ok(ActiveModel::from(model).insert(conn).await?)
}

/// Replaces a rule if its version is still `expected_version` (the turn is left alone).
pub async fn save(
    conn: &impl ConnectionTrait,
    mut model: Model,
    expected_version: i32,
) -> Result<Option<Model>, StoreError> {
    model.version = expected_version + 1;
    let mut active = ActiveModel::from(model.clone()).reset_all();
    active.id = sea_orm::ActiveValue::NotSet;
    active.turn = sea_orm::ActiveValue::NotSet;
    let result = Entity::update_many()
        .set(active)
        .filter(Column::Id.eq(model.id))
        .filter(Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok((result.rows_affected == 1).then_some(model))
}

/// Deletes a rule.
pub async fn delete(conn: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    Ok(Entity::delete_by_id(id).exec(conn).await?.rows_affected > 0)
}

/// Takes `n` turns of a rule at once: returns the first; the caller uses `first..first+n`.
/// The row is locked until the caller's transaction ends, so turns are never handed out twice.
/// `None` when the rule was deleted meanwhile.
pub async fn take_turns(
    conn: &impl ConnectionTrait,
    id: Uuid,
    n: i64,
) -> Result<Option<i64>, StoreError> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE assignment_rules SET turn = turn + $1 WHERE id = $2 RETURNING turn"
        }
        _ => "UPDATE assignment_rules SET turn = turn + ? WHERE id = ? RETURNING turn",
    };
    let Some(row) = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [n.into(), id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let after: i64 = row.try_get("", "turn")?;
    Ok(Some(after - n))
}
