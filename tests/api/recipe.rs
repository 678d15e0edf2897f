//! The steps of `docs/architecture.md`'s recipe that neither the compiler nor clippy can
//! enforce, enforced here by enumerating the schema and the test tree: forgetting one fails.

use serde_json::Value;

async fn types() -> Vec<Value> {
    let schema = shangju::graphql::build_schema(None, Default::default());
    let resp = schema
        .execute(
            "{ __schema { types { name kind interfaces { name } fields { name } } \
             mutationType { fields { name } } } }",
        )
        .await;
    assert!(resp.errors.is_empty(), "{:?}", resp.errors);
    let data = resp.data.into_json().unwrap();
    data["__schema"]["types"].as_array().unwrap().clone()
}

fn field_names(t: &Value) -> Vec<&str> {
    t["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["name"].as_str().unwrap())
        .collect()
}

/// An object that has a state (`status`) and an identity (`Node`) moves by a lifecycle, so it
/// offers its steps: `availableActions`.
#[tokio::test]
async fn every_object_with_a_state_offers_its_steps() {
    let mut missing = Vec::new();
    let mut stateful = 0;
    for t in types().await {
        let node = t["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["name"] == "Node");
        let fields = field_names(&t);
        if node && fields.contains(&"status") {
            stateful += 1;
            if !fields.contains(&"availableActions") {
                missing.push(t["name"].as_str().unwrap().to_owned());
            }
        }
    }
    assert!(missing.is_empty(), "without availableActions: {missing:?}");
    // Merchant, Coupon, CouponClaim, Award, BenefitPackage, PackageItem, Entitlement,
    // ClerkInvitation, TagRequest, Community: the check is not empty.
    assert!(stateful >= 10, "only {stateful} objects with a state");
}

/// A source file without its comments: a name in a comment tests nothing.
fn code_of(source: &str) -> String {
    source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A test file left out of `tests/api/main.rs` would never run.
#[test]
fn every_test_file_is_a_module_of_the_binary() {
    let main = read("tests/api/main.rs");
    let dir = format!("{}/tests/api", env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(module) = name.strip_suffix(".rs")
            && module != "main"
            && !main.contains(&format!("mod {module};"))
        {
            missing.push(module.to_owned());
        }
    }
    assert!(missing.is_empty(), "not in tests/api/main.rs: {missing:?}");
}

/// Every mutation has its rights by role tested: in the tables of `tests/api/policy.rs`, or in
/// the module `policy::RIGHTS_TESTED_IN` names for it, which must use it and check a refusal.
#[tokio::test]
async fn every_mutation_has_its_rights_tested() {
    let schema = shangju::graphql::build_schema(None, Default::default());
    let resp = schema
        .execute("{ __schema { mutationType { fields { name } } } }")
        .await;
    let data = resp.data.into_json().unwrap();
    let policy = code_of(&read("tests/api/policy.rs"));
    let tables = &policy[..policy.find("pub const RIGHTS_TESTED_IN").unwrap()];
    let mut missing = Vec::new();
    for f in data["__schema"]["mutationType"]["fields"]
        .as_array()
        .unwrap()
    {
        let name = f["name"].as_str().unwrap();
        let used = |text: &str| {
            text.match_indices(name).any(|(i, _)| {
                let next = text[i + name.len()..].chars().next();
                next.is_some_and(|c| !c.is_alphanumeric())
            })
        };
        if used(tables) {
            continue;
        }
        match crate::policy::RIGHTS_TESTED_IN
            .iter()
            .find(|(m, _)| *m == name)
        {
            Some((_, module)) => {
                let text = code_of(&read(&format!("tests/api/{module}.rs")));
                let refuses = ["FORBIDDEN", "UNAUTHENTICATED"]
                    .iter()
                    .any(|c| text.contains(c));
                if !used(&text) || !refuses {
                    missing.push(format!("{name} (not tested in {module}.rs)"));
                }
            }
            None => missing.push(name.to_owned()),
        }
    }
    assert!(missing.is_empty(), "rights untested: {missing:#?}");
}
