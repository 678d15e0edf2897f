//! The GraphQL endpoint: transport checks, authentication, execution with panic isolation, and
//! the final shaping of errors (code, language, request id).

use std::panic::AssertUnwindSafe;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{ServerError, Value};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{ACCEPT_LANGUAGE, AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;

use super::{HttpState, REQUEST_ID_HEADER};
use crate::auth::Auth;
use crate::domain::account;
use crate::error::{AppError, Lang};
use crate::graphql::{DbLoader, ENGLISH_MESSAGE_KEY, ReadOnlyRequest, RequestMeta};

pub async fn graphql_post(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let meta = request_meta(&headers);
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return transport_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &meta,
            "请求须为 application/json",
            "The request must be application/json",
        );
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return transport_error(
            StatusCode::BAD_REQUEST,
            &meta,
            "不支持批量请求，每次只能发送一个操作",
            "Batched requests are not supported; send one operation per request",
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => {
            return transport_error(
                StatusCode::BAD_REQUEST,
                &meta,
                "请求体不是有效的 GraphQL JSON",
                "The body is not a valid GraphQL JSON request",
            );
        }
    };
    execute(&state, &headers, meta, request, false).await
}

/// Queries over GET, so that public reads can be cached; a mutation is refused.
pub async fn graphql_get(State(state): State<HttpState>, headers: HeaderMap, uri: Uri) -> Response {
    let meta = request_meta(&headers);
    let request = match async_graphql::http::parse_query_string(uri.query().unwrap_or("")) {
        Ok(r) if !r.query.is_empty() => r,
        _ => {
            return transport_error(
                StatusCode::BAD_REQUEST,
                &meta,
                "缺少 query 参数",
                "The query parameter is missing or malformed",
            );
        }
    };
    execute(&state, &headers, meta, request, true).await
}

fn request_meta(headers: &HeaderMap) -> RequestMeta {
    RequestMeta {
        request_id: headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        lang: Lang::from_accept_language(
            headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
        ),
    }
}

/// Reads the bearer token. A header that is present but unusable is an error, never anonymous.
async fn authenticate(state: &HttpState, headers: &HeaderMap) -> Result<Auth, AppError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(Auth::Anonymous);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AppError::Unauthenticated)?;
    account::authenticate(&state.app, token)
        .await
        .map(Auth::User)
}

async fn execute(
    state: &HttpState,
    headers: &HeaderMap,
    meta: RequestMeta,
    request: async_graphql::Request,
    read_only: bool,
) -> Response {
    let auth = match authenticate(state, headers).await {
        Ok(auth) => auth,
        Err(err) => {
            let response = async_graphql::Response::from_errors(vec![app_error_to_server(err)]);
            return finish(response, &meta);
        }
    };
    // A per-request cache: feeding it lets list resolvers prime nested fields.
    let loader = DataLoader::with_cache(
        DbLoader {
            db: state.app.db.clone(),
            now: state.app.clock.now(),
        },
        tokio::spawn,
        HashMapCache::default(),
    );
    let mut request = request.data(auth).data(meta.clone()).data(loader);
    if read_only {
        request = request.data(ReadOnlyRequest);
    }
    let response = match AssertUnwindSafe(state.schema.execute(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %what, "resolver panicked");
            async_graphql::Response::from_errors(vec![app_error_to_server(AppError::Internal(
                "panic".into(),
            ))])
        }
    };
    finish(response, &meta)
}

fn app_error_to_server(err: AppError) -> ServerError {
    async_graphql::Error::from(err).into_server_error(Default::default())
}

/// Gives every error a code, picks the message language, and tags internal errors with the
/// request id that their log lines carry.
fn finish(mut response: async_graphql::Response, meta: &RequestMeta) -> Response {
    for err in &mut response.errors {
        let ext = err.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            // Errors of async-graphql itself: syntax, validation, limits, input coercion.
            ext.set("code", "BAD_USER_INPUT");
            if meta.lang == Lang::Zh {
                err.message = format!("请求无效：{}", err.message);
            }
        }
        if let Some(Value::String(en)) = ext.get(ENGLISH_MESSAGE_KEY).cloned() {
            if meta.lang == Lang::En {
                err.message = en;
            }
            ext.unset(ENGLISH_MESSAGE_KEY);
        }
        if ext.get("code") == Some(&Value::from("INTERNAL_SERVER_ERROR")) {
            ext.set("requestId", meta.request_id.clone());
        }
    }
    let body = match serde_json::to_vec(&response) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "serialising a response failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    (StatusCode::OK, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// A request refused before GraphQL saw it, in the same shape as a GraphQL error.
fn transport_error(status: StatusCode, meta: &RequestMeta, zh: &str, en: &str) -> Response {
    let message = if meta.lang == Lang::En { en } else { zh };
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }]
    });
    (status, axum::Json(body)).into_response()
}
