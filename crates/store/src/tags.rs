//! Tags (标签): a catalogue of names, and which customers carry which.

use chrono::{DateTime, Utc};
use crm_domain::access::Visibility;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query, QueryStatementBuilder};
use sea_orm::{FromQueryResult, QueryOrder};

use crate::StoreError;

/// A row of `tags`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Rows of `customer_tags`.
pub mod link {
    use sea_orm::entity::prelude::*;

    /// A customer carrying a tag.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customer_tags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub customer_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag_id: Uuid,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The tags with these names (those that exist).
pub async fn by_names(
    conn: &impl ConnectionTrait,
    names: &[String],
) -> Result<Vec<Model>, StoreError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .filter(Column::Name.is_in(names.iter().cloned()))
        .all(conn)
        .await?)
}

/// The tags with these names, creating the missing ones.
pub async fn ensure(
    conn: &impl ConnectionTrait,
    names: &[String],
) -> Result<Vec<Model>, StoreError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let rows = names.iter().map(|name| ActiveModel {
        id: sea_orm::ActiveValue::Set(Uuid::now_v7()),
        name: sea_orm::ActiveValue::Set(name.clone()),
        created_at: sea_orm::ActiveValue::Set(now),
    });
    Entity::insert_many(rows)
        .on_conflict(OnConflict::column(Column::Name).do_nothing().to_owned())
        .try_insert()
        .exec(conn)
        .await?;
    by_names(conn, names).await
}

/// One tag.
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id).one(conn).await?)
}

/// Tag names of these customers, in one query: `(customer_id, name)` ordered by name.
pub async fn names_for_customers(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(FromQueryResult)]
    struct Row {
        customer_id: Uuid,
        name: String,
    }
    let stmt = Query::select()
        .column((Alias::new("customer_tags"), Alias::new("customer_id")))
        .column((Alias::new("tags"), Alias::new("name")))
        .from(Alias::new("customer_tags"))
        .inner_join(
            Alias::new("tags"),
            Expr::col((Alias::new("tags"), Alias::new("id")))
                .equals((Alias::new("customer_tags"), Alias::new("tag_id"))),
        )
        .and_where(
            Expr::col((Alias::new("customer_tags"), Alias::new("customer_id")))
                .is_in(ids.iter().copied()),
        )
        .order_by(
            (Alias::new("tags"), Alias::new("name")),
            sea_orm::Order::Asc,
        )
        .to_owned();
    let rows = Row::find_by_statement(conn.get_database_backend().build(&stmt))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.customer_id, r.name)).collect())
}

/// Adds many customer–tag links in one statement (bulk loads).
pub async fn link_many(
    conn: &impl ConnectionTrait,
    links: Vec<(Uuid, Uuid)>,
) -> Result<(), StoreError> {
    if links.is_empty() {
        return Ok(());
    }
    let rows = links
        .into_iter()
        .map(|(customer_id, tag_id)| link::ActiveModel {
            customer_id: sea_orm::ActiveValue::Set(customer_id),
            tag_id: sea_orm::ActiveValue::Set(tag_id),
        });
    link::Entity::insert_many(rows).exec(conn).await?;
    Ok(())
}

/// Replaces a customer's tags.
pub async fn set_for_customer(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
    tag_ids: &[Uuid],
) -> Result<(), StoreError> {
    link::Entity::delete_many()
        .filter(link::Column::CustomerId.eq(customer_id))
        .exec(conn)
        .await?;
    if !tag_ids.is_empty() {
        let rows = tag_ids.iter().map(|tag_id| link::ActiveModel {
            customer_id: sea_orm::ActiveValue::Set(customer_id),
            tag_id: sea_orm::ActiveValue::Set(*tag_id),
        });
        link::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(())
}

/// A tag with the number of customers the caller can see that carry it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct TagUsage {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub usage_count: i64,
}

fn usage_query(visibility: Visibility) -> sea_orm::sea_query::SelectStatement {
    let tags = Alias::new("tags");
    let links = Alias::new("customer_tags");
    let customers = Alias::new("customers");
    let mut count = Query::select();
    count
        .expr(Expr::col((links.clone(), Alias::new("customer_id"))).count())
        .from(links.clone())
        .inner_join(
            customers.clone(),
            Expr::col((customers.clone(), Alias::new("id")))
                .equals((links.clone(), Alias::new("customer_id"))),
        )
        .and_where(
            Expr::col((links.clone(), Alias::new("tag_id")))
                .equals((tags.clone(), Alias::new("id"))),
        )
        .and_where(Expr::col((customers.clone(), Alias::new("archived_at"))).is_null());
    match visibility {
        Visibility::All => {}
        Visibility::OwnedBy(user) => {
            count.and_where(Expr::col((customers.clone(), Alias::new("owner_id"))).eq(user));
        }
        Visibility::AssignedTo(user) => {
            count.and_where(
                Expr::col((customers.clone(), Alias::new("id")))
                    .in_subquery(crate::work_orders::customers_of_agent(user)),
            );
        }
        Visibility::CreatedByKey(_) => {
            count.and_where(Expr::cust("1 = 0"));
        }
    }
    Query::select()
        .column((tags.clone(), Alias::new("id")))
        .column((tags.clone(), Alias::new("name")))
        .column((tags.clone(), Alias::new("created_at")))
        .expr_as(
            Expr::SubQuery(None, Box::new(count.into_sub_query_statement())),
            Alias::new("usage_count"),
        )
        .from(tags)
        .to_owned()
}

