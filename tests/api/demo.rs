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
    assert_eq!(app.count("users").await, 3);

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
    }
}
