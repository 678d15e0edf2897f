//! The access policy through the real router: every party × every guarded command and field
//! so far → allowed, or which error. Each cell runs on objects of its own, so one party's
//! success does not change what the next one finds.

use entity::coupon::CouponStatus;
use entity::names::ObjectKind;
use serde_json::{Value, json};

use crate::builders::*;
use crate::support::*;

const PUBLISH: &str = "mutation($id: ID!) { publishCoupon(id: $id) { status } }";
const TAKE_DOWN: &str =
    "mutation($id: ID!) { takeDownCoupon(id: $id, reason: \"虚假宣传\") { status } }";
const VOID: &str = "mutation($id: ID!) { voidCouponClaim(id: $id, reason: \"误领\") { status } }";
const CLAIMED_COUNT: &str = "query($id: ID!) { coupon(id: $id) { claimedCount } }";
const CLAIMS: &str = "query($m: ID!) { couponClaims(merchantId: $m) { totalCount } }";
const LEDGER: &str = "query($u: ID!) { residentPoints(userId: $u) { balance } }";
const ADJUST: &str = "mutation($u: ID!, $k: String!) { adjustPoints(input: { userId: $u, amount: 5, reason: \"志愿服务\", idempotencyKey: $k }) { amount } }";
const LICENCE: &str = "query($id: ID!) { merchant(id: $id) { licenceNo } }";
const MEMBERS: &str = "query($id: ID!) { merchant(id: $id) { members { role } } }";

fn outcome(v: &Value) -> String {
    match code(v).as_str() {
        "" => "ok".to_owned(),
        c => c.to_owned(),
    }
}

#[tokio::test]
async fn every_party_gets_what_the_policy_says() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &["别的社区"]).await;
    let clerk = app.new_user().insert().await;
    let staff_clerk = app.new_user().staff_of(&street).insert().await;
    let m = app
        .new_merchant(&street)
        .clerk(&clerk)
        .clerk(&staff_clerk)
        .insert()
        .await;
    let other = app
        .new_merchant(&street)
        .name("别家")
        .in_community(street.community("新城嘉园"))
        .insert()
        .await;
    let person = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let parties: Vec<(&str, Option<TestUser>)> = vec![
        ("anonymous", None),
        (
            "resident",
            Some(app.new_user().street(street.id).insert().await),
        ),
        ("clerk", Some(clerk.clone())),
        ("owner", Some(m.owner.clone())),
        ("owner of another merchant", Some(other.owner.clone())),
        (
            "staff of the street",
            Some(app.new_user().staff_of(&street).insert().await),
        ),
        (
            "staff of another street",
            Some(app.new_user().staff_of(&far).insert().await),
        ),
        ("staff who is also a clerk", Some(staff_clerk.clone())),
    ];
    const U: &str = "UNAUTHENTICATED";
    const F: &str = "FORBIDDEN";
    const OK: &str = "ok";
    // publish, take down, redeem, void, claimedCount, couponClaims, ledger, adjust, licence,
    // review an application, members, claim
    #[rustfmt::skip]
    let expected: [[&str; 12]; 8] = [
        [U, U, U, U, F, U, U, U, F, U, U, U],
        [F, F, F, F, F, F, F, F, F, F, F, OK],
        [F, F, OK, OK, OK, OK, F, F, OK, F, F, OK],
        [OK, F, OK, OK, OK, OK, F, F, OK, F, OK, OK],
        [F, F, F, F, F, F, F, F, F, F, F, OK],
        [F, OK, F, OK, OK, OK, OK, OK, OK, OK, OK, F],
        [F; 12],
        // Separation of duties: no taking down their own merchant's offer.
        [F, F, OK, OK, OK, OK, OK, OK, OK, OK, OK, F],
    ];
    let holder = app.new_user().street(street.id).insert().await;
    for ((who, user), want) in parties.iter().zip(expected) {
        let by = user.as_ref();
        let draft = app
            .new_coupon(&m)
            .status(CouponStatus::Draft)
            .insert()
            .await;
        let active = app.new_coupon(&m).title("满 50 减 10").insert().await;
        let to_redeem = app.new_claim(&active, &holder).await;
        let to_void = app.new_claim(&active, &holder).await;
        let key = uuid::Uuid::new_v4().to_string();
        let application = app
            .new_merchant(&street)
            .status(entity::merchant::MerchantStatus::Pending)
            .insert()
            .await;
        let review = json!({ "input": { "merchantId": application.gid, "decision": "APPROVE" } });
        let got = [
            app.gql_by(by, PUBLISH, json!({ "id": draft.gid })).await,
            app.gql_by(by, TAKE_DOWN, json!({ "id": draft.gid })).await,
            app.gql_by(by, REDEEM, json!({ "code": to_redeem.code, "key": key }))
                .await,
            app.gql_by(by, VOID, json!({ "id": to_void.gid })).await,
            app.gql_by(by, CLAIMED_COUNT, json!({ "id": active.gid }))
                .await,
            app.gql_by(by, CLAIMS, json!({ "m": m.gid })).await,
            app.gql_by(by, LEDGER, json!({ "u": gid(ObjectKind::User, person.id) }))
                .await,
            app.gql_by(
                by,
                ADJUST,
                json!({ "u": gid(ObjectKind::User, person.id), "k": key }),
            )
            .await,
            app.gql_by(by, LICENCE, json!({ "id": m.gid })).await,
            app.gql_by(by, REVIEW, review).await,
            app.gql_by(by, MEMBERS, json!({ "id": m.gid })).await,
            app.gql_by(by, CLAIM, json!({ "id": active.gid })).await,
        ]
        .map(|v| outcome(&v));
        assert_eq!(got, want, "{who}");
    }
}

