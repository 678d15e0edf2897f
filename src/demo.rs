//! The demo alliance that a fresh development start loads: 九棵树街道 as the seed reports
//! describe it, with its 57 members and a few of their offers, one account per role, and the
//! award to the courier 陈文林 with its four-item package. Loading twice changes nothing.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use entity::award::AwardStatus;
use entity::benefit_package::PackageStatus;
use entity::coupon::{CouponKind, CouponStatus};
use entity::merchant::MerchantStatus;
use entity::merchant_member::MemberRole;
use entity::package_item::{ItemKind, ItemStatus};
use entity::user_role::Role;
use entity::{
    award, benefit_package, community, coupon, coupon_audience, entitlement, entitlement_use,
    merchant, merchant_member, package_item, user, user_tag,
};

use crate::clock::local_date;
use crate::domain::account::grant_role;
use crate::domain::context::Cx;
use crate::domain::points::{self, PointsKind, Posting, Source, SourceType};
use crate::domain::street;
use crate::domain::values::Password;
use crate::error::AppResult;
use crate::state::AppState;

pub const DEMO_STREET: &str = "九棵树街道";
pub const DEMO_COMMUNITIES: [&str; 4] = ["新城嘉园", "翠屏北里", "云景里", "园景东区"];
pub use crate::auth::weak::DEMO_PASSWORD;

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

/// The courier whose warning of a gas leak in a 新城嘉园 stairwell the street thanked with
/// the alliance's warm-heart package (seed report 000).
pub const DEMO_COURIER: DemoAccount = DemoAccount {
    role: Role::Resident,
    phone: "13800000004",
    name: "陈文林",
    community: Some("新城嘉园"),
    tags: &["COURIER"],
};

/// The members the seed reports name; the rest of the 57 are ordinary shops of the street.
const NAMED_MERCHANTS: [(&str, &str, &str); 8] = [
    ("社区食堂", "CANTEEN", "新城嘉园"),
    ("七鲜超市", "SUPERMARKET", "云景里"),
    ("领展购物广场", "SHOPPING_MALL", "云景里"),
    ("贵友大厦通州店", "SHOPPING_MALL", "园景东区"),
    ("云景里理发店", "BARBER", "云景里"),
    ("九棵树社区医院", "HOSPITAL", "翠屏北里"),
    ("副中心健康体检中心", "HOSPITAL", "新城嘉园"),
    ("新城嘉园物业服务中心", "PROPERTY_COMPANY", "新城嘉园"),
];
/// The other members: the shops, services and enterprises of a street, spread over its
/// communities.
const OTHER_MERCHANTS: [(&str, &str, &str); 49] = [
    ("老北京炸酱面馆", "RESTAURANT", "新城嘉园"),
    ("九棵树包子铺", "RESTAURANT", "翠屏北里"),
    ("云景里川味小厨", "RESTAURANT", "云景里"),
    ("园景东区饺子馆", "RESTAURANT", "园景东区"),
    ("通州烤鸭坊", "RESTAURANT", "新城嘉园"),
    ("运河边早点铺", "RESTAURANT", "翠屏北里"),
    ("物美便利店（翠屏北里店）", "RETAIL", "翠屏北里"),
    ("好邻居便利店", "RETAIL", "新城嘉园"),
    ("社区五金店", "RETAIL", "园景东区"),
    ("晨光文具店", "RETAIL", "云景里"),
    ("花语鲜花店", "RETAIL", "翠屏北里"),
    ("老街眼镜店", "RETAIL", "新城嘉园"),
    ("京东便民生鲜站", "SUPERMARKET", "园景东区"),
    ("百果园（云景里店）", "SUPERMARKET", "云景里"),
    ("翠屏北里菜站", "SUPERMARKET", "翠屏北里"),
    ("同仁堂大药房（九棵树店）", "PHARMACY", "新城嘉园"),
    ("金象大药房", "PHARMACY", "云景里"),
    ("园景东区平价药店", "PHARMACY", "园景东区"),
    ("九棵树口腔诊所", "CLINIC", "翠屏北里"),
    ("康复理疗诊所", "CLINIC", "新城嘉园"),
    ("中医推拿馆", "CLINIC", "云景里"),
    ("翠屏北里美发工作室", "BARBER", "翠屏北里"),
    ("园景东区老理发铺", "BARBER", "园景东区"),
    ("家家乐家政服务", "SERVICE", "新城嘉园"),
    ("便民修鞋配钥匙", "SERVICE", "翠屏北里"),
    ("小哥快修家电", "SERVICE", "云景里"),
    ("社区洗衣店", "SERVICE", "园景东区"),
    ("安心养老驿站", "SERVICE", "新城嘉园"),
    ("九棵树快递驿站", "SERVICE", "翠屏北里"),
    ("阳光托育园", "EDUCATION", "云景里"),
    ("墨香少儿书法学堂", "EDUCATION", "园景东区"),
    ("乐知科学课堂", "EDUCATION", "新城嘉园"),
    ("老年大学九棵树教学点", "EDUCATION", "翠屏北里"),
    ("运河体育健身中心", "SERVICE", "云景里"),
    ("京通科技有限公司", "ENTERPRISE", "新城嘉园"),
    ("副中心建设集团", "ENTERPRISE", "园景东区"),
    ("九棵树文化传媒", "ENTERPRISE", "云景里"),
    ("通州燃气服务站", "ENTERPRISE", "翠屏北里"),
    ("北京银行九棵树支行", "ENTERPRISE", "新城嘉园"),
    ("中国邮政九棵树营业所", "ENTERPRISE", "云景里"),
    ("翠屏北里物业管理处", "PROPERTY_COMPANY", "翠屏北里"),
    ("云景里物业服务中心", "PROPERTY_COMPANY", "云景里"),
    ("园景东区物业中心", "PROPERTY_COMPANY", "园景东区"),
    ("九棵树社区卫生服务站", "CLINIC", "园景东区"),
    ("红星电影院", "OTHER", "云景里"),
    ("运河书店", "RETAIL", "新城嘉园"),
    ("九棵树志愿者之家", "OTHER", "翠屏北里"),
    ("童趣绘本馆", "EDUCATION", "园景东区"),
    ("社区宠物医院", "CLINIC", "新城嘉园"),
];
pub const DEMO_MERCHANTS: usize = NAMED_MERCHANTS.len() + OTHER_MERCHANTS.len();

