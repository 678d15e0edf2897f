//! Leaving and a copy of one's data: deleting an account erases what identifies the person and
//! keeps the ledger true; a merchant owner or staff member cannot leave before handing over;
//! staff export a person's data on request.

use serde_json::json;

use entity::merchant::MerchantStatus;
use entity::names::ObjectKind;
use sea_orm::EntityTrait;

use crate::builders::*;
use crate::support::*;

const DELETE: &str = "mutation($p: String!) { deleteMyAccount(password: $p) }";
const EXPORT: &str = "mutation($u: ID!) { exportPersonalData(userId: $u) }";

#[tokio::test]
async fn a_deleted_account_keeps_no_personal_data_and_the_ledger_stays_true() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    let coupon = app.new_coupon(&m).points_cost(10).insert().await;
    let person = app
        .new_user()
        .lives_in(&street, "新城嘉园")
        .born(chrono::NaiveDate::from_ymd_opt(1958, 3, 21).unwrap())
        .tag("VOLUNTEER")
        .points(50)
        .insert()
        .await;
    let v = app
        .gql_by(Some(&person), CLAIM, json!({ "id": coupon.gid }))
        .await;
    assert_eq!(v["data"]["claimCoupon"]["status"], "CLAIMED", "{v}");
    expect_code(
        &app.gql_by(Some(&person), DELETE, json!({ "p": "not my password" }))
            .await,
        "BAD_USER_INPUT",
    );
    let v = app
        .gql_by(Some(&person), DELETE, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(v["data"]["deleteMyAccount"], true, "{v}");

    let row = entity::user::Entity::find_by_id(person.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.display_name, "已注销用户");
    assert!(!row.phone.contains(&person.phone[3..]), "{}", row.phone);
    assert!(row.birth_date.is_none());
    assert!(row.disabled);
    assert_eq!(
        app.count(&format!("user_tags WHERE user_id = {}", person.id))
            .await,
        0
    );
    // The ledger and the claim keep their pseudonymous reference: balance = sum of entries.
    let balance = app
        .count(&format!(
            "points_accounts WHERE user_id = {} AND balance = 40",
            person.id
        ))
        .await;
    assert_eq!(balance, 1);
    let sum: i64 = entity::points_entry::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.user_id == person.id)
        .map(|e| i64::from(e.amount))
        .sum();
    assert_eq!(sum, 40);
    assert_eq!(
        app.count(&format!("coupon_claims WHERE user_id = {}", person.id))
            .await,
        1
    );
    // No signing in again, with the old session or the password; the phone registers afresh.
    expect_code(
        &app.gql_as(&person.token, "{ me { id } }", json!({})).await,
        "UNAUTHENTICATED",
    );
    expect_code(
        &app.gql(
            LOGIN,
            json!({ "phone": person.phone, "password": PASSWORD }),
        )
        .await,
        "UNAUTHENTICATED",
    );
    let v = app
        .gql(
            REGISTER,
            json!({ "input": app.proven(json!({ "phone": person.phone, "password": PASSWORD, "displayName": "新的我" })).await }),
        )
        .await;
    assert!(v["data"]["register"]["accessToken"].is_string(), "{v}");
    assert_eq!(
        app.count("audit_entries WHERE action = 'account.delete'")
            .await,
        1
    );
}

#[tokio::test]
async fn owners_and_staff_hand_over_before_they_leave() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    let staff = app.new_user().staff_of(&street).insert().await;
    for who in [&m.owner, &staff] {
        expect_code(
            &app.gql_by(Some(who), DELETE, json!({ "p": PASSWORD }))
                .await,
            "INVALID_STATE",
        );
    }
    expect_code(
        &app.gql(DELETE, json!({ "p": PASSWORD })).await,
        "UNAUTHENTICATED",
    );
    let two = format!(
        "mutation {{ a: deleteMyAccount(password: \"{PASSWORD}\") b: deleteMyAccount(password: \"x\") }}"
    );
    expect_code(
        &app.gql_by(Some(&m.owner), &two, json!({})).await,
        "BAD_USER_INPUT",
    );
    assert_eq!(app.count("users WHERE disabled").await, 0);
}

/// The applicant of a refused merchant may leave; the application stays in the street's
/// records without their phone.
#[tokio::test]
async fn a_refused_applicant_leaves_and_takes_their_phone_with_them() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let refused = app
        .new_merchant(&street)
        .status(MerchantStatus::Rejected)
        .insert()
        .await;
    assert_eq!(app.count("merchants WHERE contact_phone <> ''").await, 1);
    let v = app
        .gql_by(Some(&refused.owner), DELETE, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(v["data"]["deleteMyAccount"], true, "{v}");
    assert_eq!(app.count("merchants").await, 1);
    assert_eq!(app.count("merchants WHERE contact_phone = ''").await, 1);
}

