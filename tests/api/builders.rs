//! Test builders: streets, communities, users with roles and tags, merchants with clerks,
//! coupons and points, inserted straight into the test's database with sensible defaults and
//! unique phone numbers, one line per object. Tests that exercise a flow still go through
//! GraphQL; these make the world the flow starts from.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::Value;

use entity::coupon::{self, CouponKind, CouponStatus};
use entity::merchant::{self, MerchantStatus};
use entity::merchant_member::{self, MemberRole};
use entity::names::ObjectKind;
use entity::points_entry::{PointsKind, SourceType};
use entity::user_role::Role;
use entity::{user, user_role, user_tag};
use shangju::domain::context::Cx;
use shangju::domain::points::{self, Posting, Source};

use crate::support::{TestApp, TestUser, code, password_hash};

/// The opaque ID of an object, as clients see it.
pub fn gid(kind: ObjectKind, id: i64) -> String {
    shangju::graphql::id::encode(kind, id).0
}

/// A phone number no other builder call in this process has used.
pub fn unique_phone() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("147{:08}", NEXT.fetch_add(1, Ordering::SeqCst))
}

/// Asserts the first error's code, showing the whole response when it differs.
#[track_caller]
pub fn expect_code(v: &Value, expected: &str) {
    assert_eq!(code(v), expected, "{v}");
}

/// Asserts there is no error, showing the response when there is.
#[track_caller]
pub fn expect_ok(v: &Value) {
    assert!(v.get("errors").is_none(), "{v}");
}

pub struct TestStreet {
    pub id: i64,
    pub communities: Vec<TestCommunity>,
}

pub struct TestCommunity {
    pub id: i64,
    pub gid: String,
    pub name: String,
}

impl TestStreet {
    pub fn community(&self, name: &str) -> &TestCommunity {
        self.communities
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no community {name}"))
    }
}

pub struct TestMerchant {
    pub id: i64,
    pub gid: String,
    pub street_id: i64,
    pub owner: TestUser,
}

pub struct TestCoupon {
    pub id: i64,
    pub gid: String,
}

pub struct TestClaim {
    pub gid: String,
    /// As a clerk types it.
    pub code: String,
}

impl TestApp {
    /// A street with the named communities (`九棵树街道` with `新城嘉园` and `翠屏北里` when
    /// called with the defaults used across the suite).
    pub async fn new_street(&self, name: &str, communities: &[&str]) -> TestStreet {
        let (id, ids) = self.street(name, communities).await;
        TestStreet {
            id,
            communities: ids
                .into_iter()
                .zip(communities)
                .map(|(id, name)| TestCommunity {
                    id,
                    gid: gid(ObjectKind::Community, id),
                    name: (*name).to_owned(),
                })
                .collect(),
        }
    }

    /// A staff member who administers the street.
    pub async fn new_street_admin(&self, street: &TestStreet) -> TestUser {
        self.new_user()
            .staff_of(street)
            .street_admin()
            .insert()
            .await
    }