/// Loads whatever of the demo alliance is missing. Returns whether anything was added.
pub async fn load(state: &AppState) -> AppResult<bool> {
    let hash = state
        .passwords
        .hash(&Password::unchecked(DEMO_PASSWORD.to_owned()))
        .await?;
    let system = Cx::system(state);
    let txn = system.write().await?;
    let now = txn.now();
    let street = street::find_or_create(&txn, DEMO_STREET).await?;
    let mut communities = Vec::new();
    for name in DEMO_COMMUNITIES {
        communities.push(street::find_or_create_community(&txn, street.id, name).await?);
    }
    let mut added = false;
    for account in DEMO_ACCOUNTS.iter().chain([&DEMO_COURIER]) {
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
        let user = user::ActiveModel {
            phone: Set(account.phone.to_owned()),
            display_name: Set(account.name.to_owned()),
            password_hash: Set(hash.clone()),
            street_id: Set(Some(street.id)),
            community_id: Set(community.map(|c| c.id)),
            disabled: Set(false),
            birth_date: Set(None),
            leaderboard_opt_out: Set(false),
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
    if merchant::Entity::find()
        .filter(merchant::Column::StreetId.eq(street.id))
        .count(&txn)
        .await?
        == 0
    {
        load_merchants(&txn, street.id, &communities, &hash, now).await?;
        added = true;
    }
    if let Some(resident) = user::Entity::find()
        .filter(user::Column::Phone.eq(DEMO_ACCOUNTS[0].phone))
        .one(&txn)
        .await?
    {
        points::post(
            &txn,
            Posting {
                user_id: resident.id,
                street_id: Some(street.id),
                amount: 120,
                kind: PointsKind::Volunteering,
                source: Source::new(SourceType::Demo, "volunteer-academy"),
                note: Some("志愿学院首期培训及地铁站引导志愿服务".to_owned()),
            },
        )
        .await?;
    }
    let awarded = award::Entity::find()
        .filter(award::Column::StreetId.eq(street.id))
        .filter(award::Column::Title.eq(DEMO_AWARD_TITLE))
        .one(&txn)
        .await?;
    if awarded.is_none() {
        load_award(&txn, street.id, &communities).await?;
        added = true;
    }
    txn.commit().await?;
    Ok(added)
}

pub const DEMO_AWARD_TITLE: &str = "燃气泄漏及时预警";
/// Lunches 陈文林 has had at the canteen since the grant, one a day.
pub const DEMO_LUNCHES_USED: i32 = 37;

/// One part of the warm-heart package: its provider (an index into [`NAMED_MERCHANTS`]), what
/// it gives, and the uses already made of it (amounts for a voucher).
struct DemoItem {
    provider: usize,
    kind: ItemKind,
    description: &'static str,
    total_uses: Option<i32>,
    per_day_limit: Option<i32>,
    valid_days: i32,
    value_fen: Option<i64>,
}

const DEMO_PACKAGE: [DemoItem; 4] = [
    DemoItem {
        provider: 0,
        kind: ItemKind::Entitlement,
        description: "全年免费午餐，每天一份",
        total_uses: Some(365),
        per_day_limit: Some(1),
        valid_days: 365,
        value_fen: None,
    },
    DemoItem {
        provider: 1,
        kind: ItemKind::Voucher,
        description: "生鲜消费券",
        total_uses: None,
        per_day_limit: None,
        valid_days: 365,
        value_fen: Some(50_000),
    },
    DemoItem {
        provider: 5,
        kind: ItemKind::Entitlement,
        description: "健康体检套餐一次",
        total_uses: Some(1),
        per_day_limit: None,
        valid_days: 180,
        value_fen: None,
    },
    DemoItem {
        provider: 6,
        kind: ItemKind::Entitlement,
        description: "定制健康体检套餐一次",
        total_uses: Some(1),
        per_day_limit: None,
        valid_days: 180,
        value_fen: None,
    },
];

/// Voucher spends at 七鲜超市 since the grant, in fen.
const DEMO_VOUCHER_SPENT: [i64; 2] = [8_650, 12_000];

/// The award to 陈文林, nominated by a neighbour, approved and granted 40 days ago with the
/// four-item package (confirmed by its four providers) and 200 points; lunches eaten daily
/// since, two supermarket visits.
async fn load_award(
    txn: &Cx<'_>,
    street_id: i64,
    communities: &[community::Model],
) -> AppResult<()> {
    let by_phone = |phone: &'static str| {
        user::Entity::find()
            .filter(user::Column::Phone.eq(phone))
            .one(txn)
    };
    let (Some(courier), Some(neighbour), Some(staff)) = (
        by_phone(DEMO_COURIER.phone).await?,
        by_phone(DEMO_ACCOUNTS[0].phone).await?,
        by_phone(DEMO_ACCOUNTS[2].phone).await?,
    ) else {
        return Ok(());
    };
    let Some(xincheng) = communities.iter().find(|c| c.name == "新城嘉园") else {
        return Ok(());
    };
    let mut providers = Vec::new();
    for d in &DEMO_PACKAGE {
        let name = NAMED_MERCHANTS[d.provider].0;
        let Some(m) = merchant::Entity::find()
            .filter(merchant::Column::StreetId.eq(street_id))
            .filter(merchant::Column::Name.eq(name))
            .one(txn)
            .await?
        else {
            return Ok(());
        };
        providers.push(m);
    }
    let now = txn.now();
    let granted_at = now - chrono::Duration::days(40);
    let package = benefit_package::ActiveModel {
        street_id: Set(street_id),
        title: Set("商居同盟暖心大礼包".to_owned()),
        story: Set(
            "社区食堂送来全年免费午餐卡，生鲜超市备好消费券，两家医院定制了健康体检套餐。"
                .to_owned(),
        ),
        copies: Set(1),
        granted_count: Set(1),
        status: Set(PackageStatus::Ready),
        status_reason: Set(None),
        created_by: Set(staff.id),
        created_at: Set(granted_at - chrono::Duration::days(2)),
        updated_at: Set(granted_at - chrono::Duration::days(1)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let mut items = Vec::new();
    for (d, m) in DEMO_PACKAGE.iter().zip(&providers) {
        items.push(
            package_item::ActiveModel {
                package_id: Set(package.id),
                merchant_id: Set(m.id),
                kind: Set(d.kind),
                description: Set(d.description.to_owned()),
                total_uses: Set(d.total_uses),
                per_day_limit: Set(d.per_day_limit),
                valid_days: Set(d.valid_days),
                value_fen: Set(d.value_fen),
                status: Set(ItemStatus::Confirmed),
                decline_reason: Set(None),
                created_at: Set(package.created_at),
                updated_at: Set(package.updated_at),
                ..Default::default()
            }
            .insert(txn)
            .await?,
        );
    }
    let award = award::ActiveModel {
        street_id: Set(street_id),
        community_id: Set(xincheng.id),
        nominator_id: Set(neighbour.id),
        nominee_user_id: Set(Some(courier.id)),
        nominee_name: Set(courier.display_name.clone()),
        nominee_phone: Set(None),
        title: Set(DEMO_AWARD_TITLE.to_owned()),
        deed: Set("配送途中察觉楼道内异常的燃气气味，火速通知本层居民撤离，并赶往保安室精准指认异味楼层，才匆匆离去送单。".to_owned()),
        happened_on: Set((granted_at - chrono::Duration::days(5)).date_naive()),
        evidence: Set(Some("新城嘉园社区工作者、小区保安及燃气公司现场处置记录".to_owned())),
        status: Set(AwardStatus::Granted),
        status_reason: Set(Some("挺身而出，化解危及全楼的险情".to_owned())),
        package_id: Set(Some(package.id)),
        bonus_points: Set(Some(200)),
        granted_at: Set(Some(granted_at)),
        claim_code_digest: Set(None),
        claimed_at: Set(None),
        created_at: Set(granted_at - chrono::Duration::days(4)),
        updated_at: Set(granted_at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let given =
        crate::domain::entitlement::create_for_grant(txn, &award, &items, courier.id, granted_at)
            .await?;
    points::post(
        txn,
        Posting {
            user_id: courier.id,
            street_id: Some(street_id),
            amount: 200,
            kind: PointsKind::AwardBonus,
            source: Source::new(SourceType::Award, award.id),
            note: Some(DEMO_AWARD_TITLE.to_owned()),
        },
    )
    .await?;
    let tz = street::time_zone(txn, Some(street_id)).await?;
    let noon = |day: i64| granted_at + chrono::Duration::days(day) + chrono::Duration::hours(3);
    for (e, m) in given.iter().zip(&providers) {
        // Each provider's owner served at its counter.
        let uses: Vec<(chrono::DateTime<chrono::Utc>, Option<i64>)> = match e.kind {
            ItemKind::Voucher => DEMO_VOUCHER_SPENT
                .iter()
                .enumerate()
                .map(|(i, fen)| (noon(3 + 10 * i as i64), Some(*fen)))
                .collect(),
            ItemKind::Entitlement if e.per_day_limit == Some(1) => (1..=DEMO_LUNCHES_USED)
                .map(|d| (noon(i64::from(d)), None))
                .collect(),
            ItemKind::Entitlement => Vec::new(),
        };
        let (mut used, mut left) = (0, e.remaining_value_fen);
        for (at, amount) in &uses {
            used += 1;
            left = left.map(|l| l - amount.unwrap_or(0));
            entitlement_use::ActiveModel {
                entitlement_id: Set(e.id),
                merchant_id: Set(m.id),
                served_by: Set(m.owner_user_id),
                amount_fen: Set(*amount),
                used_count_after: Set(used),
                remaining_value_after: Set(left),
                local_day: Set(local_date(*at, tz)),
                request_id: Set(None),
                created_at: Set(*at),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
        if let Some((last, _)) = uses.last() {
            let mut am: entitlement::ActiveModel = e.clone().into();
            am.used_count = Set(used);
            am.remaining_value_fen = Set(left);
            am.last_used_at = Set(Some(*last));
            am.update(txn).await?;
        }
    }
    Ok(())
}

/// 57 active members, each with an owner account, and a few offers, among them the
/// silver-economy offers (银发优惠) and a points reward (商家回馈).
async fn load_merchants(
    txn: &impl ConnectionTrait,
    street_id: i64,
    communities: &[community::Model],
    hash: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let community = |name: &str| communities.iter().find(|c| c.name == name).map(|c| c.id);
    let demo_owner = user::Entity::find()
        .filter(user::Column::Phone.eq(DEMO_ACCOUNTS[1].phone))
        .one(txn)
        .await?;
    for (i, (name, category, place)) in NAMED_MERCHANTS
        .iter()
        .chain(OTHER_MERCHANTS.iter())
        .copied()
        .enumerate()
    {
        let (name, community_id) = (name.to_owned(), community(place));
        let owner_id = match (i, &demo_owner) {
            (0, Some(owner)) => owner.id,
            _ => {
                let owner = user::ActiveModel {
                    phone: Set(format!("1390000{i:04}")),
                    display_name: Set(format!("{name}店长")),
                    password_hash: Set(hash.to_owned()),
                    street_id: Set(Some(street_id)),
                    community_id: Set(community_id),
                    disabled: Set(false),
                    birth_date: Set(None),
                    leaderboard_opt_out: Set(false),
                    session_version: Set(0),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(txn)
                .await?;
                grant_role(txn, owner.id, Role::Merchant).await?;
                owner.id
            }
        };
        let m = merchant::ActiveModel {
            street_id: Set(street_id),
            community_id: Set(community_id),
            owner_user_id: Set(owner_id),
            name: Set(name.clone()),
            category: Set(category.to_owned()),
            address: Set(format!("北京市通州区九棵树街道 {} 号", i + 1)),
            contact_phone: Set(format!("1390000{i:04}")),
            licence_no: Set(format!("DEMO-{:04}", i + 1)),
            description: Set(format!("商居同盟成员：{name}")),
            status: Set(MerchantStatus::Active),
            status_reason: Set(Some("商居同盟首批成员".to_owned())),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        merchant_member::ActiveModel {
            merchant_id: Set(m.id),
            user_id: Set(owner_id),
            role: Set(MemberRole::Owner),
            created_at: Set(now),
        }
        .insert(txn)
        .await?;
        for offer in DEMO_COUPONS.iter().filter(|c| c.merchant == i) {
            let c = coupon::Terms {
                merchant_id: m.id,
                street_id,
                title: offer.title.to_owned(),
                description: String::new(),
                kind: offer.kind,
                amount_fen: offer.amount_fen,
                min_spend_fen: offer.min_spend_fen,
                percent_off: offer.percent_off,
                item_name: offer.item_name.map(str::to_owned),
                total_stock: Some(offer.stock),
                per_user_limit: 1,
                valid_from: now - chrono::Duration::days(1),
                valid_until: now + chrono::Duration::days(90),
                min_age: None,
                points_cost: offer.points_cost,
            }
            .into_row(CouponStatus::Active, now)
            .insert(txn)
            .await?;
            if offer.seniors {
                coupon_audience::ActiveModel {
                    coupon_id: Set(c.id),
                    rule: Set(entity::coupon_audience::AudienceRule::Tag),
                    value: Set("SENIOR".to_owned()),
                }
                .insert(txn)
                .await?;
            }
        }
    }
    Ok(())
}

struct DemoCoupon {
    merchant: usize,
    title: &'static str,
    kind: CouponKind,
    amount_fen: Option<i64>,
    min_spend_fen: Option<i64>,
    percent_off: Option<i32>,
    item_name: Option<&'static str>,
    stock: i32,
    points_cost: i32,
    seniors: bool,
}

const DEMO_COUPONS: [DemoCoupon; 5] = [
    DemoCoupon {
        merchant: 0,
        title: "银发午餐 8 折",
        kind: CouponKind::PercentOff,
        amount_fen: None,
        min_spend_fen: None,
        percent_off: Some(20),
        item_name: None,
        stock: 200,
        points_cost: 0,
        seniors: true,
    },
    DemoCoupon {
        merchant: 0,
        title: "积分换午餐",
        kind: CouponKind::FreeItem,
        amount_fen: None,
        min_spend_fen: None,
        percent_off: None,
        item_name: Some("午餐一份"),
        stock: 50,
        points_cost: 100,
        seniors: false,
    },
    DemoCoupon {
        merchant: 1,
        title: "生鲜满 50 减 10",
        kind: CouponKind::AmountOff,
        amount_fen: Some(1000),
        min_spend_fen: Some(5000),
        percent_off: None,
        item_name: None,
        stock: 500,
        points_cost: 0,
        seniors: false,
    },
    DemoCoupon {
        merchant: 3,
        title: "银发经济消费季 满 200 减 30",
        kind: CouponKind::AmountOff,
        amount_fen: Some(3000),
        min_spend_fen: Some(20000),
        percent_off: None,
        item_name: None,
        stock: 300,
        points_cost: 0,
        seniors: true,
    },
    DemoCoupon {
        merchant: 4,
        title: "老人理发 5 元代金券",
        kind: CouponKind::CashVoucher,
        amount_fen: Some(500),
        min_spend_fen: None,
        percent_off: None,
        item_name: None,
        stock: 100,
        points_cost: 0,
        seniors: true,
    },
];
