//! The HTTP surface: `POST /graphql` (JSON only, one operation, 64 KiB), `GET /graphql`
//! (queries only), GraphiQL at `/` in development, `/healthz`, `/readyz` and `/metrics`
//! (here, or on a separate address of its own).

mod graphiql;
mod graphql;
pub mod persisted;
pub mod ratelimit;

use std::time::Duration;

use axum::extract::{FromRef, Request, State};
use axum::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyDeadlineLayer;
use tower_http::trace::TraceLayer;

use crate::config::Cors;
use crate::error::Lang;
use crate::graphql::AppSchema;
use crate::state::AppState;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// A client's own id for a request, logged beside ours and echoed back.
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";

#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: AppSchema,
    pub slow_request: Duration,
    pub persisted: std::sync::Arc<persisted::PersistedQueries>,
    pub documents: std::sync::Arc<crate::graphql::limits::CheckedDocuments>,
    /// Puts answers in selection order (see `graphql::order`).
    pub order: std::sync::Arc<crate::graphql::order::ResponseOrder>,
    pub request_timeout: Duration,
    pub address_limits: std::sync::Arc<ratelimit::AddressLimits>,
    /// Introspection is answered; otherwise asking for it is `FORBIDDEN`.
    pub introspection: bool,
    /// A GET must carry a header that forces a browser's preflight (see `graphql_get`).
    pub csrf_prevention: bool,
}

impl FromRef<HttpState> for AppState {
    fn from_ref(state: &HttpState) -> AppState {
        state.app.clone()
    }
}

#[derive(Clone, Debug)]
pub struct HttpOptions {
    pub graphiql: bool,
    pub cors: Cors,
    /// Requests slower than this are logged as warnings.
    pub slow_request: Duration,
    /// Allow-list mode: only these documents (by SHA-256) run.
    pub persisted_only: Option<PersistedDocuments>,
    /// Serve `/metrics` here (false when it has an address of its own).
    pub metrics: bool,
    /// What a document may cost, checked before the schema sees it.
    pub limits: crate::graphql::QueryLimits,
    /// How long a GraphQL request may run before it is stopped with `TIMEOUT`.
    pub request_timeout: Duration,
    /// How long a client may take to send its request body.
    pub body_timeout: Duration,
    /// Limits per client address.
    pub rate_limits: ratelimit::RateLimits,
    /// Answer introspection (the schema also refuses it when off).
    pub introspection: bool,
    /// Refuse GET requests a browser could send from another site without a preflight.
    pub csrf_prevention: bool,
}

/// Registered documents by their SHA-256 (lowercase hex).
pub use crate::config::PersistedDocuments;

pub fn router(app: AppState, schema: AppSchema, options: HttpOptions) -> Router {
    if let Some(documents) = &options.persisted_only {
        let names = documents
            .values()
            .filter_map(|d| async_graphql::parser::parse_query(d.as_ref()).ok())
            .flat_map(|doc| {
                doc.operations
                    .iter()
                    .filter_map(|(name, _)| name.map(|n| n.to_string()))
                    .collect::<Vec<_>>()
            });
        app.metrics.know_operations(names);
    }
    let state = HttpState {
        app,
        schema,
        slow_request: options.slow_request,
        persisted: std::sync::Arc::new(persisted::PersistedQueries::new(
            options.persisted_only.clone(),
        )),
        documents: std::sync::Arc::new(crate::graphql::limits::CheckedDocuments::new(
            options.limits,
        )),
        order: std::sync::Arc::default(),
        request_timeout: options.request_timeout,
        address_limits: std::sync::Arc::new(ratelimit::AddressLimits::new(&options.rate_limits)),
        introspection: options.introspection,
        csrf_prevention: options.csrf_prevention,
    };
    let cors = cors_layer(&options.cors);
    let mut router = Router::new()
        .route(
            "/graphql",
            get(graphql::graphql_get).post(graphql::graphql_post),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if options.metrics {
        router = router.route("/metrics", get(metrics_page));
    }
    if options.graphiql {
        router = router
            .route("/", get(graphiql::page))
            .route("/assets/graphiql/{name}", get(graphiql::asset));
    }
    let metrics = state.app.clone();
    router.with_state(state).layer(
        ServiceBuilder::new()
            // One middleware for the three, not a layer each: every `from_fn` layer clones the
            // stack below it and boxes a future for every request.
            .layer(middleware::from_fn_with_state(metrics, edge))
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                // The path only: a GET query string may carry personal data.
                let header = |name| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                };
                tracing::info_span!(
                    "request",
                    request_id = %header(REQUEST_ID_HEADER),
                    correlation_id = %header(CORRELATION_ID_HEADER),
                    method = %req.method(),
                    path = %req.uri().path(),
                )
            }))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(CatchPanicLayer::new())
            .option_layer(cors)
            // gzip or brotli for clients that accept them; small answers stay as they are.
            .layer(CompressionLayer::new())
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
            // A whole body within the deadline, however it trickles in (the header's deadline
            // is the connection's, in `app::serve_until`).
            .layer(RequestBodyDeadlineLayer::new(options.body_timeout)),
    )
}

