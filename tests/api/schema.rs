//! `schema.graphql` is the contract clients are written against: it must equal what we serve,
//! and every type, field, argument and input field in it is described.

use serde_json::Value;

#[test]
fn schema_file_equals_the_exported_sdl() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    let exported = shangju::graphql::sdl();
    if on_disk != exported && std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &exported).unwrap();
        return;
    }
    assert!(
        on_disk == exported,
        "schema.graphql is stale: run `cargo run -- export-schema > schema.graphql`"
    );
}

const INTROSPECT: &str = "{ __schema { types { name kind description
  fields { name description args { name description } }
  inputFields { name description } enumValues { name description } } } }";

#[tokio::test]
async fn every_type_and_field_is_documented() {
    let schema = shangju::graphql::build_schema(None, Default::default());
    let resp = schema.execute(INTROSPECT).await;
    assert!(resp.errors.is_empty(), "{:?}", resp.errors);
    let data = resp.data.into_json().unwrap();
    let described = |v: &Value| {
        v["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty())
    };
    let mut missing = Vec::new();
    for t in data["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        // The introspection types and the five built-in scalars are the GraphQL
        // specification's, which describes them; async-graphql registers `ID` itself, before
        // any type of ours, and gives it no description of its own.
        let builtin =
            name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name);
        if builtin {
            continue;
        }
        if !described(t) {
            missing.push(name.to_owned());
        }
        for f in t["fields"].as_array().into_iter().flatten() {
            if !described(f) {
                missing.push(format!("{name}.{}", f["name"]));
            }
            for a in f["args"].as_array().into_iter().flatten() {
                let arg = a["name"].as_str().unwrap();
                if !described(a) {
                    missing.push(format!("{name}.{}({arg})", f["name"]));
                }
            }
        }
        for f in t["inputFields"].as_array().into_iter().flatten() {
            if !described(f) {
                missing.push(format!("{name}.{}", f["name"]));
            }
        }
        for f in t["enumValues"].as_array().into_iter().flatten() {
            if !described(f) {
                missing.push(format!("{name}.{}", f["name"]));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:#?}");
}

/// The stable codes and both languages of every error a client can get, as the API guide
/// (`docs/api.md`) documents them. An internal cause never reaches the message.
#[test]
fn the_error_table_is_stable_and_documented() {
    use shangju::error::{AppError, Lang, Text};
    let text = || Text::new("示例", "example");
    let all = [
        AppError::Unauthenticated,
        AppError::InvalidCredentials,
        AppError::Forbidden,
        AppError::NotFound("merchant"),
        AppError::bad_input("phone", text()),
        AppError::Conflict {
            field: "licenceNo".into(),
            text: text(),
        },
        AppError::InvalidState(text()),
        AppError::OutOfStock,
        AppError::LimitReached,
        AppError::NotEligible(text()),
        AppError::Expired,
        AppError::AlreadyRedeemed,
        AppError::ActivityFull,
        AppError::InsufficientPoints,
        AppError::RateLimited {
            retry_after_secs: 30,
        },
        AppError::Internal("connection refused at 10.0.0.5".into()),
    ];
    let table: Vec<Value> = all
        .iter()
        .map(|e| {
            let mut ext = serde_json::Map::new();
            for (k, v) in e.extra_extensions() {
                ext.insert(k.to_owned(), v);
            }
            serde_json::json!({
                "code": e.code(), "zh": e.message(Lang::Zh), "en": e.message(Lang::En),
                "extensions": ext,
            })
        })
        .collect();
    let shown = serde_json::to_string(&table).unwrap();
    assert!(!shown.contains("10.0.0.5"), "an internal cause leaked");
    insta::assert_json_snapshot!("error_table", table);

    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md"))
        .unwrap_or_default();
    for e in &all {
        assert!(
            guide.contains(&format!("| `{}` |", e.code())),
            "the API guide's error table lacks {}",
            e.code()
        );
    }
}

/// The operations of the ```graphql blocks of README and the API guide; one starts at each
/// line that begins with `query` or `mutation`, and `#` starts a comment.
fn readme_operations() -> Vec<String> {
    let docs = [
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")),
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")),
    ];
    let mut ops: Vec<String> = Vec::new();
    let mut in_block = false;
    for line in docs.iter().flat_map(|d| d.lines()) {
        match line.trim() {
            "```graphql" => in_block = true,
            "```" => in_block = false,
            text if in_block => {
                let text = text.split('#').next().unwrap_or("").trim();
                if text.starts_with("query") || text.starts_with("mutation") {
                    ops.push(String::new());
                }
                if let Some(op) = ops.last_mut() {
                    op.push_str(text);
                    op.push('\n');
                }
            }
            _ => {}
        }
    }
    ops
}

#[tokio::test]
async fn readme_examples_are_valid_against_the_schema() {
    let ops = readme_operations();
    assert!(
        ops.len() >= 15,
        "the documents' examples were not found: {ops:?}"
    );
    // No state: anything that runs fails at its field (with a `path`); a document that does
    // not parse or validate fails as a whole (without one).
    let schema = shangju::graphql::build_schema(None, Default::default());
    for op in ops {
        let resp = schema.execute(op.as_str()).await;
        let invalid: Vec<_> = resp.errors.iter().filter(|e| e.path.is_empty()).collect();
        assert!(
            invalid.is_empty(),
            "documented example\n{op}is invalid: {invalid:?}"
        );
    }
}
