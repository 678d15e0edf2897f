//! Coupons: lifecycle, validation, audience, claiming, redemption, voiding, concurrency and the
//! cost of nested lists.

use chrono::{Duration, Utc};
use entity::user_role::Role;
use serde_json::{Value, json};

use crate::builders::*;
use crate::support::*;

/// A street with staff and one active merchant (社区食堂 in 新城嘉园).
struct Shop {
    app: TestApp,
    street: i64,
    place: TestStreet,
    staff: TestUser,
    shop: TestMerchant,
    merchant: String,
    owner: TestUser,
    community: String,
}

async fn shop() -> Shop {
    let app = TestApp::spawn().await;
    let place = app
        .new_street("九棵树街道", &["新城嘉园", "翠屏北里"])
        .await;
    let staff = app.new_user().staff_of(&place).insert().await;
    let m = app.new_merchant(&place).insert().await;
    Shop {
        street: place.id,
        community: place.community("新城嘉园").gid.clone(),
        merchant: m.gid.clone(),
        owner: m.owner.clone(),
        shop: m,
        staff,
        place,
        app,
    }
}

const COUPON: &str =
    "query($id: ID!) { coupon(id: $id) { status remainingStock claimedCount redeemedCount } }";

fn move_op(name: &str) -> String {
    format!("mutation($id: ID!) {{ {name}(id: $id) {{ status }} }}")
}

#[tokio::test]
async fn the_lifecycle_is_followed_and_other_moves_are_invalid() {
    let s = shop().await;
    let input = json!({ "input": { "merchantId": s.merchant, "title": "满 50 减 10", "kind": "AMOUNT_OFF",
        "amountFen": 1000, "minSpendFen": 5000, "totalStock": 10,
        "validFrom": Utc::now().to_rfc3339(), "validUntil": (Utc::now() + Duration::days(7)).to_rfc3339() } });
    let v = s.app.gql_as(&s.owner.token, CREATE_COUPON, input).await;
    assert_eq!(v["data"]["createCoupon"]["status"], "DRAFT", "{v}");
    let id = v["data"]["createCoupon"]["id"].as_str().unwrap().to_owned();
    let op = |name: &str| {
        let app = &s.app;
        let token = s.owner.token.clone();
        let id = id.clone();
        let q = move_op(name);
        async move { app.gql_as(&token, &q, json!({ "id": id })).await }
    };
    assert_eq!(code(&op("pauseCoupon").await), "INVALID_STATE");
    assert_eq!(code(&op("endCoupon").await), "INVALID_STATE");
    let public = s.app.gql("{ coupons { totalCount } }", json!({})).await;
    assert_eq!(public["data"]["coupons"]["totalCount"], 0);
    expect_code(&s.app.gql(COUPON, json!({ "id": id })).await, "FORBIDDEN");

    assert_eq!(
        op("publishCoupon").await["data"]["publishCoupon"]["status"],
        "ACTIVE"
    );
    assert_eq!(code(&op("publishCoupon").await), "INVALID_STATE");
    assert_eq!(
        op("pauseCoupon").await["data"]["pauseCoupon"]["status"],
        "PAUSED"
    );
    assert_eq!(
        op("publishCoupon").await["data"]["publishCoupon"]["status"],
        "ACTIVE"
    );
    assert_eq!(
        op("endCoupon").await["data"]["endCoupon"]["status"],
        "ENDED"
    );
    assert_eq!(code(&op("publishCoupon").await), "INVALID_STATE");
    assert_eq!(code(&op("pauseCoupon").await), "INVALID_STATE");
}

