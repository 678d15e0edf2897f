//! A command context's transaction: its statements share one connection, so savepoints nest
//! and never run side by side.

use shangju::domain::context::Cx;

use crate::support::*;

/// Two savepoints at once on one transaction would interleave their statements and release
/// each other: the second is refused as an internal error, and once the first has ended the
/// transaction opens another.
#[tokio::test]
async fn a_transaction_opens_one_savepoint_at_a_time() {
    let app = TestApp::spawn().await;
    let cx = Cx::system(&app.state);
    let tx = cx.write().await.unwrap();
    let (a, b) = tokio::join!(tx.write(), tx.write());
    let (open, refused) = match (a, b) {
        (Ok(open), Err(e)) | (Err(e), Ok(open)) => (open, e),
        (a, b) => panic!(
            "one of two savepoints opens: {:?} {:?}",
            a.is_ok(),
            b.is_ok()
        ),
    };
    assert_eq!(refused.code(), "INTERNAL_SERVER_ERROR");
    open.commit().await.unwrap();
    let again = tx.write().await.unwrap();
    drop(again);
    let third = tx.write().await.unwrap();
    third.commit().await.unwrap();
    tx.commit().await.unwrap();
}