#[tokio::test]
async fn an_applicant_follows_their_application_but_cannot_act_for_it() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let pending = app
        .new_merchant(&street)
        .status(entity::merchant::MerchantStatus::Pending)
        .insert()
        .await;
    let applicant = Some(&pending.owner);
    let v = app
        .gql_by(applicant, LICENCE, json!({ "id": pending.gid }))
        .await;
    expect_ok(&v);
    expect_code(
        &app.gql_by(None, LICENCE, json!({ "id": pending.gid }))
            .await,
        "FORBIDDEN",
    );
    // Without the MERCHANT role the owner's membership does not let them act.
    let draft = app
        .new_coupon(&pending)
        .status(CouponStatus::Draft)
        .valid(
            chrono::Utc::now(),
            chrono::Utc::now() + chrono::Duration::days(1),
        )
        .insert()
        .await;
    expect_code(
        &app.gql_by(applicant, PUBLISH, json!({ "id": draft.gid }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &app.gql_by(applicant, CLAIMS, json!({ "m": pending.gid }))
            .await,
        "FORBIDDEN",
    );
}

const APPLY: &str =
    "mutation($input: ApplyMerchantInput!) { applyMerchant(input: $input) { id status } }";
const STATUS: &str = "query($id: ID!) { merchant(id: $id) { status } }";

/// Separation of duties: staff may apply for a merchant like anyone, but not decide on it, and
/// may adjust points of the street's residents, not their own. Another staff member decides.
#[tokio::test]
async fn nobody_decides_on_their_own_application_or_moves_their_own_points() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let colleague = app.new_user().staff_of(&street).insert().await;
    let applied = app
        .gql_by(
            Some(&staff),
            APPLY,
            json!({ "input": {
                "profile": { "name": "自家小店", "category": "RETAIL", "address": "新城嘉园 1 号",
                             "contactPhone": "13922223333", "description": "日用百货" },
                "licenceNo": "91310000MA01",
                "communityId": street.community("新城嘉园").gid,
            } }),
        )
        .await;
    let id = applied["data"]["applyMerchant"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{applied}"))
        .to_owned();
    for decision in ["APPROVE", "REJECT"] {
        let review =
            json!({ "input": { "merchantId": id, "decision": decision, "reason": "自审" } });
        expect_code(&app.gql_by(Some(&staff), REVIEW, review).await, "FORBIDDEN");
    }
    let audits_before = app.count("audit_entries").await;
    let status = app.gql_by(Some(&staff), STATUS, json!({ "id": id })).await;
    assert_eq!(status["data"]["merchant"]["status"], "PENDING", "{status}");
    let review = json!({ "input": { "merchantId": id, "decision": "APPROVE" } });
    let approved = app.gql_by(Some(&colleague), REVIEW, review).await;
    assert_eq!(
        approved["data"]["reviewMerchant"]["status"], "ACTIVE",
        "{approved}"
    );
    // Now an owner, the staff member still does not govern the merchant.
    let suspend = app
        .gql_by(
            Some(&staff),
            "mutation($id: ID!) { suspendMerchant(merchantId: $id, reason: \"自我停用\") { status } }",
            json!({ "id": id }),
        )
        .await;
    expect_code(&suspend, "FORBIDDEN");
    assert_eq!(app.count("audit_entries").await, audits_before + 1);

    let me = gid(ObjectKind::User, staff.id);
    let key = uuid::Uuid::new_v4().to_string();
    expect_code(
        &app.gql_by(Some(&staff), ADJUST, json!({ "u": me, "k": key }))
            .await,
        "FORBIDDEN",
    );
    assert_eq!(app.count("points_entries").await, 0);
    let by_colleague = app
        .gql_by(Some(&colleague), ADJUST, json!({ "u": me, "k": key }))
        .await;
    assert_eq!(
        by_colleague["data"]["adjustPoints"]["amount"], 5,
        "{by_colleague}"
    );
}

/// Separation of duties reaches claims: a clerk does not redeem their own claim, and neither a
/// clerk nor staff void their own (which would refund their own points).
#[tokio::test]
async fn nobody_redeems_or_voids_their_own_claim() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let clerk = app.new_user().street(street.id).insert().await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let m = app.new_merchant(&street).clerk(&clerk).insert().await;
    let coupon = app.new_coupon(&m).insert().await;
    let own = app.new_claim(&coupon, &clerk).await;
    let key = uuid::Uuid::new_v4().to_string();
    expect_code(
        &app.gql_by(
            Some(&clerk),
            REDEEM,
            json!({ "code": own.code, "key": key }),
        )
        .await,
        "FORBIDDEN",
    );
    expect_code(
        &app.gql_by(Some(&clerk), VOID, json!({ "id": own.gid }))
            .await,
        "FORBIDDEN",
    );
    let staffs = app.new_claim(&coupon, &staff).await;
    expect_code(
        &app.gql_by(Some(&staff), VOID, json!({ "id": staffs.gid }))
            .await,
        "FORBIDDEN",
    );
    assert_eq!(app.count("coupon_claims WHERE status = 'CLAIMED'").await, 2);
    // Someone else at the counter does it.
    let v = app
        .gql_by(
            Some(&m.owner),
            REDEEM,
            json!({ "code": own.code, "key": key }),
        )
        .await;
    assert_eq!(v["data"]["redeemCoupon"]["status"], "REDEEMED", "{v}");
    expect_ok(
        &app.gql_by(Some(&m.owner), VOID, json!({ "id": staffs.gid }))
            .await,
    );
}

