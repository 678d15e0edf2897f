//! The demo alliance that a fresh development start loads: 九棵树街道 as the seed reports
//! describe it, and one account per role. Loading twice changes nothing.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use entity::user_role::Role;
use entity::{user, user_tag};

use crate::db::begin_write;
use crate::domain::account::grant_role;
use crate::domain::street;
use crate::domain::values::Password;
use crate::error::AppResult;
use crate::state::AppState;

pub const DEMO_STREET: &str = "九棵树街道";
pub const DEMO_COMMUNITIES: [&str; 4] = ["新城嘉园", "翠屏北里", "云景里", "园景东区"];
pub const DEMO_PASSWORD: &str = "shangju-demo-2024";

/// One demo account.
pub struct DemoAccount {
    pub role: Role,
    pub phone: &'static str,
    pub name: &'static str,
    community: Option<&'static str>,
    tags: &'static [&'static str],
}

pub const DEMO_ACCOUNTS: [DemoAccount; 3] = [
    DemoAccount {
        role: Role::Resident,
        phone: "13800000001",
        name: "曹阿姨",
        community: Some("翠屏北里"),
        tags: &["SENIOR", "VOLUNTEER"],
    },
    DemoAccount {
        role: Role::Merchant,
        phone: "13800000002",
        name: "社区食堂王店长",
        community: Some("新城嘉园"),
        tags: &[],
    },
    DemoAccount {
        role: Role::Staff,
        phone: "13800000003",
        name: "街道李干事",
        community: None,
        tags: &[],
    },
];

/// Loads whatever of the demo alliance is missing. Returns whether anything was added.
pub async fn load(state: &AppState) -> AppResult<bool> {
    let hash = state
        .passwords
        .hash(&Password::unchecked(DEMO_PASSWORD.to_owned()))
        .await?;
    let txn = begin_write(&state.db).await?;
    let street = street::find_or_create(&txn, DEMO_STREET).await?;
    let mut communities = Vec::new();
    for name in DEMO_COMMUNITIES {
        communities.push(street::find_or_create_community(&txn, street.id, name).await?);
    }
    let mut added = false;
    for account in &DEMO_ACCOUNTS {
        let exists = user::Entity::find()
            .filter(user::Column::Phone.eq(account.phone))
            .one(&txn)
            .await?
            .is_some();
        if exists {
            continue;
        }
        added = true;
        let community = account
            .community
            .and_then(|name| communities.iter().find(|c| c.name == name));
        let now = Utc::now();
        let user = user::ActiveModel {
            phone: Set(account.phone.to_owned()),
            display_name: Set(account.name.to_owned()),
            password_hash: Set(hash.clone()),
            street_id: Set(Some(street.id)),
            community_id: Set(community.map(|c| c.id)),
            disabled: Set(false),
            session_version: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        // A merchant's owner is usually a resident of the street too.
        if account.role != Role::Staff {
            grant_role(&txn, user.id, Role::Resident).await?;
        }
        grant_role(&txn, user.id, account.role).await?;
        for tag in account.tags {
            user_tag::ActiveModel {
                user_id: Set(user.id),
                tag: Set((*tag).to_owned()),
            }
            .insert(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    Ok(added)
}
