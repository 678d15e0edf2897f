//! Awards for good deeds: anyone signed in nominates someone else (an account, or a name and
//! phone of someone without one); staff of the deed's street approve or reject it, never one
//! they nominated or are named in; the nominator and staff see it, nobody else.

use serde_json::{Value, json};

use entity::names::ObjectKind;

use crate::builders::*;
use crate::support::*;

const NOMINATE: &str = "mutation($input: NominateAwardInput!) { nominateAward(input: $input) {
  id status title nomineeName nomineePhone nominatedByMe canReview community { name } } }";
const REVIEW: &str = "mutation($id: ID!, $d: AwardDecision!, $r: String) {
  reviewAward(id: $id, decision: $d, reason: $r) { id status statusReason } }";
const AWARDS: &str = "{ awards { totalCount nodes { id title nomineePhone canReview } } }";

fn deed(community: &str, nominee: Value) -> Value {
    let mut input = json!({ "title": "燃气泄漏挨家敲门", "deed": "送餐途中闻到燃气味，逐户敲门疏散",
        "happenedOn": "2026-11-20", "communityId": community, "evidence": "楼道监控" });
    for (k, v) in nominee.as_object().unwrap() {
        input[k] = v.clone();
    }
    json!({ "input": input })
}

#[tokio::test]
async fn a_nomination_is_reviewed_by_staff_of_the_street() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let community = street.community("新城嘉园").gid.clone();
    let staff = app.new_user().staff_of(&street).insert().await;
    let neighbour = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let courier = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let other = app.new_user().lives_in(&street, "新城嘉园").insert().await;

    let nominee = json!({ "nomineeId": gid(ObjectKind::User, courier.id) });
    let v = app
        .gql_by(Some(&neighbour), NOMINATE, deed(&community, nominee))
        .await;
    let a = &v["data"]["nominateAward"];
    assert_eq!(a["status"], "NOMINATED", "{v}");
    assert_eq!(a["community"]["name"], "新城嘉园");
    assert_eq!(a["nominatedByMe"], true);
    assert_eq!(a["canReview"], false);
    let id = a["id"].as_str().unwrap().to_owned();

    // The nominator and staff see it; another resident does not.
    let v = app.gql_by(Some(&neighbour), AWARDS, json!({})).await;
    assert_eq!(v["data"]["awards"]["totalCount"], 1, "{v}");
    let v = app.gql_by(Some(&staff), AWARDS, json!({})).await;
    assert_eq!(v["data"]["awards"]["nodes"][0]["canReview"], true, "{v}");
    let v = app.gql_by(Some(&other), AWARDS, json!({})).await;
    assert_eq!(v["data"]["awards"]["totalCount"], 0, "{v}");
    let one = "query($id: ID!) { award(id: $id) { title } }";
    expect_code(
        &app.gql_by(Some(&other), one, json!({ "id": id })).await,
        "FORBIDDEN",
    );
    let v = app
        .gql_by(
            Some(&staff),
            "query($id: ID!) { node(id: $id) { ... on Award { title } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(v["data"]["node"]["title"], "燃气泄漏挨家敲门", "{v}");

    let v = app
        .gql_by(
            Some(&staff),
            REVIEW,
            json!({ "id": id, "d": "APPROVE", "r": "事迹属实" }),
        )
        .await;
    assert_eq!(v["data"]["reviewAward"]["status"], "APPROVED", "{v}");
    assert_eq!(v["data"]["reviewAward"]["statusReason"], "事迹属实");
    assert_eq!(
        app.count("audit_entries WHERE action = 'award.approve'")
            .await,
        1
    );
    let heard = format!(
        "events WHERE kind = 'award.approved' AND CAST(concerned_user_ids AS TEXT) = '[{}]'",
        neighbour.id
    );
    assert_eq!(app.count(&heard).await, 1);
    for d in ["APPROVE", "REJECT"] {
        let v = app
            .gql_by(
                Some(&staff),
                REVIEW,
                json!({ "id": id, "d": d, "r": "再审" }),
            )
            .await;
        expect_code(&v, "INVALID_STATE");
    }
}

#[tokio::test]
async fn a_person_without_an_account_is_nominated_by_name_and_phone() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let community = street.community("新城嘉园").gid.clone();
    let staff = app.new_user().staff_of(&street).insert().await;
    let neighbour = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let nominee = json!({ "nomineeName": "陈文林", "nomineePhone": "13911110000" });
    let v = app
        .gql_by(Some(&neighbour), NOMINATE, deed(&community, nominee))
        .await;
    let a = &v["data"]["nominateAward"];
    assert_eq!(a["nomineeName"], "陈文林", "{v}");
    assert_eq!(a["nomineePhone"], "139****0000");
    let v = app.gql_by(Some(&staff), AWARDS, json!({})).await;
    assert_eq!(
        v["data"]["awards"]["nodes"][0]["nomineePhone"], "13911110000",
        "{v}"
    );
}