#[tokio::test]
async fn staff_export_a_persons_data_on_request() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &[]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let far_staff = app.new_user().staff_of(&far).insert().await;
    let person = app
        .new_user()
        .lives_in(&street, "新城嘉园")
        .tag("COURIER")
        .points(30)
        .insert()
        .await;
    let uid = gid(ObjectKind::User, person.id);
    for who in [&far_staff, &person] {
        expect_code(
            &app.gql_by(Some(who), EXPORT, json!({ "u": uid })).await,
            "FORBIDDEN",
        );
    }
    let v = app.gql_by(Some(&staff), EXPORT, json!({ "u": uid })).await;
    let data = &v["data"]["exportPersonalData"];
    // The API's opaque IDs, not the database's numbers.
    assert_eq!(data["account"]["id"], json!(uid), "{v}");
    assert_eq!(
        data["account"]["streetId"],
        json!(gid(ObjectKind::Street, street.id)),
        "{v}"
    );
    assert_eq!(
        data["pointsEntries"][0]["id"]
            .as_str()
            .map(|id| id.len() > 8),
        Some(true),
        "{v}"
    );
    assert_eq!(data["account"]["phone"], person.phone.as_str(), "{v}");
    assert_eq!(data["tags"], json!(["COURIER"]));
    assert_eq!(data["points"]["balance"], 30);
    assert_eq!(data["pointsEntries"].as_array().unwrap().len(), 1);
    assert!(data.get("account").unwrap().get("passwordHash").is_none());
    assert!(
        !v.to_string().contains("argon2"),
        "no password hash in an export"
    );
    assert_eq!(
        app.count("audit_entries WHERE action = 'account.export'")
            .await,
        1
    );
}

const EXPORT_MINE: &str = "mutation { exportMyData }";

/// A person takes a copy of their own data (PIPL's right of access and copy): what staff would
/// hand over, with opaque IDs, once an hour, audited; nobody else's through it.
#[tokio::test]
async fn a_person_takes_a_copy_of_their_own_data_once_an_hour() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    let coupon = app.new_coupon(&m).insert().await;
    let person = app
        .new_user()
        .lives_in(&street, "新城嘉园")
        .tag("VOLUNTEER")
        .points(12)
        .insert()
        .await;
    let claimed = app
        .gql_by(Some(&person), CLAIM, json!({ "id": coupon.gid }))
        .await;
    expect_ok(&claimed);
    expect_code(&app.gql(EXPORT_MINE, json!({})).await, "UNAUTHENTICATED");

    let v = app.gql_by(Some(&person), EXPORT_MINE, json!({})).await;
    let data = &v["data"]["exportMyData"];
    assert_eq!(data["account"]["phone"], person.phone.as_str(), "{v}");
    assert_eq!(
        data["account"]["id"],
        json!(gid(ObjectKind::User, person.id))
    );
    assert_eq!(data["tags"], json!(["VOLUNTEER"]));
    assert_eq!(data["points"]["balance"], 12);
    let claim = &data["couponClaims"][0];
    assert_eq!(claim["id"], claimed["data"]["claimCoupon"]["id"], "{v}");
    assert_eq!(claim["couponId"], json!(coupon.gid));
    assert_eq!(claim["merchantId"], json!(m.gid));
    assert!(!v.to_string().contains("argon2"));
    // The export names the same things the API does: each ID finds its object.
    let node = app
        .gql_by(
            Some(&person),
            "query($id: ID!) { node(id: $id) { __typename } }",
            json!({ "id": claim["id"] }),
        )
        .await;
    assert_eq!(node["data"]["node"]["__typename"], "CouponClaim", "{node}");

    // Again within the hour: refused with when to come back, and not audited.
    let again = app.gql_by(Some(&person), EXPORT_MINE, json!({})).await;
    expect_code(&again, "RATE_LIMITED");
    let retry = again["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((3500..=3600).contains(&retry), "{again}");
    let exports = "audit_entries WHERE action = 'account.export'";
    assert_eq!(app.count(exports).await, 1);
    app.clock.advance(chrono::Duration::minutes(61));
    expect_ok(&app.gql_by(Some(&person), EXPORT_MINE, json!({})).await);
    assert_eq!(app.count(exports).await, 2);
    // A staff member's export of the person does not use up the person's own.
    let staff = app.new_user().staff_of(&street).insert().await;
    let uid = gid(ObjectKind::User, person.id);
    app.clock.advance(chrono::Duration::minutes(61));
    expect_ok(&app.gql_by(Some(&staff), EXPORT, json!({ "u": uid })).await);
    expect_ok(&app.gql_by(Some(&person), EXPORT_MINE, json!({})).await);
}

/// Many copies asked for at once: one is made, the others are refused.
#[tokio::test]
async fn copies_asked_for_at_once_make_one() {
    let app = TestApp::spawn().await;
    let person = app.new_user().insert().await;
    let answers = app
        .parallel(
            (0..20)
                .map(|_| {
                    (
                        Some(person.token.clone()),
                        EXPORT_MINE.to_owned(),
                        json!({}),
                    )
                })
                .collect(),
        )
        .await;
    let t = tally(&answers);
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("RATE_LIMITED"), Some(&19), "{t:?}");
    assert_eq!(
        app.count("audit_entries WHERE action = 'account.export'")
            .await,
        1
    );
}
