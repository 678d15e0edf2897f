//! Text that one engine stores and the other refuses (NUL and other control characters, values
//! longer than a column) is refused the same way on both, as `BAD_USER_INPUT`, and changes
//! nothing.

use entity::names::ObjectKind;
use serde_json::json;

use crate::builders::*;
use crate::support::*;

#[tokio::test]
async fn reasons_with_control_characters_are_bad_input_on_both_engines() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let resident = app.new_user().street(street.id).insert().await;
    let m = app.new_merchant(&street).insert().await;
    let coupon = app.new_coupon(&m).insert().await;
    let claim = app.new_claim(&coupon, &resident).await;
    for reason in ["含\u{0}空字符", "响铃\u{7}", "\u{1b}[31m红字"] {
        let attempts = [
            (
                "mutation($id: ID!, $r: String!) { voidCouponClaim(id: $id, reason: $r) { status } }",
                json!({ "id": claim.gid, "r": reason }),
            ),
            (
                "mutation($id: ID!, $r: String!) { suspendMerchant(merchantId: $id, reason: $r) { status } }",
                json!({ "id": m.gid, "r": reason }),
            ),
            (
                "mutation($id: ID!, $r: String!) { takeDownCoupon(id: $id, reason: $r) { status } }",
                json!({ "id": coupon.gid, "r": reason }),
            ),
            (
                "mutation($u: ID!, $r: String!) { adjustPoints(input: { userId: $u, amount: 5, reason: $r }) { amount } }",
                json!({ "u": gid(ObjectKind::User, resident.id), "r": reason }),
            ),
        ];
        for (doc, vars) in attempts {
            let v = app.gql_by(Some(&staff), doc, vars).await;
            expect_code(&v, "BAD_USER_INPUT");
            assert_eq!(v["errors"][0]["extensions"]["field"], "reason", "{v}");
        }
    }
    assert_eq!(app.count("audit_entries").await, 0);
    assert_eq!(app.count("points_entries").await, 0);
    // A reason over lines is fine.
    let v = app
        .gql_by(
            Some(&staff),
            "mutation($id: ID!, $r: String!) { takeDownCoupon(id: $id, reason: $r) { status } }",
            json!({ "id": coupon.gid, "r": "第一行\n第二行\t备注" }),
        )
        .await;
    expect_ok(&v);
}

#[tokio::test]
async fn names_and_keywords_with_control_characters_are_bad_input() {
    let app = TestApp::spawn().await;
    app.new_street("九棵树街道", &["新城嘉园"]).await;
    let v = app
        .gql(
            "query($k: String!) { merchants(filter: { keyword: $k }) { totalCount } }",
            json!({ "k": "菜\u{0}场" }),
        )
        .await;
    expect_code(&v, "BAD_USER_INPUT");
    let v = app
        .gql(
            REGISTER,
            json!({ "input": { "phone": unique_phone(), "password": PASSWORD, "displayName": "陈\u{0}林" } }),
        )
        .await;
    expect_code(&v, "BAD_USER_INPUT");
    assert_eq!(app.count("users").await, 0);
}