/// `/metrics` alone, for an address of its own (one that only the monitoring network reaches).
pub fn metrics_router(app: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_page))
        .with_state(app)
}

/// The Prometheus text exposition of this server's metrics.
async fn metrics_page(State(app): State<AppState>) -> Response {
    (
        [(CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        app.metrics.render(&app.db),
    )
        .into_response()
}

/// What every request goes through on its way in and out: its correlation id, refusals in the
/// GraphQL shape, and the count of answers by route and status.
async fn edge(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let route = route_label(req.uri().path());
    let client = client_correlation_id(&mut req);
    let lang = Lang::from_accept_language(
        req.headers()
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let media = negotiate(
        req.headers()
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
    );
    let mut resp = json_refusal(next.run(req).await, lang, media);
    if let Some(id) = client {
        resp.headers_mut().insert(CORRELATION_ID_HEADER, id);
    }
    // Every answer counts, refusals before GraphQL included.
    app.metrics.http_response(route, resp.status().as_u16());
    resp
}

/// The route an answer is counted under (a fixed set, so a client cannot add labels).
fn route_label(path: &str) -> &'static str {
    match path {
        "/graphql" => "/graphql",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        "/" => "/",
        p if p.starts_with("/assets/") => "/assets",
        _ => "other",
    }
}

/// Browsers on the allowed origins may call the API; none may when none are allowed.
fn cors_layer(cors: &Cors) -> Option<CorsLayer> {
    let origins = match cors {
        Cors::None => return None,
        Cors::Any => AllowOrigin::any(),
        Cors::Origins(list) => AllowOrigin::list(
            list.iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        ),
    };
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                axum::http::header::CONTENT_TYPE,
                axum::http::header::AUTHORIZATION,
                axum::http::header::ACCEPT,
                axum::http::header::ACCEPT_LANGUAGE,
                axum::http::HeaderName::from_static(REQUEST_ID_HEADER),
                axum::http::HeaderName::from_static(CORRELATION_ID_HEADER),
                axum::http::HeaderName::from_static(graphql::REQUIRE_PREFLIGHT),
                axum::http::HeaderName::from_static(graphql::OPERATION_NAME_HEADER),
            ])
            .expose_headers([
                axum::http::HeaderName::from_static(REQUEST_ID_HEADER),
                axum::http::HeaderName::from_static(CORRELATION_ID_HEADER),
            ])
            .max_age(Duration::from_secs(3600)),
    )
}

/// Every request gets the server's own id (`x-request-id`, a fresh UUID), which the audit log and
/// the events record: a client cannot choose it. A client's own short, plain id, sent as
/// `x-correlation-id` or as `x-request-id`, is kept as a correlation id: logged beside ours and
/// echoed in `x-correlation-id`. Anything else a client sends there is dropped.
fn client_correlation_id(req: &mut Request) -> Option<HeaderValue> {
    let usable = |v: &HeaderValue| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= 64
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
    };
    let headers = req.headers_mut();
    let sent_as_request_id = headers.remove(REQUEST_ID_HEADER);
    let client = headers
        .remove(CORRELATION_ID_HEADER)
        .or(sent_as_request_id)
        .filter(usable);
    if let Some(id) = &client {
        headers.insert(CORRELATION_ID_HEADER, id.clone());
    }
    client
}

