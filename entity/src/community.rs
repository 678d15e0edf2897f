use sea_orm::entity::prelude::*;

/// Whether a community takes new members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CommunityStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// Keeps its history (residents, merchants, figures) and takes no new members.
    #[sea_orm(string_value = "ARCHIVED")]
    Archived,
}

/// 社区: a neighbourhood inside a street.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "communities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub street_id: i64,
    pub name: String,
    pub created_at: DateTimeUtc,
    pub status: CommunityStatus,
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
