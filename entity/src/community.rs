use sea_orm::entity::prelude::*;

/// 社区: a neighbourhood inside a street.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "communities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub street_id: i64,
    pub name: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::street::Entity",
        from = "Column::StreetId",
        to = "super::street::Column::Id"
    )]
    Street,
}

impl Related<super::street::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Street.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
