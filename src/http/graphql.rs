//! The GraphQL endpoint: transport checks, authentication, execution with panic isolation, and
//! the final shaping of errors (code, language, request id).

use std::time::Instant;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{ServerError, Value};
use std::net::SocketAddr;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{
    ACCEPT, ACCEPT_LANGUAGE, ALLOW, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER,
};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::persisted::Refusal;
use super::ratelimit::Guarded;
use super::{HttpState, Media, REQUEST_ID_HEADER, negotiate, refusal};
use crate::auth::Auth;
use crate::domain::account;
use crate::domain::context::Cx;
use crate::error::{AppError, Lang, Text};
use crate::graphql::{
    DbLoader, ENGLISH_MESSAGE_KEY, HTTP_STATUS_KEY, Operations, RequestMeta, RequestNow,
};
use crate::graphql::{limits, messages};
use crate::metrics::Outcome;
use crate::rows::Cutoff;

pub async fn graphql_post(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut meta = request_meta(&headers);
    meta.client = state
        .address_limits
        .client(peer.map(|Extension(ConnectInfo(a))| a.ip()), &headers);
    if media(&headers) == Media::Unacceptable {
        return not_acceptable(&meta);
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if timed_out(&rejection) => {
            return transport_error(
                StatusCode::REQUEST_TIMEOUT,
                &meta,
                "请求体发送超时",
                "The request body took too long to arrive",
            );
        }
        // Too large (413) and the like; `json_refusals` gives it the GraphQL shape.
        Err(rejection) => return rejection.into_response(),
    };
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
    let params = match read_body(&body) {
        Ok(p) => p,
        Err((zh, en)) => return transport_error(StatusCode::BAD_REQUEST, &meta, &zh, &en),
    };
    match params.into_request(&state, &meta) {
        Ok(request) => execute(state, headers, meta, request, false).await,
        Err(refused) => *refused,
    }
}

/// The request's parameters from a JSON body, or what is wrong with it (in Chinese and
/// English): empty, not UTF-8, not JSON, or JSON of the wrong shape.
fn read_body(body: &[u8]) -> Result<Params, (String, String)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err((
            r#"请求体为空：须为 JSON 对象，如 {"query": "{ streets { totalCount } }"}"#.into(),
            r#"The request body is empty: send a JSON object such as {"query": "{ streets { totalCount } }"}"#.into(),
        ));
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return Err((
            "请求体不是有效的 UTF-8 文本".into(),
            "The request body is not valid UTF-8".into(),
        ));
    };
    let value = serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
        (
            format!(
                "请求体不是有效的 JSON（第 {} 行第 {} 列）",
                e.line(),
                e.column()
            ),
            format!("The request body is not valid JSON: {e}"),
        )
    })?;
    Params::parse(value).map_err(|()| {
        (
            "请求体不是有效的 GraphQL 请求：query 须为字符串，variables 与 extensions 须为对象，operationName 须为字符串".into(),
            "Not a valid GraphQL request: query must be a string, variables and extensions objects, operationName a string".into(),
        )
    })
}