#[tokio::test]
async fn only_the_owner_moves_a_coupon_and_only_staff_take_it_down() {
    let s = shop().await;
    let id = s.app.coupon(&s.owner, &s.merchant, json!({})).await;
    let (other_merchant, other_owner) = s.app.merchant("别家", "13100000003", &s.community).await;
    let resident = s
        .app
        .user("13100000004", &[Role::Resident], Some(s.street))
        .await;
    let (far_street, _) = s.app.street("别的街道", &[]).await;
    let far_staff = s.app.staff("13100000005", far_street).await;

    let pause = move_op("pauseCoupon");
    expect_code(
        &s.app.gql(&pause, json!({ "id": id })).await,
        "UNAUTHENTICATED",
    );
    expect_code(
        &s.app
            .gql_by(Some(&resident), &pause, json!({ "id": id }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &s.app
            .gql_by(Some(&other_owner), &pause, json!({ "id": id }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &s.app
            .gql_by(Some(&s.staff), &pause, json!({ "id": id }))
            .await,
        "FORBIDDEN",
    );

    // Another merchant's owner cannot create coupons for this one.
    let v = s
        .app
        .gql_as(
            &other_owner.token,
            CREATE_COUPON,
            json!({ "input": { "merchantId": s.merchant,
        "title": "x", "kind": "FREE_ITEM", "itemName": "汤", "validFrom": Utc::now().to_rfc3339(),
        "validUntil": (Utc::now() + Duration::days(1)).to_rfc3339() } }),
        )
        .await;
    expect_code(&v, "FORBIDDEN");
    // Its own merchant it can: the refusal above is about whose merchant, not the input.
    let own = s
        .app
        .gql_as(
            &other_owner.token,
            CREATE_COUPON,
            json!({ "input": { "merchantId": other_merchant,
        "title": "x", "kind": "FREE_ITEM", "itemName": "汤", "validFrom": Utc::now().to_rfc3339(),
        "validUntil": (Utc::now() + Duration::days(1)).to_rfc3339() } }),
        )
        .await;
    assert_eq!(own["data"]["createCoupon"]["status"], "DRAFT", "{own}");
    assert_eq!(s.app.count("coupons").await, 2);

    let take_down = "mutation($id: ID!, $r: String!) { takeDownCoupon(id: $id, reason: $r) { status statusReason } }";
    expect_code(
        &s.app
            .gql_by(Some(&s.owner), take_down, json!({ "id": id, "r": "x" }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &s.app
            .gql_by(Some(&far_staff), take_down, json!({ "id": id, "r": "x" }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &s.app
            .gql_by(Some(&s.staff), take_down, json!({ "id": id, "r": "" }))
            .await,
        "BAD_USER_INPUT",
    );
    let still = s
        .app
        .gql_as(&s.owner.token, COUPON, json!({ "id": id }))
        .await;
    assert_eq!(still["data"]["coupon"]["status"], "ACTIVE");
    let v = s
        .app
        .gql_as(
            &s.staff.token,
            take_down,
            json!({ "id": id, "r": "虚假宣传" }),
        )
        .await;
    assert_eq!(v["data"]["takeDownCoupon"]["status"], "ENDED", "{v}");
    assert_eq!(v["data"]["takeDownCoupon"]["statusReason"], "虚假宣传");
    assert_eq!(
        s.app
            .count("audit_entries WHERE action = 'coupon.take_down'")
            .await,
        1
    );
}

#[tokio::test]
async fn invalid_coupons_are_refused_and_nothing_is_created() {
    let s = shop().await;
    let now = Utc::now();
    let base = json!({ "merchantId": s.merchant, "title": "满减", "kind": "AMOUNT_OFF", "amountFen": 500,
        "validFrom": now.to_rfc3339(), "validUntil": (now + Duration::days(3)).to_rfc3339() });
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "title": "  " }), "title"),
        (json!({ "amountFen": -5 }), "amountFen"),
        (json!({ "amountFen": 0 }), "amountFen"),
        (json!({ "amountFen": 2_000_000_000 }), "amountFen"),
        (json!({ "amountFen": null }), "amountFen"),
        (json!({ "minSpendFen": 100 }), "minSpendFen"),
        (json!({ "percentOff": 10 }), "percentOff"),
        (
            json!({ "kind": "PERCENT_OFF", "amountFen": null, "percentOff": 0 }),
            "percentOff",
        ),
        (
            json!({ "kind": "PERCENT_OFF", "amountFen": null, "percentOff": 100 }),
            "percentOff",
        ),
        (
            json!({ "kind": "FREE_ITEM", "amountFen": null }),
            "itemName",
        ),
        (json!({ "totalStock": 0 }), "totalStock"),
        (json!({ "totalStock": -1 }), "totalStock"),
        (json!({ "perUserLimit": 0 }), "perUserLimit"),
        (
            json!({ "validUntil": (now - Duration::days(1)).to_rfc3339() }),
            "validUntil",
        ),
        (
            json!({ "validFrom": (now + Duration::days(5)).to_rfc3339() }),
            "validUntil",
        ),
        (json!({ "audience": { "minAge": 300 } }), "audience.minAge"),
        (
            json!({ "audience": { "tags": ["senior citizen!"] } }),
            "audience.tags",
        ),
        (
            json!({ "audience": { "communityIds": ["Q29tbXVuaXR5Ojk5OQ"] } }),
            "audience.communityIds",
        ),
    ];
    for (patch, field) in cases {
        let mut input = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        let v = s
            .app
            .gql_as(&s.owner.token, CREATE_COUPON, json!({ "input": input }))
            .await;
        assert_eq!(code(&v), "BAD_USER_INPUT", "{patch}: {v}");
        if field != "amountFen" || patch["amountFen"] != json!(2_000_000_000) {
            assert_eq!(v["errors"][0]["extensions"]["field"], field, "{patch}: {v}");
        }
    }
    assert_eq!(s.app.count("coupons").await, 0);
    expect_code(
        &s.app.gql(CREATE_COUPON, json!({ "input": base })).await,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn a_resident_claims_sees_their_code_and_the_merchant_sees_counts() {
    let s = shop().await;
    let id = s
        .app
        .coupon(&s.owner, &s.merchant, json!({ "totalStock": 3 }))
        .await;
    let resident = s
        .app
        .user("13612345678", &[Role::Resident], Some(s.street))
        .await;
    let v = s
        .app
        .gql_as(&resident.token, CLAIM, json!({ "id": id }))
        .await;
    let claim = &v["data"]["claimCoupon"];
    assert_eq!(claim["status"], "CLAIMED", "{v}");
    let code_text = claim["code"].as_str().unwrap();
    assert_eq!(code_text.len(), 14);
    assert!(
        claim["qrPayload"]
            .as_str()
            .unwrap()
            .starts_with("shangju:coupon:")
    );

    let mine = s.app.gql_as(&resident.token, "{ myCoupons { totalCount edges { node { code status coupon { title merchant { name } } } } } }", json!({})).await;
    assert_eq!(mine["data"]["myCoupons"]["totalCount"], 1);
    assert_eq!(
        mine["data"]["myCoupons"]["edges"][0]["node"]["coupon"]["merchant"]["name"],
        "社区食堂"
    );

    let owner_view = s
        .app
        .gql_as(&s.owner.token, COUPON, json!({ "id": id }))
        .await;
    assert_eq!(owner_view["data"]["coupon"]["remainingStock"], 2);
    assert_eq!(owner_view["data"]["coupon"]["claimedCount"], 1);
    let public = s.app.gql(COUPON, json!({ "id": id })).await;
    expect_code(&public, "FORBIDDEN");
    assert_eq!(
        public["errors"][0]["path"],
        json!(["coupon", "claimedCount"]),
        "{public}"
    );
    let public = s
        .app
        .gql(
            "query($id: ID!) { coupon(id: $id) { remainingStock } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(public["data"]["coupon"]["remainingStock"], 2);

    // The merchant sees the claim with the phone masked, and not its code.
    let q = "query($m: ID!) { couponClaims(merchantId: $m) { totalCount edges { node { status holder { phone displayName } } } } }";
    let v = s
        .app
        .gql_as(&s.owner.token, q, json!({ "m": s.merchant }))
        .await;
    assert_eq!(
        v["data"]["couponClaims"]["edges"][0]["node"]["holder"]["phone"], "136****5678",
        "{v}"
    );
    let v = s
        .app
        .gql_as(&s.staff.token, q, json!({ "m": s.merchant }))
        .await;
    assert_eq!(
        v["data"]["couponClaims"]["edges"][0]["node"]["holder"]["phone"], "13612345678",
        "{v}"
    );
    let v = s
        .app
        .gql_as(&resident.token, q, json!({ "m": s.merchant }))
        .await;
    expect_code(&v, "FORBIDDEN");
    let v = s
        .app
        .gql_as(
            &s.owner.token,
            "query($m: ID!) { couponClaims(merchantId: $m) { edges { node { code } } } }",
            json!({ "m": s.merchant }),
        )
        .await;
    expect_code(&v, "FORBIDDEN");

    // A merchant cannot claim for itself without being a resident.
    let merchant_only = s.app.user("13100000009", &[Role::Merchant], None).await;
    expect_code(
        &s.app
            .gql_by(Some(&merchant_only), CLAIM, json!({ "id": id }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &s.app.gql(CLAIM, json!({ "id": id })).await,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn audience_rules_decide_who_may_claim_and_what_they_see() {
    let s = shop().await;
    let seniors = s
        .app
        .coupon(
            &s.owner,
            &s.merchant,
            json!({ "title": "银发专享", "audience": { "tags": ["SENIOR"] } }),
        )
        .await;
    let sixty = s
        .app
        .coupon(
            &s.owner,
            &s.merchant,
            json!({ "title": "60+", "audience": { "minAge": 60 } }),
        )
        .await;
    let local = s
        .app
        .coupon(
            &s.owner,
            &s.merchant,
            json!({ "title": "本社区", "audience": { "communityIds": [s.community] } }),
        )
        .await;
    let anyone = s
        .app
        .coupon(&s.owner, &s.merchant, json!({ "title": "人人" }))
        .await;

    let young = s.app.new_user().insert().await;
    let old = s
        .app
        .new_user()
        .tag("SENIOR")
        .born(chrono::NaiveDate::from_ymd_opt(1950, 1, 1).expect("date"))
        .lives_in(&s.place, "新城嘉园")
        .insert()
        .await;

    for c in [&seniors, &sixty, &local] {
        expect_code(
            &s.app.gql_by(Some(&young), CLAIM, json!({ "id": c })).await,
            "NOT_ELIGIBLE",
        );
    }
    let q = "{ coupons(filter: { eligibleOnly: true }) { totalCount edges { node { title audience { tags minAge communities { name } } } } } }";
    let v = s.app.gql_as(&young.token, q, json!({})).await;
    assert_eq!(v["data"]["coupons"]["totalCount"], 1, "{v}");
    let v = s.app.gql_as(&old.token, q, json!({})).await;
    assert_eq!(v["data"]["coupons"]["totalCount"], 4, "{v}");
    let all = s.app.gql("{ coupons { totalCount } }", json!({})).await;
    assert_eq!(all["data"]["coupons"]["totalCount"], 4);
    expect_code(&s.app.gql(q, json!({})).await, "UNAUTHENTICATED");

    for c in [&seniors, &sixty, &local, &anyone] {
        assert_eq!(
            code(&s.app.gql_as(&old.token, CLAIM, json!({ "id": c })).await),
            "",
            "{c}"
        );
    }
    expect_code(
        &s.app
            .gql_by(Some(&young), CLAIM, json!({ "id": anyone }))
            .await,
        "",
    );
}

#[tokio::test]
async fn outside_its_window_a_coupon_cannot_be_claimed_and_a_claim_expires() {
    let s = shop().await;
    let later = s
        .app
        .coupon(
            &s.owner,
            &s.merchant,
            json!({ "validFrom": (Utc::now() + Duration::days(1)).to_rfc3339() }),
        )
        .await;
    let resident = s.app.user("13700000003", &[Role::Resident], None).await;
    expect_code(
        &s.app
            .gql_by(Some(&resident), CLAIM, json!({ "id": later }))
            .await,
        "EXPIRED",
    );

    let now = s.app.coupon(&s.owner, &s.merchant, json!({})).await;
    let v = s
        .app
        .gql_as(&resident.token, CLAIM, json!({ "id": now }))
        .await;
    let code_text = v["data"]["claimCoupon"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    // Two days on, the later coupon's window has opened.
    s.app.clock.advance(Duration::days(2));
    let v = s
        .app
        .gql_as(&resident.token, CLAIM, json!({ "id": later }))
        .await;
    assert_eq!(v["data"]["claimCoupon"]["status"], "CLAIMED", "{v}");
    // A month on, both coupons have ended: the claims read expired and cannot be redeemed.
    s.app.clock.advance(Duration::days(30));
    let again = s
        .app
        .gql_as(&resident.token, CLAIM, json!({ "id": now }))
        .await;
    expect_code(&again, "EXPIRED");
    let public = s.app.gql("{ coupons { totalCount } }", json!({})).await;
    assert_eq!(public["data"]["coupons"]["totalCount"], 0, "{public}");
    let mine = s
        .app
        .gql_as(
            &resident.token,
            "{ myCoupons(status: EXPIRED) { totalCount edges { node { status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["data"]["myCoupons"]["totalCount"], 2, "{mine}");
    assert_eq!(
        mine["data"]["myCoupons"]["edges"][0]["node"]["status"], "EXPIRED",
        "{mine}"
    );
    let v = s
        .app
        .gql_as(
            &s.owner.token,
            REDEEM,
            json!({ "code": code_text, "key": "k1" }),
        )
        .await;
    expect_code(&v, "EXPIRED");
}

async fn claimed_code(s: &Shop, resident_phone: &str) -> (String, String, TestUser) {
    let coupon = s.app.coupon(&s.owner, &s.merchant, json!({})).await;
    let resident = s.app.user(resident_phone, &[Role::Resident], None).await;
    let v = s
        .app
        .gql_as(&resident.token, CLAIM, json!({ "id": coupon }))
        .await;
    let claim = &v["data"]["claimCoupon"];
    (
        coupon,
        claim["code"].as_str().unwrap().to_lowercase(),
        resident,
    )
}

#[tokio::test]
async fn redemption_happens_once_and_retries_with_the_key_return_the_first_result() {
    let s = shop().await;
    let (coupon, code_text, resident) = claimed_code(&s, "13700000004").await;
    let (_, other_owner) = s.app.merchant("别家", "13100000006", &s.community).await;

    for (who, expected) in [
        (&resident, "FORBIDDEN"),
        (&other_owner, "FORBIDDEN"),
        (&s.staff, "FORBIDDEN"),
    ] {
        let v = s
            .app
            .gql_as(
                &who.token,
                REDEEM,
                json!({ "code": code_text, "key": "k1" }),
            )
            .await;
        assert_eq!(code(&v), expected);
    }
    expect_code(
        &s.app
            .gql(REDEEM, json!({ "code": code_text, "key": "k1" }))
            .await,
        "UNAUTHENTICATED",
    );
    expect_code(
        &s.app
            .gql_by(
                Some(&s.owner),
                REDEEM,
                json!({ "code": "nope", "key": "k1" }),
            )
            .await,
        "BAD_USER_INPUT",
    );
    expect_code(
        &s.app
            .gql_by(
                Some(&s.owner),
                REDEEM,
                json!({ "code": "0000-0000-0000", "key": "k1" }),
            )
            .await,
        "NOT_FOUND",
    );
    expect_code(
        &s.app
            .gql_by(
                Some(&s.owner),
                REDEEM,
                json!({ "code": code_text, "key": "" }),
            )
            .await,
        "BAD_USER_INPUT",
    );
    assert_eq!(
        s.app.count("coupon_claims WHERE status = 'REDEEMED'").await,
        0
    );

    // A clerk redeems; the same key again answers the same; another key is refused.
    let clerk = s.app.user("13100000007", &[Role::Resident], None).await;
    s.app.join_as_clerk(&s.owner, &s.merchant, &clerk).await;
    let first = s
        .app
        .gql_as(
            &clerk.token,
            REDEEM,
            json!({ "code": code_text, "key": "scan-1" }),
        )
        .await;
    assert_eq!(
        first["data"]["redeemCoupon"]["status"], "REDEEMED",
        "{first}"
    );
    let again = s
        .app
        .gql_as(
            &clerk.token,
            REDEEM,
            json!({ "code": code_text, "key": "scan-1" }),
        )
        .await;
    assert_eq!(again["data"], first["data"]);
    let other = s
        .app
        .gql_as(
            &s.owner.token,
            REDEEM,
            json!({ "code": code_text, "key": "scan-2" }),
        )
        .await;
    expect_code(&other, "ALREADY_REDEEMED");

    let counts = s
        .app
        .gql_as(&s.owner.token, COUPON, json!({ "id": coupon }))
        .await;
    assert_eq!(counts["data"]["coupon"]["redeemedCount"], 1);
    assert_eq!(
        s.app
            .count("audit_entries WHERE action = 'coupon.redeem'")
            .await,
        1
    );
}

#[tokio::test]
async fn voiding_needs_the_merchant_or_staff_and_a_reason() {
    let s = shop().await;
    let (_, code_text, resident) = claimed_code(&s, "13700000005").await;
    let mine = s
        .app
        .gql_as(
            &resident.token,
            "{ myCoupons { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let claim_id = mine["data"]["myCoupons"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let void = "mutation($id: ID!, $r: String!) { voidCouponClaim(id: $id, reason: $r) { status voidReason } }";
    let (_, other_owner) = s.app.merchant("别家", "13100000008", &s.community).await;

    expect_code(
        &s.app
            .gql_by(Some(&resident), void, json!({ "id": claim_id, "r": "x" }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &s.app
            .gql_by(
                Some(&other_owner),
                void,
                json!({ "id": claim_id, "r": "x" }),
            )
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &s.app
            .gql_by(Some(&s.owner), void, json!({ "id": claim_id, "r": "" }))
            .await,
        "BAD_USER_INPUT",
    );
    let v = s
        .app
        .gql_as(
            &s.staff.token,
            void,
            json!({ "id": claim_id, "r": "重复领取" }),
        )
        .await;
    assert_eq!(v["data"]["voidCouponClaim"]["status"], "VOIDED", "{v}");
    expect_code(
        &s.app
            .gql_by(
                Some(&s.owner),
                void,
                json!({ "id": claim_id, "r": "again" }),
            )
            .await,
        "INVALID_STATE",
    );
    let v = s
        .app
        .gql_as(
            &s.owner.token,
            REDEEM,
            json!({ "code": code_text, "key": "k" }),
        )
        .await;
    expect_code(&v, "INVALID_STATE");
    assert_eq!(
        s.app
            .count("audit_entries WHERE action = 'coupon_claim.void'")
            .await,
        1
    );

    // A redeemed claim cannot be voided.
    let (_, code2, resident2) = claimed_code(&s, "13700000006").await;
    s.app
        .gql_as(
            &s.owner.token,
            REDEEM,
            json!({ "code": code2, "key": "k2" }),
        )
        .await;
    let mine = s
        .app
        .gql_as(
            &resident2.token,
            "{ myCoupons { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let id2 = mine["data"]["myCoupons"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_code(
        &s.app
            .gql_by(Some(&s.owner), void, json!({ "id": id2, "r": "x" }))
            .await,
        "ALREADY_REDEEMED",
    );
}

#[tokio::test]
async fn two_hundred_parallel_claims_of_ten_units_give_exactly_ten() {
    let s = shop().await;
    let coupon = s.app.new_coupon(&s.shop).stock(Some(10)).insert().await.gid;
    let mut requests = Vec::new();
    for _ in 0..200 {
        let r = s.app.new_user().insert().await;
        requests.push((Some(r.token), CLAIM.to_owned(), json!({ "id": coupon })));
    }
    let t = tally(&s.app.parallel(requests).await);
    assert_eq!(t.get(""), Some(&10), "{t:?}");
    assert_eq!(t.get("OUT_OF_STOCK"), Some(&190), "{t:?}");
    let c = s
        .app
        .gql_as(&s.owner.token, COUPON, json!({ "id": coupon }))
        .await;
    assert_eq!(c["data"]["coupon"]["remainingStock"], 0);
    assert_eq!(c["data"]["coupon"]["claimedCount"], 10);
    assert_eq!(s.app.count("coupon_claims").await, 10);
}

#[tokio::test]
async fn fifty_parallel_claims_by_one_resident_give_one() {
    let s = shop().await;
    let coupon = s
        .app
        .coupon(&s.owner, &s.merchant, json!({ "totalStock": 100 }))
        .await;
    let r = s.app.user("15100000000", &[Role::Resident], None).await;
    let requests = (0..50)
        .map(|_| {
            (
                Some(r.token.clone()),
                CLAIM.to_owned(),
                json!({ "id": coupon }),
            )
        })
        .collect();
    let t = tally(&s.app.parallel(requests).await);
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("LIMIT_REACHED"), Some(&49), "{t:?}");
    let c = s
        .app
        .gql_as(&s.owner.token, COUPON, json!({ "id": coupon }))
        .await;
    assert_eq!(c["data"]["coupon"]["remainingStock"], 99);
    assert_eq!(s.app.count("coupon_claims").await, 1);
}

#[tokio::test]
async fn twenty_parallel_redemptions_of_one_code_give_one() {
    let s = shop().await;
    let (coupon, code_text, _) = claimed_code(&s, "15200000000").await;
    let requests = (0..20)
        .map(|i| {
            (
                Some(s.owner.token.clone()),
                REDEEM.to_owned(),
                json!({ "code": code_text, "key": format!("key-{i}") }),
            )
        })
        .collect();
    let t = tally(&s.app.parallel(requests).await);
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("ALREADY_REDEEMED"), Some(&19), "{t:?}");
    let c = s
        .app
        .gql_as(&s.owner.token, COUPON, json!({ "id": coupon }))
        .await;
    assert_eq!(c["data"]["coupon"]["redeemedCount"], 1);
    assert_eq!(
        s.app
            .count("audit_entries WHERE action = 'coupon.redeem'")
            .await,
        1
    );
}

/// Statements to list `n` merchants with two coupons each, and `2n` coupons with their merchant.
async fn statements_for(n: usize) -> (usize, usize) {
    let app = TestApp::spawn().await;
    app.street("九棵树街道", &["新城嘉园"]).await;
    let community = app.community_gid("九棵树街道", "新城嘉园").await;
    for i in 0..n {
        let (m, owner) = app
            .merchant(&format!("商户{i}"), &format!("160{i:08}"), &community)
            .await;
        app.coupon(&owner, &m, json!({ "title": format!("券{i}a"), "audience": { "tags": ["SENIOR"], "communityIds": [community] } })).await;
        app.coupon(&owner, &m, json!({ "title": format!("券{i}b") }))
            .await;
    }
    let resident = app.user("17000000000", &[Role::Resident], None).await;
    let merchants = "{ merchants(first: 100) { totalCount edges { node { name category street { name } community { name }
        coupons { title remainingStock audience { tags communities { name } } merchant { name } } } } } }";
    let (v, listed) = app.gql_counting(Some(&resident), merchants).await;
    assert_eq!(
        v["data"]["merchants"]["edges"].as_array().unwrap().len(),
        n,
        "{v}"
    );
    assert_eq!(
        v["data"]["merchants"]["edges"][0]["node"]["coupons"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let coupons = "{ coupons(first: 100) { totalCount edges { node { title merchant { name community { name } coupons { title } } } } } }";
    let (v, coupon_list) = app.gql_counting(Some(&resident), coupons).await;
    assert_eq!(
        v["data"]["coupons"]["edges"].as_array().unwrap().len(),
        2 * n,
        "{v}"
    );
    (listed, coupon_list)
}

#[tokio::test]
async fn nested_lists_cost_a_constant_number_of_statements() {
    let small = statements_for(3).await;
    let large = statements_for(50).await;
    assert_eq!(
        small, large,
        "statements grow with rows: {small:?} vs {large:?}"
    );
    assert!(large.0 <= 12 && large.1 <= 12, "{large:?}");
}

#[tokio::test]
async fn claims_are_unguessable_codes_that_differ() {
    let s = shop().await;
    let coupon = s
        .app
        .coupon(&s.owner, &s.merchant, json!({ "perUserLimit": 5 }))
        .await;
    let r = s.app.user("15300000000", &[Role::Resident], None).await;
    let mut codes = std::collections::HashSet::new();
    for _ in 0..5 {
        let v = s.app.gql_as(&r.token, CLAIM, json!({ "id": coupon })).await;
        codes.insert(
            v["data"]["claimCoupon"]["code"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(codes.len(), 5);
    for c in &codes {
        let groups: Vec<&str> = c.split('-').collect();
        assert_eq!(groups.len(), 3, "{c}");
        assert!(
            c.chars()
                .filter(|ch| *ch != '-')
                .all(|ch| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(ch)),
            "{c}"
        );
    }
    let v = s.app.gql_as(&r.token, CLAIM, json!({ "id": coupon })).await;
    expect_code(&v, "LIMIT_REACHED");
    assert_eq!(s.app.count("coupon_claims").await, 5);
}

/// A field the viewer may not read is `null` with a `FORBIDDEN` error at its path, and the rest
/// of the object stays, so client caches keep it.
#[tokio::test]
async fn a_private_field_is_null_with_its_error_and_the_object_stays() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    let c = app.new_coupon(&m).title("午餐 8 折").insert().await;
    let holder = app.new_user().insert().await;
    app.new_claim(&c, &holder).await;
    let v = app
        .gql(
            "query($c: ID!, $m: ID!) { coupon(id: $c) { title claimedCount } merchant(id: $m) { name licenceNo } }",
            json!({ "c": c.gid, "m": m.gid }),
        )
        .await;
    assert_eq!(v["data"]["coupon"]["title"], "午餐 8 折", "{v}");
    assert!(
        v["data"]["coupon"]
            .get("claimedCount")
            .is_some_and(Value::is_null),
        "{v}"
    );
    assert_eq!(v["data"]["merchant"]["name"], "社区食堂");
    assert!(
        v["data"]["merchant"]
            .get("licenceNo")
            .is_some_and(Value::is_null),
        "{v}"
    );
    // Root fields resolve concurrently, so their errors come in either order.
    let mut paths: Vec<String> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].to_string())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            json!(["coupon", "claimedCount"]).to_string(),
            json!(["merchant", "licenceNo"]).to_string()
        ]
    );
    // The merchant sees its claims; the holder's code stays the holder's.
    let claims = app
        .gql_by(
            Some(&m.owner),
            "query($m: ID!) { couponClaims(merchantId: $m) { nodes { status code } } }",
            json!({ "m": m.gid }),
        )
        .await;
    assert_eq!(
        claims["data"]["couponClaims"]["nodes"][0]["status"], "CLAIMED",
        "{claims}"
    );
    assert!(claims["data"]["couponClaims"]["nodes"][0]["code"].is_null());
    expect_code(&claims, "FORBIDDEN");
}

/// What a claim costs in statements, kept as a count rather than a timing: a sold-out answer
/// reads the session and then the coupon with its merchant and audience in one statement (and,
/// for a coupon with an audience, the resident's tags and community); a winning claim adds its
/// write transaction.
#[tokio::test]
async fn a_claim_costs_a_fixed_few_statements() {
    let s = shop().await;
    let plain = s
        .app
        .coupon(&s.owner, &s.merchant, json!({ "totalStock": 1 }))
        .await;
    let tagged = s
        .app
        .coupon(
            &s.owner,
            &s.merchant,
            json!({ "totalStock": 1, "audience": { "tags": ["SENIOR", "VOLUNTEER"] } }),
        )
        .await;
    let first = s.app.new_user().tag("VOLUNTEER").insert().await;
    let second = s.app.new_user().tag("SENIOR").insert().await;
    let claim = |id: &str| format!("mutation {{ claimCoupon(couponId: \"{id}\") {{ status }} }}");
    let mut costs = Vec::new();
    for id in [&plain, &tagged] {
        let (won, won_cost) = s.app.gql_counting(Some(&first), &claim(id)).await;
        assert_eq!(won["data"]["claimCoupon"]["status"], "CLAIMED", "{won}");
        let (lost, lost_cost) = s.app.gql_counting(Some(&second), &claim(id)).await;
        expect_code(&lost, "OUT_OF_STOCK");
        costs.push((lost_cost, won_cost));
    }
    assert_eq!(
        costs[0].0, 2,
        "sold out: the session, then one read ({costs:?})"
    );
    assert_eq!(
        costs[1].0, 4,
        "with an audience, the resident's facts too ({costs:?})"
    );
    assert!(costs[0].1 <= 6, "a winning claim ({costs:?})");
    assert_eq!(costs[1].1 - costs[0].1, 2, "{costs:?}");
}

/// Coupons are found by a keyword in their title or description, the way merchants are: only
/// among those the viewer may see, with `%` and `_` taken literally.
#[tokio::test]
async fn coupons_are_found_by_keyword() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let shop = app.new_merchant(&street).insert().await;
    app.new_coupon(&shop).title("午餐 8 折").insert().await;
    app.new_coupon(&shop)
        .title("理发立减")
        .description("老人理发 100% 满意")
        .insert()
        .await;
    app.new_coupon(&shop)
        .title("午餐草稿")
        .status(entity::coupon::CouponStatus::Draft)
        .insert()
        .await;
    let search =
        "query($k: String) { coupons(filter: { keyword: $k }) { totalCount nodes { title } } }";
    for (keyword, titles) in [
        (json!("午餐"), vec!["午餐 8 折"]),
        (json!("老人"), vec!["理发立减"]),
        (json!("100%"), vec!["理发立减"]),
        (json!("10_%"), vec![]),
        (json!("  "), vec!["理发立减", "午餐 8 折"]),
        (json!(null), vec!["理发立减", "午餐 8 折"]),
    ] {
        let v = app.gql(search, json!({ "k": keyword })).await;
        let mut found: Vec<&str> = v["data"]["coupons"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|n| n["title"].as_str().unwrap())
            .collect();
        found.sort_unstable();
        let mut want = titles.clone();
        want.sort_unstable();
        assert_eq!(found, want, "{keyword}");
    }
    // The merchant sees its draft by keyword too.
    let v = app
        .gql_by(Some(&shop.owner), search, json!({ "k": "草稿" }))
        .await;
    assert_eq!(v["data"]["coupons"]["totalCount"], 1, "{v}");
    for bad in ["x".repeat(33), "午\u{0}餐".to_owned()] {
        expect_code(
            &app.gql(search, json!({ "k": bad })).await,
            "BAD_USER_INPUT",
        );
    }
}
