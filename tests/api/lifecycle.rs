//! Lifecycle steps keep their history, with their notes, in one table for every kind of
//! object; `history(id)` reads it for whoever may see it; `availableActions` offers exactly the
//! steps a viewer may take now.

use serde_json::{Value, json};

use entity::merchant::MerchantStatus;

use crate::builders::*;
use crate::grant::{draft_package, ready_package_of, send_package, setting};
use crate::support::*;

const HISTORY: &str = "query($id: ID!) { history(id: $id) { totalCount \
    nodes { action fromState toState note byYou at } } }";

const MERCHANT_ACTIONS: &str = "query($id: ID!) { merchant(id: $id) { availableActions } }";

fn steps(v: &Value) -> Vec<(String, String, String, Value)> {
    v["data"]["history"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap().to_owned(),
                s["fromState"].as_str().unwrap().to_owned(),
                s["toState"].as_str().unwrap().to_owned(),
                s["note"].clone(),
            )
        })
        .collect()
}

fn actions(v: &Value, at: &str) -> Vec<String> {
    serde_json::from_value(v["data"][at]["availableActions"].clone())
        .unwrap_or_else(|_| panic!("{v}"))
}

/// A staff decision is one step of the merchant's history, with its reason as the note, in
/// the decision's transaction; the applicant and the staff read it, nobody else does, and
/// each sees only the buttons that work for them.
#[tokio::test]
async fn a_decision_is_a_step_of_the_history_with_its_note() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let other_street = app.new_street("翠屏街道", &["翠屏北里"]).await;
    let stranger_staff = app.new_user().staff_of(&other_street).insert().await;
    let m = app
        .new_merchant(&street)
        .status(MerchantStatus::Pending)
        .insert()
        .await;
    let id = json!({ "id": m.gid });
    let resident = app.new_user().insert().await;

    let v = app.gql_by(Some(&staff), MERCHANT_ACTIONS, id.clone()).await;
    assert_eq!(actions(&v, "merchant"), ["APPROVE", "REJECT"]);
    let v = app
        .gql_by(Some(&m.owner), MERCHANT_ACTIONS, id.clone())
        .await;
    assert_eq!(actions(&v, "merchant"), Vec::<String>::new());
    let v = app.gql_by(Some(&staff), HISTORY, id.clone()).await;
    assert_eq!(v["data"]["history"]["totalCount"], 0, "{v}");

    let v = app
        .gql_by(
            Some(&staff),
            REVIEW,
            json!({ "input": { "merchantId": m.gid, "decision": "REJECT", "reason": "证照不清晰" } }),
        )
        .await;
    assert_eq!(v["data"]["reviewMerchant"]["status"], "REJECTED", "{v}");

    let v = app.gql_by(Some(&staff), HISTORY, id.clone()).await;
    assert_eq!(
        steps(&v),
        [(
            "REJECT".to_owned(),
            "PENDING".to_owned(),
            "REJECTED".to_owned(),
            json!("证照不清晰")
        )]
    );
    assert_eq!(v["data"]["history"]["nodes"][0]["byYou"], true);
    let v = app.gql_by(Some(&m.owner), HISTORY, id.clone()).await;
    assert_eq!(steps(&v).len(), 1, "{v}");
    assert_eq!(v["data"]["history"]["nodes"][0]["byYou"], false);
    let v = app.gql_by(Some(&staff), MERCHANT_ACTIONS, id.clone()).await;
    assert_eq!(actions(&v, "merchant"), Vec::<String>::new());

    expect_code(
        &app.gql_by(Some(&resident), HISTORY, id.clone()).await,
        "FORBIDDEN",
    );
    expect_code(
        &app.gql_by(Some(&stranger_staff), HISTORY, id.clone()).await,
        "FORBIDDEN",
    );
    expect_code(&app.gql(HISTORY, id.clone()).await, "FORBIDDEN");
}