const ADD_STAFF: &str =
    "mutation($p: String!) { addStaff(phone: $p, name: \"李干事\", admin: false) { id } }";
const REMOVE_STAFF: &str = "mutation($u: ID!) { removeStaff(userId: $u) { id } }";
const AWARDS: &str = "{ awards { totalCount } }";
const AWARDS_NOMINATED: &str = "{ awards(filter: { nominatedByMe: true }) { totalCount } }";
const PACKAGES: &str = "{ benefitPackages { totalCount } }";
const ENTITLEMENTS: &str = "{ myEntitlements { totalCount } }";
const VOLUNTEERS: &str = "{ residents(filter: { tag: \"VOLUNTEER\" }) { totalCount } }";
const LOGIN_WITH_CODE: &str =
    "mutation($p: String!, $c: String!) { loginWithCode(phone: $p, code: $c) { accessToken } }";
const DELETE_ACCOUNT: &str = "mutation($c: String!) { deleteMyAccount(code: $c) }";

/// A list's total, or the refusal's code.
fn total(v: &Value) -> String {
    match code(v).as_str() {
        "" => {
            let data = v["data"].as_object().unwrap();
            let (_, list) = data.iter().next().unwrap();
            list["totalCount"].to_string()
        }
        c => c.to_owned(),
    }
}

