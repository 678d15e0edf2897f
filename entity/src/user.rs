use sea_orm::entity::prelude::*;

/// A person with an account. Roles and tags live in their own tables.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub phone: String,
    pub display_name: String,
    pub password_hash: String,
    /// The street a staff member works for, or the street of the resident's community.
    pub street_id: Option<i64>,
    pub community_id: Option<i64>,
    /// For audience rules with a minimum age; optional.
    pub birth_date: Option<Date>,
    pub disabled: bool,
    /// Keeps the user off public leaderboards.
    pub leaderboard_opt_out: bool,
    /// Shows the user's name on the public honour roll; without it their award shows there
    /// with the name masked.
    pub honour_roll_consent: bool,
    /// A staff member who adds and removes the street's staff.
    pub is_street_admin: bool,
    /// Bumped whenever every token issued so far must stop working (password change).
    pub session_version: i32,
    /// When an SMS code last proved that the account's holder holds its phone.
    pub phone_verified_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::user_role::Entity")]
    UserRole,
    #[sea_orm(has_many = "super::user_tag::Entity")]
    UserTag,
}

impl Related<super::user_role::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UserRole.def()
    }
}

impl Related<super::user_tag::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UserTag.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
