//! Residents keep their own profile: name, community, birth date and whether they appear on
//! leaderboards and the honour roll; a birth date makes a resident `SENIOR` at 60.

use chrono::Datelike;
use serde_json::json;

use crate::builders::*;
use crate::support::*;

const UPDATE: &str = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) {
  displayName birthDate showOnLeaderboards showMyNameOnHonorRoll street { name } community { name } } }";

#[tokio::test]
async fn a_resident_updates_their_profile_and_me_shows_it() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let me = app.new_user().insert().await;
    let v = app
        .gql_by(
            Some(&me),
            UPDATE,
            json!({ "input": { "displayName": " 张阿姨 ", "birthDate": "1958-03-21",
                    "communityId": far.community("远方社区").gid,
                    "showOnLeaderboards": false, "showMyNameOnHonorRoll": true } }),
        )
        .await;
    let p = &v["data"]["updateProfile"];
    assert_eq!(p["displayName"], "张阿姨", "{v}");
    assert_eq!(p["birthDate"], "1958-03-21");
    assert_eq!(p["showOnLeaderboards"], false);
    assert_eq!(p["showMyNameOnHonorRoll"], true);
    assert_eq!(p["street"]["name"], "别的街道");
    // Moving: a community of any street, which becomes the person's street.
    let v = app
        .gql_by(
            Some(&me),
            UPDATE,
            json!({ "input": { "communityId": street.community("新城嘉园").gid } }),
        )
        .await;
    assert_eq!(
        v["data"]["updateProfile"]["street"]["name"], "九棵树街道",
        "{v}"
    );
    assert_eq!(v["data"]["updateProfile"]["displayName"], "张阿姨");
    let shown = app
        .gql_by(
            Some(&me),
            "{ me { birthDate community { name } showOnLeaderboards } }",
            json!({}),
        )
        .await;
    assert_eq!(shown["data"]["me"]["birthDate"], "1958-03-21", "{shown}");
    assert_eq!(shown["data"]["me"]["community"]["name"], "新城嘉园");
    // Others do not see the birth date; staff of the street do.
    let node = "query($id: ID!) { node(id: $id) { ... on User { birthDate } } }";
    let stranger = app.new_user().insert().await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let uid = gid(entity::names::ObjectKind::User, me.id);
    let seen = app
        .gql_by(Some(&stranger), node, json!({ "id": uid }))
        .await;
    assert!(seen["data"]["node"]["birthDate"].is_null(), "{seen}");
    let seen = app.gql_by(Some(&staff), node, json!({ "id": uid })).await;
    assert_eq!(seen["data"]["node"]["birthDate"], "1958-03-21", "{seen}");
}

#[tokio::test]
async fn bad_profile_changes_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let me = app.new_user().insert().await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2))
        .date_naive()
        .to_string();
    for (input, field) in [
        (json!({ "birthDate": tomorrow }), "birthDate"),
        (json!({ "birthDate": "1850-01-01" }), "birthDate"),
        (json!({ "displayName": "" }), "displayName"),
        (json!({ "displayName": "名\u{7}字" }), "displayName"),
        (
            json!({ "communityId": gid(entity::names::ObjectKind::Merchant, 1) }),
            "communityId",
        ),
        (
            json!({ "communityId": gid(entity::names::ObjectKind::Community, 9999) }),
            "communityId",
        ),
    ] {
        let v = app
            .gql_by(Some(&me), UPDATE, json!({ "input": input }))
            .await;
        expect_code(&v, "BAD_USER_INPUT");
        assert_eq!(v["errors"][0]["extensions"]["field"], field, "{v}");
    }
    let v = app
        .gql_by(
            Some(&me),
            UPDATE,
            json!({ "input": { "birthDate": "1958-02-30" } }),
        )
        .await;
    expect_code(&v, "BAD_USER_INPUT");
    expect_code(
        &app.gql(UPDATE, json!({ "input": { "displayName": "匿名" } }))
            .await,
        "UNAUTHENTICATED",
    );
    // Staff keep the street they work for.
    let staff = app.new_user().staff_of(&street).insert().await;
    let v = app
        .gql_by(
            Some(&staff),
            UPDATE,
            json!({ "input": { "communityId": far.community("远方社区").gid } }),
        )
        .await;
    expect_code(&v, "BAD_USER_INPUT");
    let v = app
        .gql_by(
            Some(&staff),
            UPDATE,
            json!({ "input": { "communityId": street.community("新城嘉园").gid } }),
        )
        .await;
    expect_ok(&v);
    let shown = app
        .gql_by(
            Some(&me),
            "{ me { displayName birthDate community { id } } }",
            json!({}),
        )
        .await;
    assert!(shown["data"]["me"]["birthDate"].is_null(), "{shown}");
    assert!(shown["data"]["me"]["community"].is_null());
}

