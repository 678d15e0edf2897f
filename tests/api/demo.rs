//! The demo alliance loads once, and its accounts sign in.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn the_demo_loads_once_and_its_accounts_sign_in() {
    let app = TestApp::spawn().await;
    assert!(shangju::demo::load(&app.state).await.unwrap());
    assert!(!shangju::demo::load(&app.state).await.unwrap());
    assert_eq!(app.count("streets").await, 1);
    assert_eq!(app.count("communities").await, 4);
    assert_eq!(app.count("users").await, 4 + 56);
    assert_eq!(app.count("merchants").await, 57);
    assert_eq!(
        app.count("(SELECT DISTINCT name FROM merchants) AS names")
            .await,
        57,
        "every member has a name of its own"
    );
    assert!(
        app.count("(SELECT DISTINCT category FROM merchants) AS c")
            .await
            >= 10
    );
    for community in shangju::demo::DEMO_COMMUNITIES {
        let n = app
            .count(&format!(
                "merchants m JOIN communities c ON c.id = m.community_id WHERE c.name = '{community}'"
            ))
            .await;
        assert!(n >= 10, "{community} has only {n} members");
    }

    let public = app
        .gql("{ merchants { totalCount } coupons { totalCount edges { node { title merchant { name } } } } }", json!({}))
        .await;
    assert_eq!(public["data"]["merchants"]["totalCount"], 57, "{public}");
    assert_eq!(public["data"]["coupons"]["totalCount"], 5);

    for (account, roles) in shangju::demo::DEMO_ACCOUNTS.iter().zip([
        json!(["RESIDENT"]),
        json!(["RESIDENT", "MERCHANT"]),
        json!(["STAFF"]),
    ]) {
        let v = app
            .gql(
                LOGIN,
                json!({ "phone": account.phone, "password": shangju::demo::DEMO_PASSWORD }),
            )
            .await;
        assert_eq!(v["data"]["login"]["user"]["roles"], roles, "{v}");
        let token = v["data"]["login"]["accessToken"].as_str().unwrap();
        if account.role == entity::user_role::Role::Resident {
            let p = app.gql_as(token, "{ myPoints { balance } coupons(filter: { eligibleOnly: true }) { totalCount } }", json!({})).await;
            assert_eq!(p["data"]["myPoints"]["balance"], 120, "{p}");
            assert_eq!(
                p["data"]["coupons"]["totalCount"], 5,
                "a senior may claim every demo offer"
            );
        }
        if account.role == entity::user_role::Role::Merchant {
            let m = app
                .gql_as(token, "{ myMerchants { name } }", json!({}))
                .await;
            assert_eq!(m["data"]["myMerchants"][0]["name"], "社区食堂", "{m}");
        }
    }
}

#[tokio::test]
async fn the_demo_courier_has_his_award_on_the_roll_and_his_lunches_in_hand() {
    let app = TestApp::spawn().await;
    shangju::demo::load(&app.state).await.unwrap();
    shangju::demo::load(&app.state).await.unwrap();
    assert_eq!(app.count("awards").await, 1, "loaded once");
    assert_eq!(app.count("entitlements").await, 4);
    let courier = &shangju::demo::DEMO_COURIER;
    let v = app
        .gql(
            LOGIN,
            json!({ "phone": courier.phone, "password": shangju::demo::DEMO_PASSWORD }),
        )
        .await;
    let token = v["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned();
    let v = app
        .gql_as(
            &token,
            "{ me { tags street { id } } myPoints { balance } myEntitlements { nodes {
               description totalUses usedCount remainingValueFen lastUsedAt provider { name }
               uses { usedAt } } } }",
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["me"]["tags"], json!(["COURIER"]), "{v}");
    assert_eq!(v["data"]["myPoints"]["balance"], 200);
    let nodes = v["data"]["myEntitlements"]["nodes"].as_array().unwrap();
    let lunch = nodes
        .iter()
        .find(|e| e["provider"]["name"] == "社区食堂")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(lunch["totalUses"], 365);
    assert_eq!(lunch["usedCount"], shangju::demo::DEMO_LUNCHES_USED);
    assert_eq!(
        lunch["uses"].as_array().unwrap().len(),
        shangju::demo::DEMO_LUNCHES_USED as usize
    );
    assert!(lunch["lastUsedAt"].is_string());
    let voucher = nodes
        .iter()
        .find(|e| e["provider"]["name"] == "七鲜超市")
        .unwrap();
    assert_eq!(voucher["remainingValueFen"], 50_000 - 8_650 - 12_000);

    let street = v["data"]["me"]["street"]["id"].clone();
    let v = app
        .gql(
            "query($s: ID!) { honorRoll(streetId: $s) { nodes { nomineeName packageTitle community { name } providers { name } } } }",
            json!({ "s": street }),
        )
        .await;
    let e = &v["data"]["honorRoll"]["nodes"][0];
    assert_eq!(e["nomineeName"], "陈*林", "{v}");
    assert_eq!(e["community"]["name"], "新城嘉园");
    assert_eq!(e["providers"].as_array().unwrap().len(), 4);
}
