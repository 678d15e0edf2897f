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
    assert_eq!(app.count("users").await, 3 + 56);
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
