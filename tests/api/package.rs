//! Benefit packages: staff compose one from several member merchants' items, each provider's
//! owner confirms or declines its own, the package is ready only when every item is
//! confirmed, a change after sending asks the provider again, and staff withdraw what nobody
//! received. Every refusal changes nothing.

use serde_json::{Value, json};

use entity::merchant::MerchantStatus;

use crate::builders::*;
use crate::support::*;

const CREATE: &str = "mutation($input: CreateBenefitPackageInput!) {
  createBenefitPackage(input: $input) { id title status copies copiesLeft
    items { id kind status description totalUses perDayLimit validDays valueFen provider { name } } } }";
const SEND: &str =
    "mutation($id: ID!) { sendBenefitPackage(id: $id) { id status items { status } } }";
const CONFIRM: &str =
    "mutation($id: ID!) { confirmPackageItem(id: $id) { id status package { status } } }";
const DECLINE: &str = "mutation($id: ID!, $r: String!) { declinePackageItem(id: $id, reason: $r) { id status declineReason } }";
const UPDATE: &str = "mutation($id: ID!, $input: PackageItemInput!) { updatePackageItem(id: $id, input: $input) { id status package { status } } }";
const ADD: &str = "mutation($p: ID!, $input: PackageItemInput!) { addPackageItem(packageId: $p, input: $input) { id status } }";
const REMOVE: &str = "mutation($id: ID!) { removePackageItem(id: $id) { status items { id } } }";
const WITHDRAW: &str = "mutation($id: ID!, $r: String!) { withdrawBenefitPackage(id: $id, reason: $r) { status statusReason } }";
const TO_CONFIRM: &str = "{ packageItemsToConfirm { totalCount nodes { id description package { title story items { id } } } } }";
const PACKAGE: &str =
    "query($id: ID!) { benefitPackage(id: $id) { title status story items { id description } } }";

fn lunches(provider: &str) -> Value {
    json!({ "providerId": provider, "kind": "ENTITLEMENT", "description": "一份午餐",
            "totalUses": 365, "perDayLimit": 1, "validDays": 365 })
}

fn vouchers(provider: &str) -> Value {
    json!({ "providerId": provider, "kind": "VOUCHER", "description": "生鲜代金券",
            "valueFen": 50000, "validDays": 180 })
}

struct Alliance {
    street: TestStreet,
    staff: TestUser,
    canteen: TestMerchant,
    market: TestMerchant,
}

async fn alliance(app: &TestApp) -> Alliance {
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let canteen = app.new_merchant(&street).name("社区食堂").insert().await;
    let market = app.new_merchant(&street).name("七鲜超市").insert().await;
    Alliance {
        street,
        staff,
        canteen,
        market,
    }
}

async fn draft(app: &TestApp, a: &Alliance) -> Value {
    let v = app
        .gql_by(
            Some(&a.staff),
            CREATE,
            json!({ "input": { "title": "暖心大礼包", "story": "燃气泄漏，挨家敲门",
                    "items": [lunches(&a.canteen.gid), vouchers(&a.market.gid)] } }),
        )
        .await;
    expect_ok(&v);
    v["data"]["createBenefitPackage"].clone()
}