/// The street's own rights, the list scopes and the rules about a person's own account, by
/// role: who keeps the staff (administrators of the street), which awards, packages and
/// entitlements each lists, that staff neither open their account with an SMS code nor close
/// it themselves, and that an owner hands their merchant over first.
#[tokio::test]
async fn the_street_the_lists_and_ones_own_account_by_role() {
    let app = TestApp::spawn().await;
    // Inside the hours SMS codes are sent.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-12-02T02:00:00Z")
            .unwrap()
            .to_utc(),
    );
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &["别的社区"]).await;
    let nominator = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let clerk = app.new_user().street(street.id).insert().await;
    let m = app.new_merchant(&street).clerk(&clerk).insert().await;
    let nominee = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    // Staff of another street may nominate here too; their own list is their street's queue,
    // and what they nominated elsewhere they find by asking for it.
    let far_staff = app.new_user().staff_of(&far).insert().await;
    for (by, title, deed) in [
        (&nominator, "扶老人过街", "每天早上扶邻居老人过马路去菜场"),
        (&far_staff, "拾金不昧", "在菜场捡到钱包，交还失主"),
    ] {
        let nominated = app
            .gql_by(
                Some(by),
                "mutation($input: NominateAwardInput!) { nominateAward(input: $input) { id } }",
                json!({ "input": {
                    "nomineeId": gid(ObjectKind::User, nominee.id),
                    "communityId": street.community("新城嘉园").gid,
                    "title": title, "deed": deed,
                    "happenedOn": "2026-11-30",
                } }),
            )
            .await;
        expect_ok(&nominated);
    }
    // One volunteer in each street's register.
    app.new_user()
        .lives_in(&street, "新城嘉园")
        .tag("VOLUNTEER")
        .insert()
        .await;
    app.new_user()
        .lives_in(&far, "别的社区")
        .tag("VOLUNTEER")
        .insert()
        .await;
    let parties: Vec<(&str, Option<TestUser>)> = vec![
        ("anonymous", None),
        ("the nominator, a resident", Some(nominator.clone())),
        ("clerk", Some(clerk.clone())),
        ("owner", Some(m.owner.clone())),
        (
            "staff of the street",
            Some(app.new_user().staff_of(&street).insert().await),
        ),
        ("staff of another street", Some(far_staff.clone())),
        (
            "administrator of the street",
            Some(app.new_street_admin(&street).await),
        ),
    ];
    const U: &str = "UNAUTHENTICATED";
    const F: &str = "FORBIDDEN";
    const S: &str = "INVALID_STATE";
    const OK: &str = "ok";
    // add staff, remove staff, awards listed, awards one nominated, packages listed, own
    // entitlements listed, volunteers in the register, sign in by SMS, close one's own account
    #[rustfmt::skip]
    let expected: [[&str; 9]; 7] = [
        [U, U, U, U, U, U, U, "-", "-"],
        [F, F, "1", "1", F, "0", F, OK, OK],
        [F, F, "0", "0", F, "0", F, OK, OK],
        [F, F, "0", "0", F, "0", F, OK, S],
        [F, F, "2", "0", "0", "0", "1", U, S],
        [F, F, "0", "1", "0", "0", "1", U, S],
        // Administrators are staff: the same, and they keep the staff.
        [OK, OK, "2", "0", "0", "0", "1", U, S],
    ];
    for ((who, user), want) in parties.iter().zip(expected) {
        let by = user.as_ref();
        let newcomer = app.new_user().lives_in(&street, "新城嘉园").insert().await;
        let colleague = app.new_user().staff_of(&street).insert().await;
        let colleague = json!({ "u": gid(ObjectKind::User, colleague.id) });
        let mut got = vec![
            outcome(
                &app.gql_by(by, ADD_STAFF, json!({ "p": newcomer.phone }))
                    .await,
            ),
            outcome(&app.gql_by(by, REMOVE_STAFF, colleague).await),
            total(&app.gql_by(by, AWARDS, json!({})).await),
            total(&app.gql_by(by, AWARDS_NOMINATED, json!({})).await),
            total(&app.gql_by(by, PACKAGES, json!({})).await),
            total(&app.gql_by(by, ENTITLEMENTS, json!({})).await),
            total(&app.gql_by(by, VOLUNTEERS, json!({})).await),
        ];
        match by {
            None => got.extend(["-".to_owned(), "-".to_owned()]),
            Some(u) => {
                let c = app.send_code(&u.phone).await;
                let login = json!({ "p": u.phone, "c": c });
                let signed_in = app.gql(LOGIN_WITH_CODE, login).await;
                got.push(outcome(&signed_in));
                // Signing in by SMS ends the sessions before it (the number had not been
                // proven): confirm the closing with a new code, in the new session.
                app.clock.advance(chrono::Duration::seconds(61));
                let delete = json!({ "c": app.send_code(&u.phone).await });
                let closed = match signed_in["data"]["loginWithCode"]["accessToken"].as_str() {
                    Some(token) => app.gql_as(token, DELETE_ACCOUNT, delete).await,
                    None => app.gql_by(by, DELETE_ACCOUNT, delete).await,
                };
                got.push(outcome(&closed));
            }
        }
        assert_eq!(got, want, "{who}");
    }
}

