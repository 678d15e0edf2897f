//! GraphiQL served from the binary: the page, its script and styles are embedded at build time
//! (`assets/graphiql/`, with their licences), so `GET /` works offline and where public CDNs
//! are out of reach. Development only.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};

const INDEX: &str = include_str!("../../assets/graphiql/index.html");

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// The files the page loads, by name.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        JS,
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        CSS,
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        JS,
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        JS,
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "init.js",
        JS,
        include_bytes!("../../assets/graphiql/init.js"),
    ),
    (
        "LICENSE-graphiql",
        TEXT,
        include_bytes!("../../assets/graphiql/LICENSE-graphiql"),
    ),
    (
        "LICENSE-react",
        TEXT,
        include_bytes!("../../assets/graphiql/LICENSE-react"),
    ),
];

pub async fn page() -> Html<&'static str> {
    Html(INDEX)
}

pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => (
            [
                (CONTENT_TYPE, *content_type),
                (CACHE_CONTROL, "public, max-age=86400"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