/// Whether reading the body failed because the client was too slow (`RequestBodyDeadlineLayer`).
fn timed_out(rejection: &BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Queries over GET, so that public reads can be cached; a mutation is refused with 405.
pub async fn graphql_get(State(state): State<HttpState>, headers: HeaderMap, uri: Uri) -> Response {
    let meta = request_meta(&headers);
    if media(&headers) == Media::Unacceptable {
        return not_acceptable(&meta);
    }
    let params: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let mut object = serde_json::Map::new();
    let mut well_formed = true;
    for (key, value) in params {
        let parsed = match key.as_str() {
            "query" | "operationName" => Some(serde_json::Value::String(value)),
            "variables" | "extensions" => serde_json::from_str(&value).ok(),
            _ => continue,
        };
        match parsed {
            Some(v) if !object.contains_key(&key) => {
                object.insert(key, v);
            }
            _ => well_formed = false,
        }
    }
    let params = match well_formed
        .then(|| Params::parse(serde_json::Value::Object(object)).ok())
        .flatten()
    {
        Some(p) => p,
        None => {
            return transport_error(
                StatusCode::BAD_REQUEST,
                &meta,
                "缺少 query 参数或参数无效",
                "The query parameter is missing, or a parameter is malformed",
            );
        }
    };
    // A page on another site can make its visitor's browser send a GET (an image, a link);
    // only a request that a preflight would have asked us about is one our clients sent. A
    // hash alone passes only where nothing but the operator's registered documents runs:
    // elsewhere anyone can register a document, or send it with its hash.
    let registered_only = state.persisted.allow_list_only()
        && params.query.is_none()
        && params.extensions.contains_key("persistedQuery");
    if state.csrf_prevention && !registered_only && !preflighted(&headers) {
        return transport_error(
            StatusCode::BAD_REQUEST,
            &meta,
            "GET 请求须带 apollo-require-preflight 或 x-apollo-operation-name 请求头（防止跨站请求伪造），或改用 POST",
            "A GET request must carry an apollo-require-preflight or x-apollo-operation-name header (cross-site request forgery prevention), or use POST",
        );
    }
    match params.into_request(&state, &meta) {
        Ok(request) => execute(state, headers, meta, request, true).await,
        Err(refused) => *refused,
    }
}

/// The parameters of a GraphQL-over-HTTP request, checked as the specification says: `query`
/// a non-empty string (or absent when a persisted query's hash stands for it), `variables` and
/// `extensions` objects (or null), `operationName` a string (or null).
struct Params {
    query: Option<String>,
    variables: Option<serde_json::Value>,
    operation_name: Option<String>,
    extensions: serde_json::Map<String, serde_json::Value>,
}

impl Params {
    fn parse(v: serde_json::Value) -> Result<Params, ()> {
        let serde_json::Value::Object(mut map) = v else {
            return Err(());
        };
        let extensions = match map.remove("extensions") {
            None | Some(serde_json::Value::Null) => serde_json::Map::new(),
            Some(serde_json::Value::Object(ext)) => ext,
            Some(_) => return Err(()),
        };
        let query = match map.remove("query") {
            Some(serde_json::Value::String(q)) if !q.trim().is_empty() => Some(q),
            None | Some(serde_json::Value::Null) if extensions.contains_key("persistedQuery") => {
                None
            }
            _ => return Err(()),
        };
        let variables = match map.remove("variables") {
            None | Some(serde_json::Value::Null) => None,
            Some(v @ serde_json::Value::Object(_)) => Some(v),
            Some(_) => return Err(()),
        };
        let operation_name = match map.remove("operationName") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(name)) => Some(name),
            Some(_) => return Err(()),
        };
        Ok(Params {
            query,
            variables,
            operation_name,
            extensions,
        })
    }

    /// Settles the document (persisted queries) and builds the request to execute.
    fn into_request(
        self,
        state: &HttpState,
        meta: &RequestMeta,
    ) -> Result<async_graphql::Request, Box<Response>> {
        let settled = state
            .persisted
            .settle(self.query.as_deref(), self.extensions.get("persistedQuery"));
        let query = match settled {
            Ok(Some(stored)) => stored.to_string(),
            Ok(None) => self.query.unwrap_or_default(),
            Err(Refusal::NotFound) => {
                // The message is the protocol's: clients match it to send the document.
                return Err(Box::new(refusal(
                    StatusCode::OK,
                    "PERSISTED_QUERY_NOT_FOUND",
                    "PersistedQueryNotFound",
                    meta.media(),
                )));
            }
            Err(Refusal::Malformed) => {
                return Err(Box::new(transport_error(
                    StatusCode::BAD_REQUEST,
                    meta,
                    "persistedQuery 无效：须为 version 1 与该查询的 sha256Hash",
                    "Not a valid persistedQuery: version 1 and the document's sha256Hash",
                )));
            }
            Err(Refusal::NotRegistered) => {
                return Err(Box::new(refusal(
                    StatusCode::FORBIDDEN,
                    "FORBIDDEN",
                    meta.lang.pick(
                        "本服务只运行已登记的查询",
                        "Only registered documents run on this server",
                    ),
                    meta.media(),
                )));
            }
        };
        let mut request = async_graphql::Request::new(query);
        if let Some(v) = self.variables {
            request = request.variables(async_graphql::Variables::from_json(v));
        }
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        for (k, v) in self.extensions {
            let value = Value::from_json(v).map_err(|_| {
                Box::new(transport_error(
                    StatusCode::BAD_REQUEST,
                    meta,
                    "extensions 无效",
                    "Not valid extensions",
                ))
            })?;
            request.extensions.insert(k, value);
        }
        Ok(request)
    }
}