#[tokio::test]
async fn bad_nominations_and_reviews_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园", "老街"]).await;
    let community = street.community("新城嘉园").gid.clone();
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let far_staff = app.new_user().staff_of(&far).insert().await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let colleague = app.new_user().staff_of(&street).insert().await;
    let neighbour = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let courier = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let archive = "mutation($id: ID!) { archiveCommunity(id: $id) { id } }";
    let old = street.community("老街").gid.clone();
    expect_ok(
        &app.gql_by(Some(&staff), archive, json!({ "id": old }))
            .await,
    );

    let me = json!({ "nomineeId": gid(ObjectKind::User, neighbour.id) });
    let my_number = json!({ "nomineeName": "我", "nomineePhone": neighbour.phone });
    let courier_id = json!({ "nomineeId": gid(ObjectKind::User, courier.id) });
    let mut future = deed(&community, courier_id.clone());
    future["input"]["happenedOn"] = json!("2999-01-01");
    let mut untitled = deed(&community, courier_id.clone());
    untitled["input"]["title"] = json!(" ");
    let mut both = deed(&community, courier_id.clone());
    both["input"]["nomineeName"] = json!("陈文林");
    let cases = [
        (
            None,
            deed(&community, courier_id.clone()),
            "UNAUTHENTICATED",
        ),
        (Some(&neighbour), deed(&community, me), "FORBIDDEN"),
        (Some(&neighbour), deed(&community, my_number), "FORBIDDEN"),
        (Some(&neighbour), future, "BAD_USER_INPUT"),
        (Some(&neighbour), untitled, "BAD_USER_INPUT"),
        (Some(&neighbour), both, "BAD_USER_INPUT"),
        (
            Some(&neighbour),
            deed(&community, json!({})),
            "BAD_USER_INPUT",
        ),
        (
            Some(&neighbour),
            deed(
                &community,
                json!({ "nomineeName": "陈文林", "nomineePhone": "123" }),
            ),
            "BAD_USER_INPUT",
        ),
        (
            Some(&neighbour),
            deed(&old, courier_id.clone()),
            "INVALID_STATE",
        ),
        (
            Some(&neighbour),
            deed("Q29tbXVuaXR5Ojk5", courier_id.clone()),
            "BAD_USER_INPUT",
        ),
    ];
    for (who, vars, want) in cases {
        let v = app.gql_by(who, NOMINATE, vars.clone()).await;
        assert_eq!(code(&v), want, "{vars} → {v}");
    }
    assert_eq!(app.count("awards").await, 0);

    // Staff never review what they nominated or are named in.
    let by_staff = app
        .gql_by(Some(&staff), NOMINATE, deed(&community, courier_id.clone()))
        .await;
    let by_staff = by_staff["data"]["nominateAward"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let of_staff = app
        .gql_by(
            Some(&neighbour),
            NOMINATE,
            deed(
                &community,
                json!({ "nomineeId": gid(ObjectKind::User, colleague.id) }),
            ),
        )
        .await;
    let of_staff = of_staff["data"]["nominateAward"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_code(
        &app.gql(REVIEW, json!({ "id": by_staff, "d": "APPROVE" }))
            .await,
        "UNAUTHENTICATED",
    );
    for (who, id) in [
        (&staff, &by_staff),
        (&colleague, &of_staff),
        (&far_staff, &by_staff),
        (&neighbour, &of_staff),
        (&courier, &by_staff),
    ] {
        let v = app
            .gql_by(Some(who), REVIEW, json!({ "id": id, "d": "APPROVE" }))
            .await;
        expect_code(&v, "FORBIDDEN");
    }
    expect_code(
        &app.gql_by(
            Some(&colleague),
            REVIEW,
            json!({ "id": by_staff, "d": "REJECT" }),
        )
        .await,
        "BAD_USER_INPUT",
    );
    assert_eq!(app.count("awards WHERE status = 'NOMINATED'").await, 2);
    assert_eq!(
        app.count("audit_entries WHERE action LIKE 'award.%'").await,
        0
    );
    // A colleague may.
    let v = app
        .gql_by(
            Some(&colleague),
            REVIEW,
            json!({ "id": by_staff, "d": "REJECT", "r": "证据不足" }),
        )
        .await;
    assert_eq!(v["data"]["reviewAward"]["status"], "REJECTED", "{v}");
}

#[tokio::test]
async fn racing_reviews_decide_once() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let community = street.community("新城嘉园").gid.clone();
    let staff = app.new_user().staff_of(&street).insert().await;
    let neighbour = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let nominee = json!({ "nomineeName": "陈文林", "nomineePhone": "13911110000" });
    let v = app
        .gql_by(Some(&neighbour), NOMINATE, deed(&community, nominee))
        .await;
    let id = v["data"]["nominateAward"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let racing: Vec<_> = (0..20)
        .map(|i| {
            let d = if i % 2 == 0 { "APPROVE" } else { "REJECT" };
            (
                Some(staff.token.clone()),
                REVIEW.to_owned(),
                json!({ "id": id, "d": d, "r": "审核" }),
            )
        })
        .collect();
    let t = tally(&app.parallel(racing).await);
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("INVALID_STATE"), Some(&19), "{t:?}");
    assert_eq!(
        app.count("audit_entries WHERE action LIKE 'award.%'").await,
        1
    );
}