fn item_ids(p: &Value) -> Vec<String> {
    p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_package_is_ready_when_every_provider_confirms() {
    let app = TestApp::spawn().await;
    let a = alliance(&app).await;
    let p = draft(&app, &a).await;
    assert_eq!(p["status"], "DRAFT");
    assert_eq!(
        (p["copies"].clone(), p["copiesLeft"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(p["items"][0]["provider"]["name"], "社区食堂");
    assert_eq!(p["items"][0]["perDayLimit"], 1);
    assert_eq!(p["items"][1]["valueFen"], 50000);
    let id = p["id"].as_str().unwrap().to_owned();
    let items = item_ids(&p);

    // Nothing asks the providers before it is sent.
    let v = app
        .gql_by(Some(&a.canteen.owner), TO_CONFIRM, json!({}))
        .await;
    assert_eq!(v["data"]["packageItemsToConfirm"]["totalCount"], 0, "{v}");
    let v = app.gql_by(Some(&a.staff), SEND, json!({ "id": id })).await;
    assert_eq!(
        v["data"]["sendBenefitPackage"]["status"], "CONFIRMING",
        "{v}"
    );
    assert_eq!(
        v["data"]["sendBenefitPackage"]["items"],
        json!([{ "status": "REQUESTED" }, { "status": "REQUESTED" }])
    );
    // Each provider sees its own item and the package's title, not the rest.
    let v = app
        .gql_by(Some(&a.canteen.owner), TO_CONFIRM, json!({}))
        .await;
    let asked = &v["data"]["packageItemsToConfirm"];
    assert_eq!(asked["totalCount"], 1, "{v}");
    assert_eq!(asked["nodes"][0]["description"], "一份午餐");
    assert_eq!(asked["nodes"][0]["package"]["title"], "暖心大礼包");
    assert_eq!(
        asked["nodes"][0]["package"]["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(asked["nodes"][0]["package"]["story"].is_null(), "{v}");
    expect_code(&v, "FORBIDDEN");

    let v = app
        .gql_by(Some(&a.canteen.owner), CONFIRM, json!({ "id": items[0] }))
        .await;
    assert_eq!(
        v["data"]["confirmPackageItem"]["status"], "CONFIRMED",
        "{v}"
    );
    assert_eq!(
        v["data"]["confirmPackageItem"]["package"]["status"],
        "CONFIRMING"
    );
    let v = app
        .gql_by(Some(&a.market.owner), CONFIRM, json!({ "id": items[1] }))
        .await;
    assert_eq!(
        v["data"]["confirmPackageItem"]["package"]["status"], "READY",
        "{v}"
    );
    // Confirming twice is a wrong state.
    let v = app
        .gql_by(Some(&a.market.owner), CONFIRM, json!({ "id": items[1] }))
        .await;
    expect_code(&v, "INVALID_STATE");
    let ready = app.count("events WHERE kind = 'package.ready'").await;
    assert_eq!(ready, 1);
    assert_eq!(
        app.count("audit_entries WHERE action = 'package_item.confirm'")
            .await,
        2
    );

    // A change after the package is ready asks its provider again.
    let mut changed = lunches(&a.canteen.gid);
    changed["totalUses"] = json!(200);
    let v = app
        .gql_by(
            Some(&a.staff),
            UPDATE,
            json!({ "id": items[0], "input": changed }),
        )
        .await;
    assert_eq!(v["data"]["updatePackageItem"]["status"], "REQUESTED", "{v}");
    assert_eq!(
        v["data"]["updatePackageItem"]["package"]["status"],
        "CONFIRMING"
    );
    // Who heard that it was ready hears that it is not.
    assert_eq!(app.count("events WHERE kind = 'package.reopened'").await, 1);
    let v = app
        .gql_by(Some(&a.canteen.owner), CONFIRM, json!({ "id": items[0] }))
        .await;
    assert_eq!(
        v["data"]["confirmPackageItem"]["package"]["status"], "READY",
        "{v}"
    );
}

#[tokio::test]
async fn a_declined_item_keeps_the_package_from_being_ready_until_staff_replace_it() {
    let app = TestApp::spawn().await;
    let a = alliance(&app).await;
    let p = draft(&app, &a).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let items = item_ids(&p);
    expect_ok(&app.gql_by(Some(&a.staff), SEND, json!({ "id": id })).await);
    expect_ok(
        &app.gql_by(Some(&a.canteen.owner), CONFIRM, json!({ "id": items[0] }))
            .await,
    );
    // Signed in, and a reason, are required.
    expect_code(
        &app.gql(DECLINE, json!({ "id": items[1], "r": "年底库存不足" }))
            .await,
        "UNAUTHENTICATED",
    );
    expect_code(
        &app.gql(CONFIRM, json!({ "id": items[1] })).await,
        "UNAUTHENTICATED",
    );
    let v = app
        .gql_by(
            Some(&a.market.owner),
            DECLINE,
            json!({ "id": items[1], "r": " " }),
        )
        .await;
    expect_code(&v, "BAD_USER_INPUT");
    let v = app
        .gql_by(
            Some(&a.market.owner),
            DECLINE,
            json!({ "id": items[1], "r": "年底库存不足" }),
        )
        .await;
    assert_eq!(v["data"]["declinePackageItem"]["status"], "DECLINED", "{v}");
    assert_eq!(
        v["data"]["declinePackageItem"]["declineReason"],
        "年底库存不足"
    );
    let v = app
        .gql_by(Some(&a.staff), PACKAGE, json!({ "id": id }))
        .await;
    assert_eq!(v["data"]["benefitPackage"]["status"], "CONFIRMING", "{v}");

    // Another provider in its place: asked at once; removing the declined one, it is ready
    // when the newcomer confirms.
    let hospital = app
        .new_merchant(&a.street)
        .name("第六人民医院")
        .insert()
        .await;
    let mut check = lunches(&hospital.gid);
    check["description"] = json!("体检套餐");
    check["totalUses"] = json!(1);
    let v = app
        .gql_by(Some(&a.staff), ADD, json!({ "p": id, "input": check }))
        .await;
    assert_eq!(v["data"]["addPackageItem"]["status"], "REQUESTED", "{v}");
    let added = v["data"]["addPackageItem"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = app
        .gql_by(Some(&a.staff), REMOVE, json!({ "id": items[1] }))
        .await;
    assert_eq!(
        v["data"]["removePackageItem"]["status"], "CONFIRMING",
        "{v}"
    );
    let v = app
        .gql_by(Some(&hospital.owner), CONFIRM, json!({ "id": added }))
        .await;
    assert_eq!(
        v["data"]["confirmPackageItem"]["package"]["status"], "READY",
        "{v}"
    );
}

#[tokio::test]
async fn bad_packages_and_items_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let a = alliance(&app).await;
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let far_staff = app.new_user().staff_of(&far).insert().await;
    let far_merchant = app.new_merchant(&far).insert().await;
    let pending = app
        .new_merchant(&a.street)
        .status(MerchantStatus::Pending)
        .insert()
        .await;
    let resident = app
        .new_user()
        .lives_in(&a.street, "新城嘉园")
        .insert()
        .await;
    let input = |items: Vec<Value>| json!({ "input": { "title": "暖心大礼包", "items": items } });
    let with = |f: &dyn Fn(&mut Value)| {
        let mut i = lunches(&a.canteen.gid);
        f(&mut i);
        i
    };
    let cases: Vec<(Option<&TestUser>, Value, &str)> = vec![
        (None, input(vec![]), "UNAUTHENTICATED"),
        (Some(&resident), input(vec![]), "FORBIDDEN"),
        (Some(&a.canteen.owner), input(vec![]), "FORBIDDEN"),
        (
            Some(&a.staff),
            json!({ "input": { "title": "  ", "items": [] } }),
            "BAD_USER_INPUT",
        ),
        (
            Some(&a.staff),
            json!({ "input": { "title": "礼包", "copies": 0 } }),
            "BAD_USER_INPUT",
        ),
        (
            Some(&a.staff),
            input(vec![with(&|i| i["totalUses"] = json!(0))]),
            "BAD_USER_INPUT",
        ),
        (
            Some(&a.staff),
            input(vec![with(&|i| i["totalUses"] = json!(-3))]),
            "BAD_USER_INPUT",
        ),
        (
            Some(&a.staff),
            input(vec![with(&|i| i["perDayLimit"] = json!(400))]),
            "BAD_USER_INPUT",
        ),
        (
            Some(&a.staff),
            input(vec![with(&|i| i["perDayLimit"] = json!(0))]),
            "BAD_USER_INPUT",
        ),
        (
            Some(&a.staff),
            input(vec![with(&|i| i["validDays"] = json!(0))]),
            "BAD_USER_INPUT",
        ),
        (
            Some(&a.staff),
            input(vec![with(&|i| i["description"] = json!(""))]),
            "BAD_USER_INPUT",
        ),
        (
            Some(&a.staff),
            input(vec![with(&|i| i["valueFen"] = json!(100))]),
            "BAD_USER_INPUT",
        ),
        (
            Some(&a.staff),
            input(vec![with(&|i| i["kind"] = json!("VOUCHER"))]),
            "BAD_USER_INPUT",
        ),
        (
            Some(&a.staff),
            input(vec![lunches(&far_merchant.gid)]),
            "BAD_USER_INPUT",
        ),
        (
            Some(&a.staff),
            input(vec![lunches(&pending.gid)]),
            "BAD_USER_INPUT",
        ),
        (
            Some(&far_staff),
            input(vec![lunches(&a.canteen.gid)]),
            "BAD_USER_INPUT",
        ),
    ];
    for (who, vars, want) in cases {
        let v = app.gql_by(who, CREATE, vars.clone()).await;
        assert_eq!(code(&v), want, "{vars} → {v}");
    }
    assert_eq!(app.count("benefit_packages").await, 0);
    assert_eq!(app.count("package_items").await, 0);

    // On a package: staff of another street, a provider's clerk, the other provider, and
    // steps in the wrong state are refused.
    let clerk = app.new_user().insert().await;
    app.join_as_clerk(&a.canteen.owner, &a.canteen.gid, &clerk)
        .await;
    let empty = app.gql_by(Some(&a.staff), CREATE, input(vec![])).await;
    let empty_id = empty["data"]["createBenefitPackage"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_code(
        &app.gql_by(Some(&a.staff), SEND, json!({ "id": empty_id }))
            .await,
        "INVALID_STATE",
    );
    let p = draft(&app, &a).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let items = item_ids(&p);
    expect_code(
        &app.gql_by(Some(&far_staff), SEND, json!({ "id": id }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &app.gql_by(Some(&a.canteen.owner), CONFIRM, json!({ "id": items[0] }))
            .await,
        "INVALID_STATE",
    );
    expect_ok(&app.gql_by(Some(&a.staff), SEND, json!({ "id": id })).await);
    expect_code(
        &app.gql_by(Some(&a.staff), SEND, json!({ "id": id })).await,
        "INVALID_STATE",
    );
    for (who, item) in [
        (&clerk, &items[0]),
        (&a.market.owner, &items[0]),
        (&a.staff, &items[0]),
        (&far_staff, &items[1]),
    ] {
        let v = app.gql_by(Some(who), CONFIRM, json!({ "id": item })).await;
        expect_code(&v, "FORBIDDEN");
    }
    expect_code(
        &app.gql_by(Some(&far_staff), PACKAGE, json!({ "id": id }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &app.gql_by(Some(&resident), PACKAGE, json!({ "id": id }))
            .await,
        "FORBIDDEN",
    );
    let v = app
        .gql_by(
            Some(&a.staff),
            "{ benefitPackages { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["benefitPackages"]["totalCount"], 2, "{v}");
    let v = app
        .gql_by(
            Some(&far_staff),
            "{ benefitPackages { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["benefitPackages"]["totalCount"], 0, "{v}");
    assert_eq!(
        app.count("package_items WHERE status = 'REQUESTED'").await,
        2,
        "no refusal changed an item"
    );

    // Withdrawn: a reason is required, then nothing more happens to it.
    expect_code(
        &app.gql_by(Some(&a.staff), WITHDRAW, json!({ "id": id, "r": "" }))
            .await,
        "BAD_USER_INPUT",
    );
    let v = app
        .gql_by(
            Some(&a.staff),
            WITHDRAW,
            json!({ "id": id, "r": "改用下个月的礼包" }),
        )
        .await;
    assert_eq!(
        v["data"]["withdrawBenefitPackage"]["status"], "WITHDRAWN",
        "{v}"
    );
    for (who, q, vars) in [
        (&a.canteen.owner, CONFIRM, json!({ "id": items[0] })),
        (&a.staff, SEND, json!({ "id": id })),
        (
            &a.staff,
            ADD,
            json!({ "p": id, "input": lunches(&a.canteen.gid) }),
        ),
        (&a.staff, WITHDRAW, json!({ "id": id, "r": "再撤一次" })),
    ] {
        expect_code(&app.gql_by(Some(who), q, vars).await, "INVALID_STATE");
    }
    assert_eq!(
        app.count("events WHERE kind = 'package.withdrawn'").await,
        1
    );
}

#[tokio::test]
async fn racing_confirmations_make_a_package_ready_once() {
    let app = TestApp::spawn().await;
    let a = alliance(&app).await;
    let p = draft(&app, &a).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let items = item_ids(&p);
    expect_ok(&app.gql_by(Some(&a.staff), SEND, json!({ "id": id })).await);
    let mut racing = Vec::new();
    for _ in 0..10 {
        for (owner, item) in [(&a.canteen.owner, &items[0]), (&a.market.owner, &items[1])] {
            racing.push((
                Some(owner.token.clone()),
                CONFIRM.to_owned(),
                json!({ "id": item }),
            ));
        }
    }
    let t = tally(&app.parallel(racing).await);
    assert_eq!(t.get(""), Some(&2), "{t:?}");
    assert_eq!(t.get("INVALID_STATE"), Some(&18), "{t:?}");
    let v = app
        .gql_by(Some(&a.staff), PACKAGE, json!({ "id": id }))
        .await;
    assert_eq!(v["data"]["benefitPackage"]["status"], "READY", "{v}");
    assert_eq!(app.count("events WHERE kind = 'package.ready'").await, 1);
}

/// The package's state agrees with its items: `READY` exactly when every item is confirmed.
async fn consistent(app: &TestApp, staff: &TestUser, id: &str) -> String {
    let v = app
        .gql_by(
            Some(staff),
            "query($id: ID!) { benefitPackage(id: $id) { status items { status } } }",
            json!({ "id": id }),
        )
        .await;
    let p = &v["data"]["benefitPackage"];
    let all = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] == "CONFIRMED");
    let status = p["status"].as_str().unwrap().to_owned();
    match status.as_str() {
        "READY" => assert!(all, "{v}"),
        "CONFIRMING" => assert!(!all, "{v}"),
        _ => {}
    }
    status
}

/// A last confirmation racing a change of another item, or a withdrawal, leaves no error but
/// the rules' and a state that agrees with the items (on PostgreSQL the steps take the
/// package's row first, so they neither deadlock nor miss each other).
#[tokio::test]
async fn confirmations_racing_changes_and_withdrawals_stay_consistent() {
    let app = TestApp::spawn().await;
    let a = alliance(&app).await;
    for round in 0..2 {
        let p = draft(&app, &a).await;
        let id = p["id"].as_str().unwrap().to_owned();
        let items = item_ids(&p);
        expect_ok(&app.gql_by(Some(&a.staff), SEND, json!({ "id": id })).await);
        expect_ok(
            &app.gql_by(Some(&a.canteen.owner), CONFIRM, json!({ "id": items[0] }))
                .await,
        );
        let other = if round == 0 {
            let mut changed = lunches(&a.canteen.gid);
            changed["totalUses"] = json!(300);
            (
                UPDATE.to_owned(),
                json!({ "id": items[0], "input": changed }),
            )
        } else {
            (WITHDRAW.to_owned(), json!({ "id": id, "r": "改期" }))
        };
        let mut racing = Vec::new();
        for _ in 0..8 {
            racing.push((
                Some(a.market.owner.token.clone()),
                CONFIRM.to_owned(),
                json!({ "id": items[1] }),
            ));
            racing.push((
                Some(a.staff.token.clone()),
                other.0.clone(),
                other.1.clone(),
            ));
        }
        let answers = app.parallel(racing).await;
        let t = tally(&answers);
        assert!(
            t.keys().all(|c| c.is_empty() || c == "INVALID_STATE"),
            "{t:?}"
        );
        let status = consistent(&app, &a.staff, &id).await;
        if round == 1 {
            assert_eq!(status, "WITHDRAWN");
            let v = app
                .gql_by(Some(&a.market.owner), TO_CONFIRM, json!({}))
                .await;
            assert_eq!(v["data"]["packageItemsToConfirm"]["totalCount"], 0, "{v}");
        }
    }
}

/// A change of an item that is asked already asks its (new) provider again, and a re-asked
/// item forgets its old refusal.
#[tokio::test]
async fn a_changed_item_asks_its_provider_again() {
    let app = TestApp::spawn().await;
    let a = alliance(&app).await;
    let bakery = app.new_merchant(&a.street).name("老街面包").insert().await;
    let p = draft(&app, &a).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let items = item_ids(&p);
    expect_ok(&app.gql_by(Some(&a.staff), SEND, json!({ "id": id })).await);
    let asked_of = |user: i64| {
        format!(
            "events WHERE kind = 'package_item.requested' AND CAST(concerned_user_ids AS TEXT) = '[{user}]'"
        )
    };
    assert_eq!(app.count(&asked_of(bakery.owner.id)).await, 0);
    let v = app
        .gql_by(
            Some(&a.staff),
            UPDATE,
            json!({ "id": items[0], "input": lunches(&bakery.gid) }),
        )
        .await;
    assert_eq!(v["data"]["updatePackageItem"]["status"], "REQUESTED", "{v}");
    assert_eq!(app.count(&asked_of(bakery.owner.id)).await, 1);
    let v = app.gql_by(Some(&bakery.owner), TO_CONFIRM, json!({})).await;
    assert_eq!(v["data"]["packageItemsToConfirm"]["totalCount"], 1, "{v}");
    let v = app
        .gql_by(Some(&a.canteen.owner), TO_CONFIRM, json!({}))
        .await;
    assert_eq!(v["data"]["packageItemsToConfirm"]["totalCount"], 0, "{v}");
    expect_code(
        &app.gql_by(Some(&a.canteen.owner), CONFIRM, json!({ "id": items[0] }))
            .await,
        "FORBIDDEN",
    );

    expect_ok(
        &app.gql_by(
            Some(&a.market.owner),
            DECLINE,
            json!({ "id": items[1], "r": "库存不足" }),
        )
        .await,
    );
    let mut smaller = vouchers(&a.market.gid);
    smaller["valueFen"] = json!(20000);
    let v = app
        .gql_by(
            Some(&a.staff),
            "mutation($id: ID!, $input: PackageItemInput!) { updatePackageItem(id: $id, input: $input) { status declineReason } }",
            json!({ "id": items[1], "input": smaller }),
        )
        .await;
    assert_eq!(v["data"]["updatePackageItem"]["status"], "REQUESTED", "{v}");
    assert!(
        v["data"]["updatePackageItem"]["declineReason"].is_null(),
        "{v}"
    );
    // Each change is audited with what the item gave before and after.
    let changed = app
        .count("audit_entries WHERE action = 'package_item.change' AND before IS NOT NULL")
        .await;
    assert_eq!(changed, 2);
}

#[tokio::test]
async fn only_the_street_and_its_providers_see_or_change_a_package() {
    let app = TestApp::spawn().await;
    let a = alliance(&app).await;
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let far_staff = app.new_user().staff_of(&far).insert().await;
    let resident = app
        .new_user()
        .lives_in(&a.street, "新城嘉园")
        .insert()
        .await;
    let clerk = app.new_user().insert().await;
    app.join_as_clerk(&a.market.owner, &a.market.gid, &clerk)
        .await;
    let p = draft(&app, &a).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let items = item_ids(&p);
    // A draft asks nobody, so its providers do not see it yet.
    expect_code(
        &app.gql_by(Some(&a.canteen.owner), PACKAGE, json!({ "id": id }))
            .await,
        "FORBIDDEN",
    );
    expect_ok(&app.gql_by(Some(&a.staff), SEND, json!({ "id": id })).await);
    let before = (
        app.count("audit_entries").await,
        app.count("events").await,
        app.count("package_items").await,
    );
    let changes = [
        (ADD, json!({ "p": id, "input": lunches(&a.canteen.gid) })),
        (
            UPDATE,
            json!({ "id": items[0], "input": lunches(&a.market.gid) }),
        ),
        (REMOVE, json!({ "id": items[0] })),
        (WITHDRAW, json!({ "id": id, "r": "不要了" })),
        (SEND, json!({ "id": id })),
    ];
    for (q, vars) in &changes {
        for (who, want) in [
            (None, "UNAUTHENTICATED"),
            (Some(&far_staff), "FORBIDDEN"),
            (Some(&a.canteen.owner), "FORBIDDEN"),
            (Some(&resident), "FORBIDDEN"),
        ] {
            let v = app.gql_by(who, q, vars.clone()).await;
            assert_eq!(code(&v), want, "{q} {vars} → {v}");
        }
    }
    for who in [&clerk, &a.canteen.owner, &resident] {
        let v = app
            .gql_by(Some(who), DECLINE, json!({ "id": items[1], "r": "不给" }))
            .await;
        expect_code(&v, "FORBIDDEN");
    }
    // Invalid values on add and change are refused too.
    let mut bad = lunches(&a.canteen.gid);
    bad["validDays"] = json!(-1);
    for (q, vars) in [
        (ADD, json!({ "p": id, "input": bad.clone() })),
        (UPDATE, json!({ "id": items[0], "input": bad })),
    ] {
        expect_code(&app.gql_by(Some(&a.staff), q, vars).await, "BAD_USER_INPUT");
    }
    let after = (
        app.count("audit_entries").await,
        app.count("events").await,
        app.count("package_items").await,
    );
    assert_eq!(before, after, "no refusal wrote anything");

    // The provider's view: title and its own item; the rest is null with FORBIDDEN.
    let v = app
        .gql_by(
            Some(&clerk),
            "query($id: ID!) { benefitPackage(id: $id) { title copies copiesLeft statusReason story items { description } } }",
            json!({ "id": id }),
        )
        .await;
    let seen = &v["data"]["benefitPackage"];
    assert_eq!(seen["title"], "暖心大礼包", "{v}");
    assert_eq!(seen["items"], json!([{ "description": "生鲜代金券" }]));
    for private in ["copies", "copiesLeft", "statusReason", "story"] {
        assert!(seen[private].is_null(), "{private}: {v}");
    }
    for who in [&a.canteen.owner, &resident] {
        let v = app
            .gql_by(Some(who), "{ benefitPackages { totalCount } }", json!({}))
            .await;
        expect_code(&v, "FORBIDDEN");
    }

    // A provider suspended after it was added is asked nothing more.
    let p = draft(&app, &a).await;
    let second = p["id"].as_str().unwrap().to_owned();
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        &format!(
            "UPDATE merchants SET status = 'SUSPENDED' WHERE id = {}",
            a.market.id
        ),
    )
    .await
    .unwrap();
    expect_code(
        &app.gql_by(Some(&a.staff), SEND, json!({ "id": second }))
            .await,
        "BAD_USER_INPUT",
    );
    expect_code(
        &app.gql_by(Some(&a.market.owner), CONFIRM, json!({ "id": items[1] }))
            .await,
        "INVALID_STATE",
    );
}