    pub fn new_user(&self) -> UserBuilder<'_> {
        UserBuilder {
            app: self,
            phone: None,
            name: None,
            roles: vec![Role::Resident],
            street_id: None,
            community_id: None,
            tags: Vec::new(),
            birth_date: None,
            points: 0,
            street_admin: false,
        }
    }

    /// An active merchant in the street's first community, owned by a new resident.
    pub fn new_merchant(&self, street: &TestStreet) -> MerchantBuilder<'_> {
        let mut b = self.new_merchant_in(street.id);
        b.community_id = street.communities.first().map(|c| c.id);
        b
    }

    pub fn new_merchant_in(&self, street_id: i64) -> MerchantBuilder<'_> {
        MerchantBuilder {
            app: self,
            street_id,
            community_id: None,
            name: "社区食堂".to_owned(),
            category: "CANTEEN".to_owned(),
            status: MerchantStatus::Active,
            owner: None,
            clerks: Vec::new(),
        }
    }

    pub fn new_coupon<'a>(&'a self, merchant: &'a TestMerchant) -> CouponBuilder<'a> {
        let now = shangju::clock::Clock::now(&self.clock);
        CouponBuilder {
            app: self,
            merchant,
            title: "午餐 8 折".to_owned(),
            description: String::new(),
            stock: Some(100),
            per_user_limit: 1,
            points_cost: 0,
            status: CouponStatus::Active,
            valid_from: now - Duration::hours(1),
            valid_until: now + Duration::days(30),
        }
    }

    /// An unredeemed claim of the coupon by the user (stock and counters left alone).
    pub async fn new_claim(&self, coupon: &TestCoupon, holder: &TestUser) -> TestClaim {
        let c = entity::coupon::Entity::find_by_id(coupon.id)
            .one(&self.db)
            .await
            .expect("read coupon")
            .expect("coupon exists");
        let code = shangju::domain::codes::new_code();
        let claim = entity::coupon_claim::ActiveModel {
            coupon_id: Set(c.id),
            merchant_id: Set(c.merchant_id),
            user_id: Set(holder.id),
            code: Set(code.clone()),
            status: Set(entity::coupon_claim::ClaimStatus::Claimed),
            claimed_at: Set(shangju::clock::Clock::now(&self.clock)),
            expires_at: Set(c.valid_until),
            points_spent: Set(0),
            redeemed_at: Set(None),
            redeemed_by: Set(None),
            redeem_key: Set(None),
            voided_at: Set(None),
            voided_by: Set(None),
            void_reason: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .expect("insert claim");
        TestClaim {
            gid: gid(ObjectKind::CouponClaim, claim.id),
            code: shangju::domain::codes::display_code(&code),
        }
    }

    /// Credits `amount` points to the user through the ledger, as volunteering would.
    pub async fn give_points(&self, user: &TestUser, amount: i32) {
        let source = Source::new(SourceType::Demo, uuid::Uuid::new_v4());
        points::post(
            &Cx::system(&self.state),
            Posting {
                user_id: user.id,
                street_id: None,
                amount,
                kind: PointsKind::Volunteering,
                source,
                note: None,
            },
        )
        .await
        .expect("post points");
    }
}

pub struct UserBuilder<'a> {
    app: &'a TestApp,
    phone: Option<String>,
    name: Option<String>,
    roles: Vec<Role>,
    street_id: Option<i64>,
    community_id: Option<i64>,
    tags: Vec<String>,
    birth_date: Option<NaiveDate>,
    points: i32,
    street_admin: bool,
}

impl UserBuilder<'_> {
    /// An administrator of the street it is staff of.
    pub fn street_admin(mut self) -> Self {
        self.street_admin = true;
        self
    }

    pub fn phone(mut self, phone: &str) -> Self {
        self.phone = Some(phone.to_owned());
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Replaces the default `RESIDENT`.
    pub fn roles(mut self, roles: &[Role]) -> Self {
        self.roles = roles.to_vec();
        self
    }

    /// A staff member of the street.
    pub fn staff_of(mut self, street: &TestStreet) -> Self {
        self.roles = vec![Role::Staff];
        self.street_id = Some(street.id);
        self
    }

    pub fn street(mut self, street_id: i64) -> Self {
        self.street_id = Some(street_id);
        self
    }

    /// Lives in the community (and so in its street).
    pub fn lives_in(mut self, street: &TestStreet, community: &str) -> Self {
        self.street_id = Some(street.id);
        self.community_id = Some(street.community(community).id);
        self
    }

    pub fn tag(mut self, tag: &str) -> Self {
        self.tags.push(tag.to_owned());
        self
    }

    pub fn born(mut self, date: NaiveDate) -> Self {
        self.birth_date = Some(date);
        self
    }

    pub fn points(mut self, points: i32) -> Self {
        self.points = points;
        self
    }

    pub async fn insert(self) -> TestUser {
        let app = self.app;
        let phone = self.phone.unwrap_or_else(unique_phone);
        let now = shangju::clock::Clock::now(&app.clock);
        let u = user::ActiveModel {
            display_name: Set(self.name.unwrap_or_else(|| format!("用户{}", &phone[7..]))),
            phone: Set(phone.clone()),
            password_hash: Set(password_hash().to_owned()),
            street_id: Set(self.street_id),
            community_id: Set(self.community_id),
            disabled: Set(false),
            birth_date: Set(self.birth_date),
            leaderboard_opt_out: Set(false),
            is_street_admin: Set(self.street_admin),
            session_version: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .expect("insert user");
        for role in &self.roles {
            user_role::ActiveModel {
                user_id: Set(u.id),
                role: Set(*role),
            }
            .insert(&app.db)
            .await
            .expect("insert role");
        }
        for tag in &self.tags {
            user_tag::ActiveModel {
                user_id: Set(u.id),
                tag: Set(tag.clone()),
            }
            .insert(&app.db)
            .await
            .expect("insert tag");
        }
        let user = TestUser {
            id: u.id,
            token: app.token_for(u.id, 0),
            phone,
        };
        if self.points > 0 {
            app.give_points(&user, self.points).await;
        }
        user
    }
}

pub struct MerchantBuilder<'a> {
    app: &'a TestApp,
    street_id: i64,
    community_id: Option<i64>,
    name: String,
    category: String,
    status: MerchantStatus,
    owner: Option<TestUser>,
    clerks: Vec<i64>,
}