/// The reasons behind a public merchant's history stay with its members and its street's
/// staff, as its `statusReason` does.
#[tokio::test]
async fn a_public_object_keeps_its_history_to_insiders() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let m = app.new_merchant(&street).insert().await;
    let id = json!({ "id": m.gid });
    let decide = |name: &str, reason: &str| {
        let q = format!(
            "mutation($id: ID!, $r: String!) {{ {name}(merchantId: $id, reason: $r) {{ status }} }}"
        );
        let vars = json!({ "id": m.gid, "r": reason });
        let app = &app;
        let staff = &staff;
        async move { app.gql_by(Some(staff), &q, vars).await }
    };
    let v = decide("suspendMerchant", "卫生检查未通过").await;
    assert_eq!(v["data"]["suspendMerchant"]["status"], "SUSPENDED", "{v}");
    let v = decide("reinstateMerchant", "复查合格").await;
    assert_eq!(v["data"]["reinstateMerchant"]["status"], "ACTIVE", "{v}");
    let v = app.gql_by(Some(&m.owner), HISTORY, id.clone()).await;
    assert_eq!(
        steps(&v),
        [
            (
                "SUSPEND".to_owned(),
                "ACTIVE".to_owned(),
                "SUSPENDED".to_owned(),
                json!("卫生检查未通过")
            ),
            (
                "REINSTATE".to_owned(),
                "SUSPENDED".to_owned(),
                "ACTIVE".to_owned(),
                json!("复查合格")
            ),
        ]
    );
    // Visible to all, its history is not.
    let v = app.gql(MERCHANT_ACTIONS, id.clone()).await;
    assert_eq!(actions(&v, "merchant"), Vec::<String>::new());
    expect_code(&app.gql(HISTORY, id.clone()).await, "FORBIDDEN");
    let resident = app.new_user().insert().await;
    expect_code(&app.gql_by(Some(&resident), HISTORY, id).await, "FORBIDDEN");
}

/// A step refused (wrong party, wrong state) or rolled back writes no history; a coupon's
/// steps come back in order, and its owner and the street's staff are each offered their own.
#[tokio::test]
async fn only_steps_taken_are_kept_and_each_party_is_offered_its_own() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let m = app.new_merchant(&street).insert().await;
    let coupon = app.new_coupon(&m).insert().await;
    let id = json!({ "id": coupon.gid });
    let step = |name: &str| format!("mutation($id: ID!) {{ {name}(id: $id) {{ status }} }}");
    let offered = "query($id: ID!) { coupon(id: $id) { availableActions } }";

    let v = app.gql_by(Some(&m.owner), offered, id.clone()).await;
    assert_eq!(actions(&v, "coupon"), ["PAUSE", "END"]);
    let v = app.gql_by(Some(&staff), offered, id.clone()).await;
    assert_eq!(actions(&v, "coupon"), ["TAKE_DOWN"]);
    let v = app.gql(offered, id.clone()).await;
    assert_eq!(actions(&v, "coupon"), Vec::<String>::new());

    expect_code(
        &app.gql_by(Some(&staff), &step("pauseCoupon"), id.clone())
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &app.gql_by(Some(&m.owner), &step("publishCoupon"), id.clone())
            .await,
        "INVALID_STATE",
    );
    for name in ["pauseCoupon", "publishCoupon", "endCoupon"] {
        let v = app.gql_by(Some(&m.owner), &step(name), id.clone()).await;
        assert!(v.get("errors").is_none(), "{name}: {v}");
    }
    let v = app.gql_by(Some(&m.owner), HISTORY, id.clone()).await;
    let taken: Vec<(String, String, String)> = steps(&v)
        .into_iter()
        .map(|(a, f, t, _)| (a, f, t))
        .collect();
    assert_eq!(
        taken,
        [
            ("PAUSE", "ACTIVE", "PAUSED"),
            ("PUBLISH", "PAUSED", "ACTIVE"),
            ("END", "ACTIVE", "ENDED")
        ]
        .map(|(a, f, t)| (a.to_owned(), f.to_owned(), t.to_owned()))
    );
    assert_eq!(app.count("lifecycle_history").await, 3);
    let v = app.gql_by(Some(&m.owner), offered, id.clone()).await;
    assert_eq!(actions(&v, "coupon"), Vec::<String>::new());
}