/// Every refusal at the HTTP layer (413 from the body limit, 405 for a method a route does not
/// take, 404, a caught panic) answers in the shape of a GraphQL error with `extensions.code`,
/// so clients have one way to read any failure.
fn json_refusal(resp: Response, lang: Lang, media: Media) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (code, zh, en) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "BAD_USER_INPUT",
            "请求体过大（上限 64 KiB）",
            "The request body is too large (64 KiB at most)",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "BAD_USER_INPUT",
            "此地址不接受这种 HTTP 方法",
            "This address does not take this HTTP method",
        ),
        StatusCode::NOT_FOUND => ("NOT_FOUND", "没有这个地址", "No such address"),
        s if s.is_server_error() => (
            "INTERNAL_SERVER_ERROR",
            "服务器内部错误",
            "Internal server error",
        ),
        _ => ("BAD_USER_INPUT", "请求无效", "Bad request"),
    };
    let message = lang.pick(zh, en);
    let (mut parts, _) = resp.into_parts();
    for h in [CONTENT_TYPE, CONTENT_LENGTH, CONTENT_ENCODING] {
        parts.headers.remove(h);
    }
    let mut out = refusal(status, code, message, media);
    for (name, value) in parts.headers.iter() {
        out.headers_mut().insert(name.clone(), value.clone());
    }
    out
}

/// A request refused outside GraphQL execution, in the shape of a GraphQL error and in the
/// media type the client asked for.
pub(crate) fn refusal(status: StatusCode, code: &str, message: &str, media: Media) -> Response {
    let body =
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut resp = (status, Json(body)).into_response();
    if media == Media::GraphqlResponseJson {
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(GRAPHQL_RESPONSE_JSON),
        );
    }
    resp
}

/// The GraphQL-over-HTTP media type of answers.
pub(crate) const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";

/// What an answer may be, by the client's `Accept` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Media {
    /// `application/graphql-response+json`, preferred at least as much as JSON: request errors
    /// then carry HTTP status codes.
    GraphqlResponseJson,
    /// `application/json` (also for no `Accept`, or only wildcards).
    Json,
    /// Neither (`Accept: application/xml`): 406.
    Unacceptable,
}

/// Picks the media type of an answer, as the GraphQL-over-HTTP specification asks (legacy
/// clients that send no `Accept` get `application/json`).
pub(crate) fn negotiate(accept: Option<&str>) -> Media {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Media::Json;
    };
    // The highest quality given to a media range, if any.
    let quality = |wanted: &str| {
        accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let media = pieces.next()?.trim();
                if !media.eq_ignore_ascii_case(wanted) {
                    return None;
                }
                let q = pieces
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some(q)
            })
            .fold(None, |best: Option<f32>, q| {
                Some(best.map_or(q, |b| b.max(q)))
            })
    };
    let wildcard = quality("application/*").or(quality("*/*"));
    let json = quality("application/json").or(wildcard);
    match (quality("application/graphql-response+json"), json) {
        (Some(g), j) if g > 0.0 && g >= j.unwrap_or(0.0) => Media::GraphqlResponseJson,
        (_, Some(j)) if j > 0.0 => Media::Json,
        _ => Media::Unacceptable,
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers within two seconds and, until a write has committed and
/// after a storage fault, takes a write. The ping runs on by itself past them
/// (see `graphql::execute`: a statement is never abandoned midway).
async fn readyz(State(state): State<HttpState>) -> Response {
    let db = state.app.db.clone();
    let storage = state.app.storage.clone();
    // Until a write has committed, and after a storage fault (a read-only file, an I/O
    // error), the server is ready only once a write can be made. A failed probe counts as a
    // fault, so the pool replaces its connection.
    let ping = tokio::spawn(async move {
        db.ping().await?;
        if storage.unproven() {
            crate::db::probe_write(&db)
                .await
                .inspect_err(|e| storage.note(e))?;
            storage.wrote();
        }
        Ok::<(), sea_orm::DbErr>(())
    });
    match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(Ok(()))) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        )
            .into_response(),
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "database not ready");
            not_ready()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "database ping panicked");
            not_ready()
        }
        Err(_) => {
            tracing::warn!("database ping timed out");
            not_ready()
        }
    }
}

fn not_ready() -> Response {
    let mut resp = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({ "status": "unavailable" })),
    )
        .into_response();
    resp.headers_mut()
        .insert("retry-after", HeaderValue::from_static("5"));
    resp
}