/// Staff who made an account with a number nominated before are a party to that award: they
/// neither review nor grant it.
#[tokio::test]
async fn staff_named_by_their_number_are_a_party() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let community = street.community("新城嘉园").gid.clone();
    let neighbour = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let nominee = json!({ "nomineeName": "王站长", "nomineePhone": "13911112233" });
    let v = app
        .gql_by(Some(&neighbour), NOMINATE, deed(&community, nominee))
        .await;
    let id = v["data"]["nominateAward"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let named = app
        .new_user()
        .phone("13911112233")
        .staff_of(&street)
        .insert()
        .await;
    let v = app
        .gql_by(Some(&named), REVIEW, json!({ "id": id, "d": "APPROVE" }))
        .await;
    expect_code(&v, "FORBIDDEN");
    assert_eq!(app.count("awards WHERE status = 'NOMINATED'").await, 1);
}

#[tokio::test]
async fn awards_filter_by_state_community_and_nominator() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园", "云景里"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let reviewer = app.new_user().staff_of(&street).insert().await;
    let neighbour = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let courier = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let nominee = json!({ "nomineeId": gid(ObjectKind::User, courier.id) });
    let mut ids = Vec::new();
    for (who, place) in [
        (&neighbour, "新城嘉园"),
        (&neighbour, "云景里"),
        (&staff, "云景里"),
    ] {
        let v = app
            .gql_by(
                Some(who),
                NOMINATE,
                deed(&street.community(place).gid, nominee.clone()),
            )
            .await;
        ids.push(
            v["data"]["nominateAward"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    expect_ok(
        &app.gql_by(
            Some(&reviewer),
            REVIEW,
            json!({ "id": ids[1], "d": "APPROVE" }),
        )
        .await,
    );
    let list = "query($f: AwardFilter, $o: AwardOrder) { awards(filter: $f, orderBy: $o) {
      totalCount nodes { id } } }";
    let ids_of = |v: &Value| -> Vec<String> {
        v["data"]["awards"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let cases: Vec<(&TestUser, Value, Vec<&String>)> = vec![
        (&reviewer, json!({}), vec![&ids[2], &ids[1], &ids[0]]),
        (&reviewer, json!({ "status": "APPROVED" }), vec![&ids[1]]),
        (
            &reviewer,
            json!({ "status": "NOMINATED" }),
            vec![&ids[2], &ids[0]],
        ),
        (
            &reviewer,
            json!({ "communityId": street.community("云景里").gid }),
            vec![&ids[2], &ids[1]],
        ),
        (&staff, json!({ "nominatedByMe": true }), vec![&ids[2]]),
        (&neighbour, json!({}), vec![&ids[1], &ids[0]]),
        (&neighbour, json!({ "status": "APPROVED" }), vec![&ids[1]]),
        (&courier, json!({}), vec![]),
    ];
    for (who, filter, want) in cases {
        let v = app.gql_by(Some(who), list, json!({ "f": filter })).await;
        let want: Vec<String> = want.into_iter().cloned().collect();
        assert_eq!(ids_of(&v), want, "{filter}");
    }
    let v = app
        .gql_by(
            Some(&reviewer),
            list,
            json!({ "o": { "field": "CREATED_AT", "direction": "ASC" } }),
        )
        .await;
    assert_eq!(ids_of(&v), ids);
    expect_code(
        &app.gql_by(
            Some(&reviewer),
            list,
            json!({ "f": { "communityId": "bm90LWEtY29tbXVuaXR5" } }),
        )
        .await,
        "BAD_USER_INPUT",
    );
}

#[tokio::test]
async fn nominating_an_account_is_no_way_to_read_its_name() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let nosy = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let stranger = app
        .new_user()
        .name("欧阳娜娜")
        .lives_in(&street, "新城嘉园")
        .insert()
        .await;
    let nominee = json!({ "nomineeId": gid(ObjectKind::User, stranger.id) });
    let v = app
        .gql_by(
            Some(&nosy),
            NOMINATE,
            deed(&street.community("新城嘉园").gid, nominee),
        )
        .await;
    assert_eq!(v["data"]["nominateAward"]["nomineeName"], "欧**娜", "{v}");
    let v = app
        .gql_by(
            Some(&staff),
            "{ awards { nodes { nomineeName } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        v["data"]["awards"]["nodes"][0]["nomineeName"], "欧阳娜娜",
        "{v}"
    );
}