/// Where the refusals of each mutation not in the tables above are tested: by the module of
/// its capability. `recipe::every_mutation_has_its_rights_tested` fails for a mutation named
/// in neither, so a new one cannot land without deciding where its rights are checked.
pub const RIGHTS_TESTED_IN: &[(&str, &str)] = &[
    ("register", "account"),
    ("refreshToken", "account"),
    ("logout", "account"),
    ("changePassword", "account"),
    ("logoutEverywhere", "tokens"),
    ("sendLoginCode", "sms_code"),
    ("issueResetCode", "recovery"),
    ("resetPasswordWithCode", "recovery"),
    ("exportPersonalData", "privacy"),
    ("exportMyData", "privacy"),
    ("updateProfile", "profile"),
    ("setLeaderboardOptOut", "points"),
    ("loginWithWeChat", "wechat"),
    ("bindWeChatPhone", "wechat"),
    ("createCommunity", "street"),
    ("renameCommunity", "street"),
    ("archiveCommunity", "street"),
    ("updateStreetSettings", "staff"),
    ("updateMerchant", "merchant"),
    ("reinstateMerchant", "merchant"),
    ("removeMerchantClerk", "merchant"),
    ("inviteMerchantClerk", "invitation"),
    ("acceptClerkInvitation", "invitation"),
    ("declineClerkInvitation", "invitation"),
    ("revokeClerkInvitation", "invitation"),
    ("createCoupon", "coupon"),
    ("claimCoupon", "coupon"),
    ("pauseCoupon", "coupon"),
    ("endCoupon", "coupon"),
    ("requestTag", "tag"),
    ("reviewTagRequest", "tag"),
    ("grantTag", "tag"),
    ("revokeTag", "tag"),
    ("createBenefitPackage", "package"),
    ("addPackageItem", "package"),
    ("updatePackageItem", "package"),
    ("removePackageItem", "package"),
    ("sendBenefitPackage", "package"),
    ("confirmPackageItem", "package"),
    ("declinePackageItem", "package"),
    ("withdrawBenefitPackage", "package"),
    ("reviewAward", "award"),
    ("grantAward", "grant"),
    ("reissueAwardClaimCode", "grant"),
    ("claimAwardGrant", "grant"),
    ("redeemEntitlement", "entitlement"),
    ("voidEntitlement", "entitlement"),
];
