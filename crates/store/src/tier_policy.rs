//! The tier policy: one row, edited by managers.

use chrono::{DateTime, Utc};
use crm_domain::tier::TierPolicy;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;

use crate::StoreError;

/// The single row of `tier_policy`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tier_policy")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub policy: Json,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The policy in force and its row (the default, version 0, until a manager saves one).
pub async fn get(conn: &impl ConnectionTrait) -> Result<(TierPolicy, Option<Model>), StoreError> {
    match Entity::find_by_id(1).one(conn).await? {
        Some(row) => {
            let policy = serde_json::from_value(row.policy.clone()).unwrap_or_default();
            Ok((policy, Some(row)))
        }
        None => Ok((TierPolicy::default(), None)),
    }
}

/// Saves the policy, bumping its version.
pub async fn put(
    conn: &impl ConnectionTrait,
    policy: &TierPolicy,
    by: Option<Uuid>,
    version: i32,
) -> Result<Model, StoreError> {
    let model = ActiveModel {
        id: sea_orm::ActiveValue::Set(1),
        policy: sea_orm::ActiveValue::Set(serde_json::to_value(policy).unwrap_or_default()),
        updated_by: sea_orm::ActiveValue::Set(by),
        updated_at: sea_orm::ActiveValue::Set(Utc::now()),
        version: sea_orm::ActiveValue::Set(version),
    };
    Entity::insert(model)
        .on_conflict(
            OnConflict::column(Column::Id)
                .update_columns([
                    Column::Policy,
                    Column::UpdatedBy,
                    Column::UpdatedAt,
                    Column::Version,
                ])
                .to_owned(),
        )
        .exec(conn)
        .await?;
    Entity::find_by_id(1)
        .one(conn)
        .await?
        .ok_or_else(|| StoreError::Database(DbErr::RecordNotFound("tier_policy".to_owned())))
}