fn request_meta(headers: &HeaderMap) -> RequestMeta {
    RequestMeta {
        client: None,
        request_id: headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        lang: Lang::from_accept_language(
            headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
        ),
        graphql_response_json: media(headers) == Media::GraphqlResponseJson,
    }
}

fn media(headers: &HeaderMap) -> Media {
    negotiate(headers.get(ACCEPT).and_then(|v| v.to_str().ok()))
}

/// Headers that a browser sends to another site only after a preflight (CORS) asked that site,
/// as Apollo Server's CSRF prevention counts them.
pub const REQUIRE_PREFLIGHT: &str = "apollo-require-preflight";
pub const OPERATION_NAME_HEADER: &str = "x-apollo-operation-name";

/// Whether a GET could not have been sent by a page on another site without a preflight: it
/// carries a non-empty `apollo-require-preflight` or `x-apollo-operation-name`, or a content
/// type a form cannot send.
fn preflighted(headers: &HeaderMap) -> bool {
    let non_empty = |name| headers.get(name).is_some_and(|v| !v.is_empty());
    let unusual_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .is_some_and(|t| {
            !matches!(
                t.as_str(),
                "text/plain" | "multipart/form-data" | "application/x-www-form-urlencoded"
            )
        });
    non_empty(REQUIRE_PREFLIGHT) || non_empty(OPERATION_NAME_HEADER) || unusual_type
}

/// The client accepts neither JSON media type.
fn not_acceptable(meta: &RequestMeta) -> Response {
    transport_error(
        StatusCode::NOT_ACCEPTABLE,
        meta,
        "只能以 application/graphql-response+json 或 application/json 回答",
        "Answers are application/graphql-response+json or application/json only",
    )
}

/// Reads the bearer token. A header that is present but unusable is an error, never anonymous.
async fn authenticate(
    state: &HttpState,
    headers: &HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
    cutoff: &Cutoff,
) -> Result<Auth, AppError> {
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
    let anonymous = Auth::Anonymous;
    let cx = Cx::new(&state.app, &anonymous, None, now).until(cutoff.clone());
    Ok(Auth::User(account::authenticate(&cx, token).await?))
}

/// Runs a request as a task of its own, so that a client going away never drops it midway (see
/// [`Cutoff`]): its statements stop at the next one instead.
async fn execute(
    state: HttpState,
    headers: HeaderMap,
    meta: RequestMeta,
    request: async_graphql::Request,
    read_only: bool,
) -> Response {
    // The request's time counts from here: signing in and checking the document are part of it.
    let deadline = tokio::time::Instant::now() + state.request_timeout;
    let cutoff = Cutoff::at(deadline);
    // Dropped when the answer is sent, or when the client goes away before it.
    let _answered = Answered(cutoff.clone());
    let refusal_meta = meta.clone();
    tokio::spawn(async move {
        run(
            &state,
            &headers,
            meta,
            request,
            read_only,
            (deadline, cutoff),
        )
        .await
    })
    .await
    .unwrap_or_else(|panic| {
        tracing::error!(error = %panic, "request panicked");
        let err = app_error_to_server(AppError::Internal("panic".into()));
        finish(
            async_graphql::Response::from_errors(vec![err]),
            &refusal_meta,
        )
        .response
    })
}

fn has_code(response: &async_graphql::Response, code: &str) -> bool {
    response.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == Value::from(code))
    })
}