/// `SENIOR` follows from the birth date (60 or over in the street's calendar), so a senior
/// offer is claimable the day a resident gives theirs, and not the day before their birthday.
#[tokio::test]
async fn a_birth_date_makes_a_resident_senior_at_sixty() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    let coupon = app
        .coupon(
            &m.owner,
            &m.gid,
            json!({ "title": "银发午餐", "kind": "PERCENT_OFF", "percentOff": 20,
                    "audience": { "tags": ["SENIOR"] } }),
        )
        .await;
    let today = shangju::clock::local_date(
        shangju::clock::Clock::now(&app.clock),
        shangju::clock::DEFAULT_TIME_ZONE,
    );
    let nearly = today
        .with_year(today.year() - 60)
        .unwrap()
        .succ_opt()
        .unwrap();
    let young = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let old = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    for (who, born) in [(&young, nearly), (&old, nearly.pred_opt().unwrap())] {
        expect_ok(
            &app.gql_by(
                Some(who),
                UPDATE,
                json!({ "input": { "birthDate": born.to_string() } }),
            )
            .await,
        );
    }
    expect_code(
        &app.gql_by(Some(&young), CLAIM, json!({ "id": coupon }))
            .await,
        "NOT_ELIGIBLE",
    );
    let v = app.gql_by(Some(&old), CLAIM, json!({ "id": coupon })).await;
    assert_eq!(v["data"]["claimCoupon"]["status"], "CLAIMED", "{v}");
}

/// Birthdays come by the calendar of the person's street: at 01:00 in Shanghai it is still
/// the evening before in Ürümqi, so a resident of a street there turns 60 an hour later.
#[tokio::test]
async fn age_follows_the_calendar_of_the_persons_street() {
    let app = TestApp::spawn().await;
    // 2026-12-02 17:00 UTC: 01:00 on 3 December in Shanghai, 23:00 on 2 December in Ürümqi.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-12-02T17:00:00Z")
            .unwrap()
            .to_utc(),
    );
    let east = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let west = app.new_street("天山街道", &["红山社区"]).await;
    let admin = app.new_user().staff_of(&west).street_admin().insert().await;
    let zone =
        "mutation { updateStreetSettings(input: { timeZone: \"Asia/Urumqi\" }) { timeZone } }";
    let v = app.gql_by(Some(&admin), zone, json!({})).await;
    assert_eq!(
        v["data"]["updateStreetSettings"]["timeZone"], "Asia/Urumqi",
        "{v}"
    );
    let mut claimants = Vec::new();
    for (street, community) in [(&east, "新城嘉园"), (&west, "红山社区")] {
        let m = app.new_merchant(street).insert().await;
        let coupon = app
            .coupon(
                &m.owner,
                &m.gid,
                json!({ "title": "银发午餐", "kind": "PERCENT_OFF", "percentOff": 20,
                        "audience": { "tags": ["SENIOR"] } }),
            )
            .await;
        let person = app.new_user().lives_in(street, community).insert().await;
        expect_ok(
            &app.gql_by(
                Some(&person),
                UPDATE,
                json!({ "input": { "birthDate": "1966-12-03" } }),
            )
            .await,
        );
        claimants.push((person, coupon));
    }
    let (shanghai, east_coupon) = &claimants[0];
    let (urumqi, west_coupon) = &claimants[1];
    let v = app
        .gql_by(Some(shanghai), CLAIM, json!({ "id": east_coupon }))
        .await;
    assert_eq!(v["data"]["claimCoupon"]["status"], "CLAIMED", "{v}");
    expect_code(
        &app.gql_by(Some(urumqi), CLAIM, json!({ "id": west_coupon }))
            .await,
        "NOT_ELIGIBLE",
    );
    app.clock.advance(chrono::Duration::hours(1));
    let v = app
        .gql_by(Some(urumqi), CLAIM, json!({ "id": west_coupon }))
        .await;
    assert_eq!(v["data"]["claimCoupon"]["status"], "CLAIMED", "{v}");
}
