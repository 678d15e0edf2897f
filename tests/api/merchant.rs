//! Merchant membership: apply, review, suspend, reinstate, profile, clerks, visibility.

use entity::user_role::Role;
use serde_json::json;

use crate::builders::*;
use crate::support::*;

/// Two streets, each with a staff member; applications go to the first.
struct World {
    app: TestApp,
    staff: TestUser,
    other_staff: TestUser,
    community: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let street = app
        .new_street("九棵树街道", &["新城嘉园", "翠屏北里"])
        .await;
    let other = app.new_street("别的街道", &["别的社区"]).await;
    World {
        staff: app.new_user().staff_of(&street).insert().await,
        other_staff: app.new_user().staff_of(&other).insert().await,
        community: street.community("新城嘉园").gid.clone(),
        app,
    }
}

fn application(community: &str, licence: &str) -> serde_json::Value {
    json!({ "input": {
        "profile": { "name": "鲜丰生鲜超市", "category": "supermarket", "address": "新城嘉园 3 号楼底商",
                     "contactPhone": "13922223333", "description": "生鲜、蔬果" },
        "licenceNo": licence, "communityId": community } })
}

const MERCHANT: &str =
    "query($id: ID!) { merchant(id: $id) { name status statusReason licenceNo category } }";

#[tokio::test]
async fn an_approved_applicant_becomes_a_merchant_on_the_next_request() {
    let w = world().await;
    let owner = w.app.user("13200000001", &[Role::Resident], None).await;
    let v = w
        .app
        .gql_as(
            &owner.token,
            APPLY,
            application(&w.community, "91110112MA01"),
        )
        .await;
    assert_eq!(v["data"]["applyMerchant"]["status"], "PENDING", "{v}");
    let id = v["data"]["applyMerchant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mine = w
        .app
        .gql_as(&owner.token, MERCHANT, json!({ "id": id }))
        .await;
    assert_eq!(mine["data"]["merchant"]["category"], "SUPERMARKET");
    assert_eq!(mine["data"]["merchant"]["licenceNo"], "91110112MA01");
    let me = w.app.gql_as(&owner.token, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["roles"], json!(["RESIDENT"]));

    let r = w
        .app
        .gql_as(
            &w.staff.token,
            REVIEW,
            json!({ "input": { "merchantId": id, "decision": "APPROVE", "reason": "材料齐全" } }),
        )
        .await;
    assert_eq!(r["data"]["reviewMerchant"]["status"], "ACTIVE", "{r}");
    assert_eq!(r["data"]["reviewMerchant"]["statusReason"], "材料齐全");

    let me = w.app.gql_as(&owner.token, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["roles"], json!(["RESIDENT", "MERCHANT"]));
    let public = w
        .app
        .gql(
            "query($id: ID!) { merchant(id: $id) { name status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(public["data"]["merchant"]["status"], "ACTIVE");
    assert_eq!(w.app.count("audit_entries").await, 1);
}

#[tokio::test]
async fn reviews_are_refused_to_the_wrong_people_and_change_nothing() {
    let w = world().await;
    let owner = w.app.user("13200000002", &[Role::Resident], None).await;
    let v = w
        .app
        .gql_as(&owner.token, APPLY, application(&w.community, "LIC-0002"))
        .await;
    let id = v["data"]["applyMerchant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let approve = json!({ "input": { "merchantId": id, "decision": "APPROVE" } });

    expect_code(&w.app.gql(REVIEW, approve.clone()).await, "UNAUTHENTICATED");
    expect_code(
        &w.app.gql_by(Some(&owner), REVIEW, approve.clone()).await,
        "FORBIDDEN",
    );
    expect_code(
        &w.app
            .gql_by(Some(&w.other_staff), REVIEW, approve.clone())
            .await,
        "FORBIDDEN",
    );
    let no_reason = json!({ "input": { "merchantId": id, "decision": "REJECT" } });
    let v = w.app.gql_as(&w.staff.token, REVIEW, no_reason).await;
    expect_code(&v, "BAD_USER_INPUT");
    assert_eq!(v["errors"][0]["extensions"]["field"], "reason");
    let wrong_kind = json!({ "input": { "merchantId": w.community, "decision": "APPROVE" } });
    expect_code(
        &w.app.gql_by(Some(&w.staff), REVIEW, wrong_kind).await,
        "BAD_USER_INPUT",
    );
    let missing = json!({ "input": { "merchantId": "TWVyY2hhbnQ6OTk5", "decision": "APPROVE" } });
    expect_code(
        &w.app.gql_by(Some(&w.staff), REVIEW, missing).await,
        "NOT_FOUND",
    );

    let still = w
        .app
        .gql_as(&w.staff.token, MERCHANT, json!({ "id": id }))
        .await;
    assert_eq!(still["data"]["merchant"]["status"], "PENDING");
    assert_eq!(w.app.count("audit_entries").await, 0);
    assert_eq!(w.app.count("user_roles WHERE role = 'MERCHANT'").await, 0);

    let rejected = w
        .app
        .gql_as(
            &w.staff.token,
            REVIEW,
            json!({ "input": { "merchantId": id, "decision": "REJECT", "reason": "执照过期" } }),
        )
        .await;
    assert_eq!(rejected["data"]["reviewMerchant"]["status"], "REJECTED");
    let again = w.app.gql_as(&w.staff.token, REVIEW, approve).await;
    expect_code(&again, "INVALID_STATE");
}

#[tokio::test]
async fn parallel_reviews_decide_once() {
    let w = world().await;
    let owner = w.app.user("13200000003", &[Role::Resident], None).await;
    let v = w
        .app
        .gql_as(&owner.token, APPLY, application(&w.community, "LIC-0003"))
        .await;
    let id = v["data"]["applyMerchant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answers = w
        .app
        .parallel(
            (0..10)
                .map(|_| {
                    (
                        Some(w.staff.token.clone()),
                        REVIEW.to_owned(),
                        json!({ "input": { "merchantId": id, "decision": "APPROVE" } }),
                    )
                })
                .collect(),
        )
        .await;
    let t = tally(&answers);
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("INVALID_STATE"), Some(&9), "{t:?}");
    assert_eq!(w.app.count("audit_entries").await, 1);
}

#[tokio::test]
async fn applications_with_invalid_values_are_refused() {
    let w = world().await;
    let owner = w.app.user("13200000004", &[Role::Resident], None).await;
    let base = application(&w.community, "LIC-0004");
    let cases: Vec<(&str, &str, serde_json::Value)> = vec![
        ("profile", "name", json!("")),
        ("profile", "category", json!("CASINO")),
        ("profile", "contactPhone", json!("12345")),
        ("profile", "address", json!("x".repeat(201))),
        ("input", "licenceNo", json!("有中文")),
        ("input", "communityId", json!("Q29tbXVuaXR5Ojk5OQ")),
    ];
    for (level, field, value) in cases {
        let mut input = base.clone();
        if level == "profile" {
            input["input"]["profile"][field] = value;
        } else {
            input["input"][field] = value;
        }
        let v = w.app.gql_as(&owner.token, APPLY, input).await;
        assert_eq!(code(&v), "BAD_USER_INPUT", "{field}: {v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], field, "{v}");
    }
    expect_code(&w.app.gql(APPLY, base.clone()).await, "UNAUTHENTICATED");
    assert_eq!(w.app.count("merchants").await, 0);

    // The same licence in the same street, even raced, is one merchant.
    let answers = w
        .app
        .parallel(
            (0..8)
                .map(|_| (Some(owner.token.clone()), APPLY.to_owned(), base.clone()))
                .collect(),
        )
        .await;
    let t = tally(&answers);
    assert_eq!(
        (t.get(""), t.get("CONFLICT")),
        (Some(&1), Some(&7)),
        "{t:?}"
    );
    assert_eq!(w.app.count("merchants").await, 1);
}

#[tokio::test]
async fn the_public_sees_active_merchants_and_staff_see_their_whole_street() {
    let w = world().await;
    let (active, _) = w
        .app
        .merchant("社区食堂", "13200000005", &w.community)
        .await;
    let owner = w.app.user("13200000006", &[Role::Resident], None).await;
    let v = w
        .app
        .gql_as(&owner.token, APPLY, application(&w.community, "LIC-0006"))
        .await;
    let pending = v["data"]["applyMerchant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let q = "query($f: MerchantFilterInput) { merchants(filter: $f) { totalCount edges { node { id name status } } } }";
    let public = w.app.gql(q, json!({})).await;
    assert_eq!(public["data"]["merchants"]["totalCount"], 1, "{public}");
    assert_eq!(
        public["data"]["merchants"]["edges"][0]["node"]["id"],
        active.as_str()
    );
    let staff = w.app.gql_as(&w.staff.token, q, json!({})).await;
    assert_eq!(staff["data"]["merchants"]["totalCount"], 2);
    let other = w
        .app
        .gql_as(
            &w.other_staff.token,
            q,
            json!({ "f": { "status": "PENDING" } }),
        )
        .await;
    assert_eq!(other["data"]["merchants"]["totalCount"], 0);
    let applicant = w
        .app
        .gql_as(&owner.token, q, json!({ "f": { "status": "PENDING" } }))
        .await;
    assert_eq!(applicant["data"]["merchants"]["totalCount"], 1);

    let hidden = w.app.gql(MERCHANT, json!({ "id": pending })).await;
    expect_code(&hidden, "FORBIDDEN");
    let hidden = w
        .app
        .gql_as(&w.other_staff.token, MERCHANT, json!({ "id": pending }))
        .await;
    expect_code(&hidden, "FORBIDDEN");
    let private = w
        .app
        .gql(
            "query($id: ID!) { merchant(id: $id) { licenceNo } }",
            json!({ "id": active }),
        )
        .await;
    expect_code(&private, "FORBIDDEN");

    for (filter, n) in [
        (json!({ "category": "CANTEEN" }), 1),
        (json!({ "category": "BARBER" }), 0),
        (json!({ "keyword": "食堂" }), 1),
        (json!({ "keyword": "100%" }), 0),
        (json!({ "communityId": w.community }), 1),
    ] {
        let v = w.app.gql(q, json!({ "f": filter })).await;
        assert_eq!(v["data"]["merchants"]["totalCount"], n, "{filter}: {v}");
    }
}

#[tokio::test]
async fn suspension_hides_a_merchant_and_needs_a_reason() {
    let w = world().await;
    let (id, owner) = w.app.merchant("理发店", "13200000007", &w.community).await;
    let coupon = w.app.coupon(&owner, &id, json!({})).await;
    let suspend = "mutation($id: ID!, $r: String!) { suspendMerchant(merchantId: $id, reason: $r) { status } }";
    let reinstate = "mutation($id: ID!, $r: String!) { reinstateMerchant(merchantId: $id, reason: $r) { status } }";

    expect_code(
        &w.app
            .gql_by(Some(&w.staff), suspend, json!({ "id": id, "r": " " }))
            .await,
        "BAD_USER_INPUT",
    );
    expect_code(
        &w.app
            .gql_by(Some(&owner), suspend, json!({ "id": id, "r": "x" }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &w.app
            .gql_by(Some(&w.staff), reinstate, json!({ "id": id, "r": "x" }))
            .await,
        "INVALID_STATE",
    );
    let v = w
        .app
        .gql_as(
            &w.staff.token,
            suspend,
            json!({ "id": id, "r": "食品安全检查" }),
        )
        .await;
    assert_eq!(v["data"]["suspendMerchant"]["status"], "SUSPENDED");

    let listed = w
        .app
        .gql(
            "{ coupons { totalCount } merchants { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["data"]["coupons"]["totalCount"], 0);
    assert_eq!(listed["data"]["merchants"]["totalCount"], 0);
    let resident = w.app.user("13200000008", &[Role::Resident], None).await;
    expect_code(
        &w.app
            .gql_by(Some(&resident), CLAIM, json!({ "id": coupon }))
            .await,
        "INVALID_STATE",
    );

    let v = w
        .app
        .gql_as(
            &w.staff.token,
            reinstate,
            json!({ "id": id, "r": "整改完成" }),
        )
        .await;
    assert_eq!(v["data"]["reinstateMerchant"]["status"], "ACTIVE");
    expect_code(
        &w.app
            .gql_by(Some(&resident), CLAIM, json!({ "id": coupon }))
            .await,
        "",
    );
    // The suspension and the reinstatement (the merchant was built already approved).
    assert_eq!(w.app.count("audit_entries").await, 2);
    assert_eq!(
        w.app
            .count("audit_entries WHERE action IN ('merchant.suspend', 'merchant.reinstate')")
            .await,
        2
    );
}

#[tokio::test]
async fn the_owner_edits_the_profile_and_manages_clerks() {
    let w = world().await;
    let (id, owner) = w
        .app
        .merchant("社区食堂", "13200000009", &w.community)
        .await;
    let clerk = w.app.user("13200000010", &[Role::Resident], None).await;
    let stranger = w.app.user("13200000011", &[Role::Resident], None).await;

    let update = "mutation($id: ID!, $p: MerchantProfileInput!) { updateMerchant(merchantId: $id, input: $p) { name address } }";
    let profile = json!({ "name": "九棵树社区食堂", "category": "CANTEEN", "address": "新地址", "contactPhone": "13911112222" });
    expect_code(
        &w.app
            .gql_by(Some(&stranger), update, json!({ "id": id, "p": profile }))
            .await,
        "FORBIDDEN",
    );
    let v = w
        .app
        .gql_as(&owner.token, update, json!({ "id": id, "p": profile }))
        .await;
    assert_eq!(v["data"]["updateMerchant"]["name"], "九棵树社区食堂", "{v}");

    let add = "mutation($id: ID!, $p: String!) { inviteMerchantClerk(merchantId: $id, phone: $p) { id } }";
    expect_code(
        &w.app
            .gql_by(
                Some(&stranger),
                add,
                json!({ "id": id, "p": "13200000010" }),
            )
            .await,
        "FORBIDDEN",
    );
    let invited = w
        .app
        .gql_by(Some(&owner), add, json!({ "id": id, "p": "13200000010" }))
        .await;
    let invitation = invited["data"]["inviteMerchantClerk"]["id"].clone();
    let accept = "mutation($id: ID!) { acceptClerkInvitation(id: $id) { status } }";
    let v = w
        .app
        .gql_as(&clerk.token, accept, json!({ "id": invitation }))
        .await;
    assert_eq!(
        v["data"]["acceptClerkInvitation"]["status"], "ACCEPTED",
        "{v}"
    );
    // A member's number is invited like any other (the answer tells nothing), and cannot join
    // twice.
    let again = w
        .app
        .gql_by(Some(&owner), add, json!({ "id": id, "p": "13200000010" }))
        .await;
    let second = again["data"]["inviteMerchantClerk"]["id"].clone();
    assert!(second.is_string(), "{again}");
    expect_code(
        &w.app
            .gql_as(&clerk.token, accept, json!({ "id": second }))
            .await,
        "CONFLICT",
    );
    let me = w.app.gql_as(&clerk.token, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["roles"], json!(["RESIDENT", "MERCHANT"]));

    // A clerk may not publish, nor add clerks.
    let v = w
        .app
        .gql_as(&clerk.token, CREATE_COUPON, json!({ "input": { "merchantId": id, "title": "x", "kind": "FREE_ITEM",
            "itemName": "汤", "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2099-01-01T00:00:00Z" } }))
        .await;
    expect_code(&v, "FORBIDDEN");
    expect_code(
        &w.app
            .gql_by(Some(&clerk), add, json!({ "id": id, "p": "13200000011" }))
            .await,
        "FORBIDDEN",
    );

    let mine = w
        .app
        .gql_as(&clerk.token, "{ myMerchants { id } }", json!({}))
        .await;
    assert_eq!(mine["data"]["myMerchants"][0]["id"], id.as_str());
    let remove =
        "mutation($id: ID!, $u: ID!) { removeMerchantClerk(merchantId: $id, userId: $u) { id } }";
    let clerk_gid = me["data"]["me"]["id"].as_str().unwrap();
    expect_code(
        &w.app
            .gql_by(Some(&owner), remove, json!({ "id": id, "u": clerk_gid }))
            .await,
        "",
    );
    let me = w.app.gql_as(&clerk.token, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["roles"], json!(["RESIDENT"]));
    expect_code(
        &w.app
            .gql_by(Some(&owner), remove, json!({ "id": id, "u": clerk_gid }))
            .await,
        "NOT_FOUND",
    );
}

/// The shape of a public merchants page as a client receives it (IDs and times redacted).
#[tokio::test]
async fn a_public_merchant_page_keeps_its_shape() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let canteen = app.new_merchant(&street).insert().await;
    app.new_coupon(&canteen)
        .title("银发午餐 8 折")
        .insert()
        .await;
    app.new_merchant(&street).name("七鲜超市").insert().await;
    let v = app
        .gql(
            "{ merchants(first: 10) { totalCount pageInfo { hasNextPage hasPreviousPage }
               edges { cursor node { id name category address status street { name } community { name }
                 coupons { id title kind percentOff remainingStock validUntil } } } } }",
            json!({}),
        )
        .await;
    insta::assert_json_snapshot!("public_merchant_page", v, {
        ".data.merchants.edges[].cursor" => "[cursor]",
        ".data.merchants.edges[].node.id" => "[id]",
        ".data.merchants.edges[].node.coupons[].id" => "[id]",
        ".data.merchants.edges[].node.coupons[].validUntil" => "[time]",
    });
}

/// The public list as clients and the benchmark send it: one statement for the page, one for
/// every merchant's active coupons, and a third only when `totalCount` is selected.
#[tokio::test]
async fn a_merchants_page_is_two_statements_and_three_with_its_total() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    for _ in 0..5 {
        let m = app.new_merchant(&street).insert().await;
        app.new_coupon(&m).insert().await;
        app.new_coupon(&m).insert().await;
    }
    let page = |total: &str| {
        format!(
            "{{ merchants(first: 20) {{ {total} edges {{ node {{ id name category address
              coupons {{ id title kind amountFen percentOff remainingStock validUntil }} }} }} }} }}"
        )
    };
    for (total, statements) in [("", 2), ("totalCount", 3)] {
        let (v, ran) = app.gql_counting(None, &page(total)).await;
        assert_eq!(
            v["data"]["merchants"]["edges"].as_array().unwrap().len(),
            5,
            "{v}"
        );
        assert_eq!(
            v["data"]["merchants"]["edges"][0]["node"]["coupons"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(ran, statements, "with {total:?}");
    }
}

/// Staff listing merchants with their owners and clerks pay the same few statements for two
/// merchants as for eight; others see no members.
#[tokio::test]
async fn members_of_a_page_of_merchants_cost_the_same_for_two_and_eight() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let mut owners = Vec::new();
    for i in 0..8 {
        let clerk = app.new_user().lives_in(&street, "新城嘉园").insert().await;
        let m = app
            .new_merchant(&street)
            .name(&format!("商户{i}"))
            .clerk(&clerk)
            .insert()
            .await;
        owners.push(m.owner);
    }
    let q = |n: usize| {
        format!(
            "{{ merchants(first: {n}) {{ nodes {{ name members {{ role user {{ displayName roles tags }} }} }} }} }}"
        )
    };
    let (v2, n2) = app.gql_counting(Some(&staff), &q(2)).await;
    let (v8, n8) = app.gql_counting(Some(&staff), &q(8)).await;
    let nodes = v8["data"]["merchants"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 8, "{v8}");
    for n in nodes {
        let mut roles: Vec<&str> = n["members"]
            .as_array()
            .unwrap_or_else(|| panic!("{v8}"))
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        roles.sort();
        assert_eq!(roles, ["CLERK", "OWNER"], "{v8}");
    }
    assert_eq!(
        v2["data"]["merchants"]["nodes"].as_array().unwrap().len(),
        2
    );
    assert_eq!(n2, n8, "statements: {n2} for 2, {n8} for 8");
    // An owner sees the members of their own merchant only.
    let v = app.gql_by(Some(&owners[0]), &q(8), json!({})).await;
    let shown: Vec<bool> = v["data"]["merchants"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["members"].is_array())
        .collect();
    assert_eq!(shown.iter().filter(|s| **s).count(), 1, "{v}");
    expect_code(&v, "FORBIDDEN");
}