/// Reaches a request's cutoff when dropped: nobody waits for what it does after.
struct Answered(Cutoff);

impl Drop for Answered {
    fn drop(&mut self) {
        self.0.reach();
    }
}

async fn run(
    state: &HttpState,
    headers: &HeaderMap,
    meta: RequestMeta,
    mut request: async_graphql::Request,
    read_only: bool,
    (deadline, cutoff): (tokio::time::Instant, Cutoff),
) -> Response {
    let started = Instant::now();
    let now = state.app.clock.now();
    let operation = request.operation_name.clone();
    let auth = match authenticate(state, headers, now, &cutoff).await {
        Ok(checked) => checked,
        Err(err) => {
            let timed_out = matches!(err, AppError::Timeout);
            let mut err = app_error_to_server(err);
            if timed_out {
                err = limits::request_error(err, 503);
            }
            let response = async_graphql::Response::from_errors(vec![err]);
            let mut done = finish(response, &meta);
            done.refused = true;
            log_request(state, &meta, None, None, &done, started);
            return done.response;
        }
    };
    let user_id = auth.viewer_opt().map(|v| v.user_id);
    let doc = match state.documents.parse(&request.query) {
        Ok(doc) => doc,
        Err(err) => {
            let done = finish(async_graphql::Response::from_errors(vec![err]), &meta);
            log_request(state, &meta, None, user_id, &done, started);
            return done.response;
        }
    };
    let operations = Operations::of(&doc);
    let running = operations.running(operation.as_deref());
    if read_only && operations.has_mutation() {
        let done = finish(
            async_graphql::Response::from_errors(vec![limits::mutation_over_get()]),
            &meta,
        );
        log_request(state, &meta, running, user_id, &done, started);
        return done.response;
    }
    if let Some(refused) = refuse_before_execution(state, &doc, &request, running.as_ref()) {
        let mut done = finish(async_graphql::Response::from_errors(vec![refused]), &meta);
        done.refused = true;
        log_request(state, &meta, running, user_id, &done, started);
        return done.response;
    }
    if let Some(client) = meta.client {
        for field in limits::mutation_fields(&doc, operation.as_deref()) {
            let Some(what) = Guarded::of_field(field) else {
                continue;
            };
            if let Err(wait) = state.address_limits.check(what, client) {
                state.app.metrics.address_refusal(what.label());
                // Rounded up: a client that waits as told is let in.
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                let err = limits::request_error(
                    app_error_to_server(AppError::RateLimited {
                        retry_after_secs: secs,
                    }),
                    429,
                );
                let mut done = finish(async_graphql::Response::from_errors(vec![err]), &meta);
                done.refused = true;
                done.response
                    .headers_mut()
                    .insert(RETRY_AFTER, axum::http::HeaderValue::from(secs));
                log_request(state, &meta, running, user_id, &done, started);
                return done.response;
            }
        }
    }
    request.set_parsed_query(async_graphql::parser::types::ExecutableDocument::clone(
        &doc,
    ));
    // `@skip` and `@include` decide which keys an answer has; only they read the variables.
    let variables = if request.query.contains('@') {
        request.variables.clone()
    } else {
        Default::default()
    };
    // A per-request cache: feeding it lets list resolvers prime nested fields.
    let loader = DataLoader::with_cache(
        DbLoader {
            db: state.app.db.clone(),
            now,
            cutoff: cutoff.clone(),
        },
        tokio::spawn,
        HashMapCache::default(),
    );
    let request = request
        .data(auth)
        .data(meta.clone())
        .data(RequestNow(now))
        .data(cutoff)
        .data(loader);
    // Past the deadline the client is answered `TIMEOUT`, and the execution ends by itself at
    // its next statement (`Cx::until`), committing nothing.
    let schema = state.schema.clone();
    let execution = tokio::spawn(async move { schema.execute(request).await });
    let timed_out = || {
        tracing::warn!(timeout = ?state.request_timeout, "request timed out");
        let err = limits::request_error(app_error_to_server(AppError::Timeout), 503);
        async_graphql::Response::from_errors(vec![err])
    };
    let response = match tokio::time::timeout_at(deadline, execution).await {
        Err(_) => timed_out(),
        // Its statements stopped at the deadline: the request ran out of its time, as above.
        Ok(Ok(response))
            if tokio::time::Instant::now() >= deadline && has_code(&response, "TIMEOUT") =>
        {
            timed_out()
        }
        Ok(Ok(mut response)) => {
            limits::mark_request_errors(&mut response);
            state
                .order
                .apply(&doc, operation.as_deref(), &variables, &mut response.data);
            response
        }
        Ok(Err(failed)) => {
            // Not a panic: the runtime is shutting down.
            let what = match failed.try_into_panic() {
                Ok(panic) => panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default(),
                Err(cancelled) => cancelled.to_string(),
            };
            tracing::error!(panic = %what, "the execution failed");
            async_graphql::Response::from_errors(vec![app_error_to_server(AppError::Internal(
                "panic".into(),
            ))])
        }
    };
    let done = finish(response, &meta);
    log_request(state, &meta, running, user_id, &done, started);
    done.response
}

