//! The public honour roll (光荣榜): granted awards only, with the deed, date, community,
//! package and providers; the nominee's name masked unless they agreed, never a number; at a
//! cost that does not grow with the page.

use serde_json::{Value, json};

use entity::names::ObjectKind;

use crate::builders::*;
use crate::grant::{
    GRANT, HELD_PHONE, Setting, account, award, held_grant, ready_package_by, setting,
};
use crate::support::*;

const ROLL: &str = "query($s: ID!) { honorRoll(streetId: $s) { totalCount nodes {
  title deed happenedOn grantedAt nomineeName named packageTitle community { name }
  providers { name } } } }";

/// A ready package with a lunch from the canteen and a voucher from a supermarket, each
/// confirmed by its owner.
async fn two_provider_package(app: &TestApp, s: &Setting, market: &TestMerchant) -> String {
    let items = vec![
        json!({ "providerId": s.canteen.gid, "kind": "ENTITLEMENT", "description": "一份午餐",
            "totalUses": 365, "perDayLimit": 1, "validDays": 365 }),
        json!({ "providerId": market.gid, "kind": "VOUCHER", "description": "生鲜消费券",
            "valueFen": 50000, "validDays": 365 }),
    ];
    ready_package_by(app, s, items, 1, &[&s.canteen.owner, &market.owner]).await
}

fn roll_of(street: &TestStreet) -> Value {
    json!({ "s": gid(ObjectKind::Street, street.id) })
}

#[tokio::test]
async fn the_roll_shows_granted_deeds_and_names_only_with_consent() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let market = app.new_merchant(&s.street).name("七鲜超市").insert().await;
    let courier = app
        .new_user()
        .name("陈文林")
        .phone("13812345678")
        .lives_in(&s.street, "新城嘉园")
        .insert()
        .await;
    let package = two_provider_package(&app, &s, &market).await;
    let granted = award(&app, &s, account(&courier), true).await;
    expect_ok(
        &app.gql_by(
            Some(&s.staff),
            GRANT,
            json!({ "id": granted, "p": package, "b": 200 }),
        )
        .await,
    );
    // Approved, nominated and rejected awards are not on it.
    award(&app, &s, account(&courier), true).await;
    award(&app, &s, account(&courier), false).await;

    let v = app.gql(ROLL, roll_of(&s.street)).await;
    let roll = &v["data"]["honorRoll"];
    assert_eq!(roll["totalCount"], 1, "{v}");
    let e = &roll["nodes"][0];
    assert_eq!(e["title"], "燃气泄漏挨家敲门");
    assert_eq!(e["deed"], "逐户敲门疏散");
    assert_eq!(e["happenedOn"], "2026-11-20");
    assert!(e["grantedAt"].is_string());
    assert_eq!(e["community"]["name"], "新城嘉园");
    assert_eq!(e["packageTitle"], "暖心大礼包");
    assert_eq!(
        e["providers"],
        json!([{ "name": "社区食堂" }, { "name": "七鲜超市" }])
    );
    assert_eq!(e["nomineeName"], "陈*林", "masked by default");
    assert_eq!(e["named"], false);
    let body = v.to_string();
    assert!(
        !body.contains("陈文林") && !body.contains("13812345678"),
        "{body}"
    );

    // The courier agrees: the roll names him.
    expect_ok(
        &app.gql_by(
            Some(&courier),
            "mutation { updateProfile(input: { showMyNameOnHonorRoll: true }) { showMyNameOnHonorRoll } }",
            json!({}),
        )
        .await,
    );
    let v = app.gql(ROLL, roll_of(&s.street)).await;
    assert_eq!(
        v["data"]["honorRoll"]["nodes"][0]["nomineeName"], "陈文林",
        "{v}"
    );
    assert_eq!(v["data"]["honorRoll"]["nodes"][0]["named"], true);

    // Another street's roll does not show it; a street that does not exist is not found.
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let v = app.gql(ROLL, roll_of(&far)).await;
    assert_eq!(v["data"]["honorRoll"]["totalCount"], 0, "{v}");
    expect_code(
        &app.gql(ROLL, json!({ "s": gid(ObjectKind::Street, 999) }))
            .await,
        "NOT_FOUND",
    );

    // He leaves: the deed stays, masked again, and his name is gone from the award.
    expect_ok(
        &app.gql_by(
            Some(&courier),
            "mutation($p: String!) { deleteMyAccount(password: $p) }",
            json!({ "p": PASSWORD }),
        )
        .await,
    );
    let v = app.gql(ROLL, roll_of(&s.street)).await;
    assert_eq!(
        v["data"]["honorRoll"]["nodes"][0]["nomineeName"], "陈*林",
        "{v}"
    );
    assert_eq!(app.count("awards WHERE nominee_name = '陈文林'").await, 0);
}

#[tokio::test]
async fn a_held_grant_is_on_the_roll_without_its_number() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let market = app.new_merchant(&s.street).name("七鲜超市").insert().await;
    let package = two_provider_package(&app, &s, &market).await;
    held_grant(&app, &s, &package, 0).await;
    let v = app.gql(ROLL, roll_of(&s.street)).await;
    assert_eq!(
        v["data"]["honorRoll"]["nodes"][0]["nomineeName"], "陈*林",
        "{v}"
    );
    // Not even the middle digits; the time of the grant, whose nanoseconds may hold any
    // digits, is left out of the look.
    let mut entry = v["data"]["honorRoll"]["nodes"][0].clone();
    entry.as_object_mut().unwrap().remove("grantedAt");
    let body = entry.to_string();
    assert!(
        !body.contains(HELD_PHONE) && !body.contains("1111"),
        "{body}"
    );
}

/// Eight entries, each with its own package, community lookups and providers, cost what two do.
#[tokio::test]
async fn the_roll_costs_the_same_for_two_entries_and_eight() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let market = app.new_merchant(&s.street).name("七鲜超市").insert().await;
    let courier = app
        .new_user()
        .lives_in(&s.street, "新城嘉园")
        .insert()
        .await;
    for _ in 0..8 {
        let package = two_provider_package(&app, &s, &market).await;
        let a = award(&app, &s, account(&courier), true).await;
        expect_ok(
            &app.gql_by(Some(&s.staff), GRANT, json!({ "id": a, "p": package }))
                .await,
        );
    }
    let street = gid(ObjectKind::Street, s.street.id);
    let q = |n: usize| {
        format!(
            "{{ honorRoll(streetId: \"{street}\", first: {n}) {{ nodes {{ nomineeName packageTitle community {{ name }} providers {{ name }} }} }} }}"
        )
    };
    let (v2, n2) = app.gql_counting(None, &q(2)).await;
    let (v8, n8) = app.gql_counting(None, &q(8)).await;
    assert_eq!(
        v2["data"]["honorRoll"]["nodes"].as_array().unwrap().len(),
        2,
        "{v2}"
    );
    let nodes = v8["data"]["honorRoll"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 8, "{v8}");
    assert!(
        nodes
            .iter()
            .all(|n| n["providers"].as_array().unwrap().len() == 2)
    );
    assert_eq!(n2, n8, "statements: {n2} for 2, {n8} for 8");
}