/// The catalogue with usage counts over the caller's visible, live customers, by name.
pub async fn list_with_usage(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    after_name: Option<String>,
    limit: u64,
) -> Result<Vec<TagUsage>, StoreError> {
    let mut stmt = usage_query(visibility);
    if let Some(after) = after_name {
        stmt.and_where(Expr::col((Alias::new("tags"), Alias::new("name"))).gt(after));
    }
    stmt.order_by(
        (Alias::new("tags"), Alias::new("name")),
        sea_orm::Order::Asc,
    )
    .limit(limit);
    Ok(
        TagUsage::find_by_statement(conn.get_database_backend().build(&stmt))
            .all(conn)
            .await?,
    )
}

/// One tag with its usage count.
pub async fn usage_of(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    id: Uuid,
) -> Result<Option<TagUsage>, StoreError> {
    let mut stmt = usage_query(visibility);
    stmt.and_where(Expr::col((Alias::new("tags"), Alias::new("id"))).eq(id));
    Ok(
        TagUsage::find_by_statement(conn.get_database_backend().build(&stmt))
            .one(conn)
            .await?,
    )
}

/// Creates a tag.
pub async fn insert(conn: &impl ConnectionTrait, name: String) -> Result<Model, StoreError> {
    let model = ActiveModel {
        id: sea_orm::ActiveValue::Set(Uuid::now_v7()),
        name: sea_orm::ActiveValue::Set(name),
        created_at: sea_orm::ActiveValue::Set(Utc::now()),
    };
    Ok(model.insert(conn).await?)
}

/// Renames a tag.
pub async fn rename(conn: &impl ConnectionTrait, id: Uuid, name: String) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::Name, Expr::value(name))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The customers carrying a tag.
pub async fn customers_with(
    conn: &impl ConnectionTrait,
    tag_id: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    Ok(link::Entity::find()
        .filter(link::Column::TagId.eq(tag_id))
        .order_by_asc(link::Column::CustomerId)
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.customer_id)
        .collect())
}

/// Moves every use of tag `from` onto tag `into` (customers carrying both keep one), then
/// deletes `from`.
pub async fn merge(conn: &impl ConnectionTrait, from: Uuid, into: Uuid) -> Result<(), StoreError> {
    let already: Vec<Uuid> = customers_with(conn, into).await?;
    let moving: Vec<Uuid> = customers_with(conn, from)
        .await?
        .into_iter()
        .filter(|c| !already.contains(c))
        .collect();
    if !moving.is_empty() {
        let rows = moving.iter().map(|customer_id| link::ActiveModel {
            customer_id: sea_orm::ActiveValue::Set(*customer_id),
            tag_id: sea_orm::ActiveValue::Set(into),
        });
        link::Entity::insert_many(rows).exec(conn).await?;
    }
    delete(conn, from).await
}

/// Deletes a tag and its uses.
pub async fn delete(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    link::Entity::delete_many()
        .filter(link::Column::TagId.eq(id))
        .exec(conn)
        .await?;
    Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// Moves a customer's tags onto another (merge); duplicates are kept once.
pub async fn move_all(conn: &impl ConnectionTrait, from: Uuid, to: Uuid) -> Result<(), StoreError> {
    let existing: Vec<Uuid> = link::Entity::find()
        .filter(link::Column::CustomerId.eq(to))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.tag_id)
        .collect();
    let moving: Vec<Uuid> = link::Entity::find()
        .filter(link::Column::CustomerId.eq(from))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.tag_id)
        .filter(|t| !existing.contains(t))
        .collect();
    link::Entity::delete_many()
        .filter(link::Column::CustomerId.eq(from))
        .exec(conn)
        .await?;
    if !moving.is_empty() {
        let rows = moving.iter().map(|tag_id| link::ActiveModel {
            customer_id: sea_orm::ActiveValue::Set(to),
            tag_id: sea_orm::ActiveValue::Set(*tag_id),
        });
        link::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(())
}

/// The ids of the tags with these names, by name (names without a tag are left out).
pub async fn ids_for_names(
    conn: &impl ConnectionTrait,
    names: &[String],
) -> Result<Vec<(String, Uuid)>, StoreError> {
    Ok(by_names(conn, names)
        .await?
        .into_iter()
        .map(|t| (t.name, t.id))
        .collect())
}