impl MerchantBuilder<'_> {
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    pub fn in_community(mut self, community: &TestCommunity) -> Self {
        self.community_id = Some(community.id);
        self
    }

    pub fn community_id(mut self, id: i64) -> Self {
        self.community_id = Some(id);
        self
    }

    /// `ACTIVE` by default; a `PENDING` merchant's owner has not been given `MERCHANT` yet.
    pub fn status(mut self, status: MerchantStatus) -> Self {
        self.status = status;
        self
    }

    /// An existing user as the owner (a new resident otherwise).
    pub fn owner(mut self, owner: TestUser) -> Self {
        self.owner = Some(owner);
        self
    }

    pub fn clerk(mut self, clerk: &TestUser) -> Self {
        self.clerks.push(clerk.id);
        self
    }

    pub async fn insert(self) -> TestMerchant {
        let app = self.app;
        let owner = match self.owner {
            Some(o) => o,
            None => app.new_user().insert().await,
        };
        let now = shangju::clock::Clock::now(&app.clock);
        let m = merchant::ActiveModel {
            street_id: Set(self.street_id),
            community_id: Set(self.community_id),
            owner_user_id: Set(owner.id),
            name: Set(self.name),
            category: Set(self.category),
            address: Set("九棵树东路 1 号".to_owned()),
            contact_phone: Set("13911112222".to_owned()),
            licence_no: Set(format!("LIC-{}", owner.phone)),
            description: Set(String::new()),
            status: Set(self.status),
            status_reason: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .expect("insert merchant");
        let members = std::iter::once((owner.id, MemberRole::Owner))
            .chain(self.clerks.iter().map(|c| (*c, MemberRole::Clerk)));
        for (user_id, role) in members {
            merchant_member::ActiveModel {
                merchant_id: Set(m.id),
                user_id: Set(user_id),
                role: Set(role),
                created_at: Set(now),
            }
            .insert(&app.db)
            .await
            .expect("insert member");
            let acts = role == MemberRole::Clerk || self.status != MerchantStatus::Pending;
            if acts {
                shangju::domain::account::grant_role(&app.db, user_id, Role::Merchant)
                    .await
                    .expect("grant MERCHANT");
            }
        }
        TestMerchant {
            id: m.id,
            gid: gid(ObjectKind::Merchant, m.id),
            street_id: m.street_id,
            owner,
        }
    }
}

pub struct CouponBuilder<'a> {
    app: &'a TestApp,
    merchant: &'a TestMerchant,
    title: String,
    description: String,
    stock: Option<i32>,
    per_user_limit: i32,
    points_cost: i32,
    status: CouponStatus,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
}

impl CouponBuilder<'_> {
    pub fn title(mut self, title: &str) -> Self {
        self.title = title.to_owned();
        self
    }

    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_owned();
        self
    }

    /// `None` for unlimited.
    pub fn stock(mut self, stock: Option<i32>) -> Self {
        self.stock = stock;
        self
    }

    pub fn per_user_limit(mut self, n: i32) -> Self {
        self.per_user_limit = n;
        self
    }

    pub fn points_cost(mut self, points: i32) -> Self {
        self.points_cost = points;
        self
    }

    pub fn status(mut self, status: CouponStatus) -> Self {
        self.status = status;
        self
    }

    pub fn valid(mut self, from: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        self.valid_from = from;
        self.valid_until = until;
        self
    }

    pub async fn insert(self) -> TestCoupon {
        let app = self.app;
        let now = shangju::clock::Clock::now(&app.clock);
        let c = coupon::Terms {
            merchant_id: self.merchant.id,
            street_id: self.merchant.street_id,
            title: self.title,
            description: self.description,
            kind: CouponKind::PercentOff,
            amount_fen: None,
            min_spend_fen: None,
            percent_off: Some(20),
            item_name: None,
            total_stock: self.stock,
            per_user_limit: self.per_user_limit,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            min_age: None,
            points_cost: self.points_cost,
        }
        .into_row(self.status, now)
        .insert(&app.db)
        .await
        .expect("insert coupon");
        TestCoupon {
            id: c.id,
            gid: gid(ObjectKind::Coupon, c.id),
        }
    }
}
