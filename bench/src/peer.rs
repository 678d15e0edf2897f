//! PostGraphile 5 over the same PostgreSQL database, to compare with (`load --peer
//! postgraphile`). It is installed from npm with Node 22 into a temporary folder on first use;
//! without npm, or on SQLite, the comparison is skipped with a message.

use std::process::Stdio;

use tokio::process::{Child, Command};

const POSTGRAPHILE: &str = "postgraphile@5.1.5";
const NODE: &str = "node@22";

pub struct Peer {
    child: Child,
    pub url: String,
}

impl Peer {
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Installs (once) and starts PostGraphile with its amber preset on `database_url`; `None`
    /// with the reason printed when it cannot run here.
    pub async fn postgraphile(database_url: &str) -> Option<Peer> {
        if !database_url.starts_with("postgres") {
            println!("peer: PostGraphile needs PostgreSQL; skipped on SQLite");
            return None;
        }
        let dir = std::env::temp_dir().join("shangju-bench-postgraphile");
        let bin = |name: &str| dir.join("node_modules").join(".bin").join(name);
        if !bin("postgraphile").exists() {
            std::fs::create_dir_all(&dir).ok()?;
            std::fs::write(dir.join("package.json"), r#"{"private":true}"#).ok()?;
            println!(
                "peer: installing {POSTGRAPHILE} and {NODE} into {}",
                dir.display()
            );
            let installed = Command::new("npm")
                .args([
                    "install",
                    "--silent",
                    "--no-audit",
                    "--no-fund",
                    NODE,
                    POSTGRAPHILE,
                ])
                .current_dir(&dir)
                .status()
                .await;
            if !installed.is_ok_and(|s| s.success()) {
                println!("peer: npm is missing or the install failed; PostGraphile skipped");
                return None;
            }
        }
        let port = crate::server::free_port();
        let child = Command::new(bin("node"))
            .arg(bin("postgraphile"))
            .args([
                "-P",
                "postgraphile/presets/amber",
                "-s",
                "public",
                "-n",
                "127.0.0.1",
            ])
            .args(["-c", database_url, "-p", &port.to_string()])
            .env("GRAPHILE_ENV", "production")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        let url = format!("http://127.0.0.1:{port}/graphql");
        let client = reqwest::Client::new();
        for _ in 0..300 {
            let ready = client
                .post(&url)
                .json(&serde_json::json!({ "query": "{ __typename }" }))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Some(Peer { child, url });
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        println!("peer: PostGraphile did not start; skipped");
        None
    }
}

/// The shapes as PostGraphile's generated schema asks for them: the same rows in the same
/// order (its `condition` cannot say "valid until after now"; every seeded coupon is).
pub const L: &str = r#"{ allMerchants(first: 20, condition: { status: "ACTIVE" }, orderBy: [CREATED_AT_ASC, ROW_ID_ASC]) { nodes { rowId name category address couponsByMerchantId(first: 20, condition: { status: "ACTIVE" }, orderBy: ROW_ID_DESC) { nodes { rowId title kind amountFen percentOff remainingStock validUntil } } } } }"#;
pub const S: &str = r#"{ allMerchants(first: 10, condition: { status: "ACTIVE" }, orderBy: [CREATED_AT_ASC, ROW_ID_ASC]) { nodes { rowId name couponsByMerchantId(first: 5, condition: { status: "ACTIVE" }, orderBy: ROW_ID_DESC) { nodes { rowId title remainingStock } } } } }"#;

/// Merchant and coupon ids of a PostGraphile answer, written as ours are.
pub fn rows(answer: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    use entity::names::ObjectKind;
    let gid = |kind, v: &serde_json::Value| {
        let n: i64 = v.as_str().and_then(|s| s.parse().ok()).unwrap_or(-1);
        serde_json::Value::String(shangju::graphql::id::encode(kind, n).0.to_string()).to_string()
    };
    answer["data"]["allMerchants"]["nodes"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|m| {
                    let coupons = m["couponsByMerchantId"]["nodes"]
                        .as_array()
                        .map(|cs| {
                            cs.iter()
                                .map(|c| gid(ObjectKind::Coupon, &c["rowId"]))
                                .collect()
                        })
                        .unwrap_or_default();
                    (gid(ObjectKind::Merchant, &m["rowId"]), coupons)
                })
                .collect()
        })
        .unwrap_or_default()
}