/// A package's history is for its street's staff: a provider, who sees its title and its own
/// items, does not read its reasons. The step the server takes when the last item is confirmed
/// is nobody's: no actor is recorded, and it is not "by you" for the provider who confirmed.
#[tokio::test]
async fn a_package_history_is_for_staff_and_server_steps_have_no_actor() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let item = json!({ "providerId": s.canteen.gid, "kind": "ENTITLEMENT",
        "description": "一份午餐", "totalUses": 10, "validDays": 30 });
    let package = ready_package_of(&app, &s, vec![item], 1).await;
    let id = json!({ "id": package });
    let v = app.gql_by(Some(&s.staff), HISTORY, id.clone()).await;
    let taken = steps(&v);
    let last = taken.last().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        (last.0.as_str(), last.2.as_str()),
        ("COMPLETE", "READY"),
        "{v}"
    );
    let nodes = v["data"]["history"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.last().unwrap()["byYou"], false);
    assert_eq!(
        app.count("lifecycle_history WHERE action = 'COMPLETE' AND actor_user_id IS NULL")
            .await,
        1
    );
    expect_code(
        &app.gql_by(Some(&s.canteen.owner), HISTORY, id).await,
        "FORBIDDEN",
    );
}

const OFFERED: &str = "query($id: ID!) { node(id: $id) {
  ... on CouponClaim { availableActions } ... on Entitlement { availableActions }
  ... on BenefitPackage { availableActions } ... on PackageItem { availableActions }
  ... on ClerkInvitation { availableActions } ... on TagRequest { availableActions }
  ... on Community { availableActions } } }";

async fn offered(app: &TestApp, by: Option<&TestUser>, id: &Value) -> Vec<String> {
    let v = app.gql_by(by, OFFERED, json!({ "id": id })).await;
    serde_json::from_value(v["data"]["node"]["availableActions"].clone())
        .unwrap_or_else(|_| panic!("{id} for {:?}: {v}", by.map(|u| u.id)))
}