/// What stops a document that parsed within the limits before it runs: a subscription (not
/// served over HTTP), introspection where it is off (a coded error rather than a silent
/// `null` that makes codegen fail cryptically), a required variable left out.
fn refuse_before_execution(
    state: &HttpState,
    doc: &async_graphql::parser::types::ExecutableDocument,
    request: &async_graphql::Request,
    running: Option<&(Option<String>, &'static str)>,
) -> Option<ServerError> {
    let operation = request.operation_name.as_deref();
    if running.is_some_and(|(_, kind)| *kind == "subscription") {
        return Some(limits::subscription_over_http());
    }
    if !state.introspection && limits::introspects(doc, operation) {
        let err = app_error_to_server(AppError::Refused(Text::new(
            "本服务在生产环境不提供内省查询：模式（SDL）见代码库中的 schema.graphql，或运行 `shangju export-schema`",
            "Introspection is off in production: the schema (SDL) is schema.graphql in the repository, or run `shangju export-schema`",
        )));
        return Some(limits::request_error(err, 403));
    }
    let (name, ty) = limits::missing_variables(doc, operation, &request.variables)
        .into_iter()
        .next()?;
    Some(limits::variable_not_provided(&name, &ty))
}

/// One line per request at INFO (a warning when slow): its id, operation, status, time, error
/// codes and user — never a phone number, a token or the variables; and its metrics.
fn log_request(
    state: &HttpState,
    meta: &RequestMeta,
    running: Option<(Option<String>, &'static str)>,
    user_id: Option<i64>,
    done: &Finished,
    started: Instant,
) {
    let elapsed = started.elapsed();
    // No operation to run (none named so, or several and no name) means nothing ran either.
    let outcome = if done.refused || running.is_none() {
        Outcome::Refused
    } else if done.codes.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Error
    };
    let (operation, kind) = match &running {
        Some((name, kind)) => (Some(name.as_deref()), Some(*kind)),
        None => (None, None),
    };
    state.app.metrics.graphql_request(
        user_id.is_some(),
        operation,
        kind,
        outcome,
        elapsed,
        &done.codes,
    );
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    let operation = operation.flatten().unwrap_or("");
    let kind = kind.unwrap_or("");
    let status = done.response.status().as_u16();
    let errors = done.codes.join(",");
    if elapsed > state.slow_request {
        tracing::warn!(
            request_id = %meta.request_id, operation, kind, status, duration_ms, errors,
            user_id, "slow graphql request"
        );
    } else {
        tracing::info!(
            request_id = %meta.request_id, operation, kind, status, duration_ms, errors,
            user_id, "graphql request"
        );
    }
}

fn app_error_to_server(err: AppError) -> ServerError {
    async_graphql::Error::from(err).into_server_error(Default::default())
}

/// An answer with what the log and the metrics need of it.
struct Finished {
    response: Response,
    /// The distinct error codes, in order.
    codes: Vec<String>,
    /// Nothing was executed (a request error: syntax, validation, limits, authentication).
    refused: bool,
}

/// Gives every error a code, picks the message language, and tags internal errors with the
/// request id that their log lines carry.
fn finish(mut response: async_graphql::Response, meta: &RequestMeta) -> Finished {
    let mut request_status: Option<u16> = None;
    let mut codes: Vec<String> = Vec::new();
    // The longest `retryAfter` of the errors, sent as `Retry-After` too.
    let mut retry_after: Option<u64> = None;
    for err in &mut response.errors {
        // Errors from outside the document (a token, a limit) have no place in it; lines and
        // columns count from 1.
        err.locations.retain(|p| p.line > 0);
        let ext = err.extensions.get_or_insert_with(Default::default);
        if let Some(Value::Number(n)) = ext.get(HTTP_STATUS_KEY).cloned() {
            let status = n
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(400);
            request_status = Some(request_status.map_or(status, |s| s.max(status)));
            ext.unset(HTTP_STATUS_KEY);
        }
        if ext.get("code").is_none() {
            // Errors of async-graphql itself: syntax, validation, input coercion.
            ext.set("code", "BAD_USER_INPUT");
            err.message = messages::localize(&err.message, meta.lang);
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
        if let Some(Value::Number(n)) = ext.get("retryAfter")
            && let Some(secs) = n.as_u64()
        {
            retry_after = Some(retry_after.map_or(secs, |r| r.max(secs)));
        }
        if let Some(Value::String(c)) = ext.get("code")
            && !codes.contains(c)
        {
            codes.push(c.clone());
        }
    }
    // A mutation over GET is 405 whatever the client accepts. Other request errors (nothing
    // was executed) are 400 (403 for introspection where it is off) without `data` for clients
    // of the GraphQL-over-HTTP media type, and 200 for legacy `application/json` clients, as
    // the specification allows.
    let status = match request_status {
        Some(503) => StatusCode::SERVICE_UNAVAILABLE,
        Some(429) => StatusCode::TOO_MANY_REQUESTS,
        Some(403) if meta.graphql_response_json => StatusCode::FORBIDDEN,
        Some(405) => StatusCode::METHOD_NOT_ALLOWED,
        Some(_) if meta.graphql_response_json => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    // Straight to bytes: building a `serde_json::Value` of the answer first cost a tree of
    // allocations per request. Only the rare refusal has a member to drop.
    // Refused before execution began: no `data` at all, as the GraphQL specification says.
    let body = if request_status.is_some() {
        serde_json::to_value(&response).and_then(|mut v| {
            if let Some(map) = v.as_object_mut() {
                map.remove("data");
            }
            serde_json::to_vec(&v)
        })
    } else {
        // Most answers fit; a page of cards grows it twice rather than seven times from
        // serde_json's 128 bytes.
        let mut body = Vec::with_capacity(4096);
        serde_json::to_writer(&mut body, &response).map(|()| body)
    };
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "serialising a response failed");
            return Finished {
                response: StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                codes,
                refused: false,
            };
        }
    };
    let content_type = if meta.graphql_response_json {
        super::GRAPHQL_RESPONSE_JSON
    } else {
        "application/json"
    };
    let mut resp = (status, [(CONTENT_TYPE, content_type)], body).into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        resp.headers_mut()
            .insert(ALLOW, axum::http::HeaderValue::from_static("POST"));
    }
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(RETRY_AFTER, axum::http::HeaderValue::from(secs));
    }
    Finished {
        response: resp,
        codes,
        refused: request_status.is_some(),
    }
}

/// A request refused before GraphQL saw it, in the same shape as a GraphQL error.
fn transport_error(status: StatusCode, meta: &RequestMeta, zh: &str, en: &str) -> Response {
    refusal(
        status,
        "BAD_USER_INPUT",
        meta.lang.pick(zh, en),
        meta.media(),
    )
}

impl RequestMeta {
    fn media(&self) -> Media {
        if self.graphql_response_json {
            Media::GraphqlResponseJson
        } else {
            Media::Json
        }
    }
}