/// Every object with a lifecycle offers each viewer exactly the steps that will work for them
/// now: a claim's counter and the street, an invitation's invitee and owner, a tag request's
/// staff, a package's staff and its item's provider (only while the package asks), an
/// entitlement's street; and nothing once time or a grant has closed the steps.
#[tokio::test]
async fn every_lifecycle_offers_each_party_its_own_steps() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let holder = app
        .new_user()
        .lives_in(&s.street, "新城嘉园")
        .insert()
        .await;
    let none = Vec::<String>::new();

    let community = json!(s.street.community("新城嘉园").gid);
    assert_eq!(offered(&app, Some(&s.staff), &community).await, ["ARCHIVE"]);
    assert_eq!(offered(&app, Some(&holder), &community).await, none);

    let coupon = app.new_coupon(&s.canteen).insert().await;
    let claim = json!(app.new_claim(&coupon, &holder).await.gid);
    assert_eq!(offered(&app, Some(&holder), &claim).await, none);
    assert_eq!(
        offered(&app, Some(&s.canteen.owner), &claim).await,
        ["REDEEM", "VOID"]
    );
    assert_eq!(offered(&app, Some(&s.staff), &claim).await, ["VOID"]);

    let v = app
        .gql_by(
            Some(&holder),
            "mutation { requestTag(tag: \"COURIER\", note: \"在九棵树送外卖三年\") { id } }",
            json!({}),
        )
        .await;
    let request = v["data"]["requestTag"]["id"].clone();
    assert_eq!(
        offered(&app, Some(&s.staff), &request).await,
        ["GRANT", "REFUSE"]
    );
    assert_eq!(offered(&app, Some(&holder), &request).await, none);

    let v = app
        .gql_by(
            Some(&s.canteen.owner),
            "mutation($id: ID!, $p: String!) { inviteMerchantClerk(merchantId: $id, phone: $p) { id } }",
            json!({ "id": s.canteen.gid, "p": holder.phone }),
        )
        .await;
    let invitation = v["data"]["inviteMerchantClerk"]["id"].clone();
    assert_eq!(
        offered(&app, Some(&holder), &invitation).await,
        ["ACCEPT", "DECLINE"]
    );
    assert_eq!(
        offered(&app, Some(&s.canteen.owner), &invitation).await,
        ["REVOKE"]
    );
    assert_eq!(offered(&app, Some(&s.staff), &invitation).await, none);

    // A package waiting for its provider: the provider answers its item, the street may
    // withdraw it or ask again.
    let item = json!({ "providerId": s.canteen.gid, "kind": "ENTITLEMENT",
        "description": "一份午餐", "totalUses": 10, "validDays": 30 });
    let (waiting, items) = draft_package(&app, &s, vec![item.clone()], 1).await;
    let (waiting, waiting_item) = (json!(waiting), json!(items[0]));
    assert_eq!(
        offered(&app, Some(&s.staff), &waiting).await,
        ["SEND", "WITHDRAW"]
    );
    // A draft asks nobody yet: sending asks every provider at once.
    assert_eq!(offered(&app, Some(&s.staff), &waiting_item).await, none);
    send_package(&app, &s, waiting.as_str().unwrap()).await;
    assert_eq!(
        offered(&app, Some(&s.canteen.owner), &waiting_item).await,
        ["CONFIRM", "DECLINE"]
    );
    assert_eq!(offered(&app, Some(&s.staff), &waiting_item).await, none);
    assert_eq!(offered(&app, Some(&s.staff), &waiting).await, ["WITHDRAW"]);

    // Granted: the package is settled, and the entitlement is the street's to void.
    let package = json!(ready_package_of(&app, &s, vec![item], 1).await);
    let award = crate::grant::award(&app, &s, crate::grant::account(&holder), true).await;
    expect_ok(
        &app.gql_by(
            Some(&s.staff),
            crate::grant::GRANT,
            json!({ "id": award, "p": package }),
        )
        .await,
    );
    assert_eq!(offered(&app, Some(&s.staff), &package).await, none);
    let v = app
        .gql_by(
            Some(&holder),
            "{ myEntitlements { nodes { id } } }",
            json!({}),
        )
        .await;
    let entitlement = v["data"]["myEntitlements"]["nodes"][0]["id"].clone();
    assert_eq!(offered(&app, Some(&s.staff), &entitlement).await, ["VOID"]);
    assert_eq!(offered(&app, Some(&holder), &entitlement).await, none);

    // A merchant the street has suspended: its counter redeems nothing, nobody joins it, and
    // it answers no package.
    let shop = app.new_merchant(&s.street).name("小卖部").insert().await;
    let shop_coupon = app.new_coupon(&shop).insert().await;
    let shop_claim = json!(app.new_claim(&shop_coupon, &holder).await.gid);
    let v = app
        .gql_by(
            Some(&shop.owner),
            "mutation($id: ID!, $p: String!) { inviteMerchantClerk(merchantId: $id, phone: $p) { id } }",
            json!({ "id": shop.gid, "p": holder.phone }),
        )
        .await;
    let shop_invitation = v["data"]["inviteMerchantClerk"]["id"].clone();
    let shop_item = json!({ "providerId": shop.gid, "kind": "ENTITLEMENT",
        "description": "一瓶水", "totalUses": 1, "validDays": 30 });
    let (asking, asked) = draft_package(&app, &s, vec![shop_item], 1).await;
    send_package(&app, &s, &asking).await;
    let asked = json!(asked[0]);
    assert_eq!(
        offered(&app, Some(&shop.owner), &asked).await,
        ["CONFIRM", "DECLINE"]
    );
    expect_ok(
        &app.gql_by(
            Some(&s.staff),
            "mutation($id: ID!) { suspendMerchant(merchantId: $id, reason: \"停业整顿\") { status } }",
            json!({ "id": shop.gid }),
        )
        .await,
    );
    assert_eq!(
        offered(&app, Some(&shop.owner), &shop_claim).await,
        ["VOID"]
    );
    assert_eq!(
        offered(&app, Some(&holder), &shop_invitation).await,
        ["DECLINE"]
    );
    assert_eq!(offered(&app, Some(&shop.owner), &asked).await, none);

    // Past the claim's validity and the invitation's: the counter may only void the claim, and
    // the invitation is nobody's to answer.
    app.clock.advance(chrono::Duration::days(3650));
    assert_eq!(
        offered(&app, Some(&s.canteen.owner), &claim).await,
        ["VOID"]
    );
    assert_eq!(offered(&app, Some(&holder), &invitation).await, none);
}
