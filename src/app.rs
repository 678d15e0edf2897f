//! Putting the server together: state from settings, the router, and serving with a graceful
//! shutdown.

use std::time::Duration;

use axum::Router;
use sea_orm::DatabaseConnection;

use crate::auth::password::PasswordService;
use crate::auth::token::TokenService;
use crate::clock::SystemClock;
use crate::config::{Config, Cors, JWT_AUDIENCE, JWT_ISSUER};
use crate::db::{self, DbSettings};
use crate::graphql::{self, SchemaOptions};
use crate::http::{self, HttpOptions};
use crate::metrics::Metrics;
use crate::state::AppState;

/// Everything the HTTP layer needs, independent of where the settings came from.
#[derive(Clone, Debug)]
pub struct AppOptions {
    pub jwt_secret: Vec<u8>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub hash_concurrency: usize,
    pub production: bool,
    /// Answer introspection (off in production unless the operator turns it on).
    pub introspection: bool,
    pub cors: Cors,
    pub slow_request: Duration,
    pub persisted_only: Option<crate::http::PersistedDocuments>,
    /// `/metrics` is served on the API's address.
    pub metrics_on_api: bool,
    /// Registration without proof of the phone, when no SMS gateway is set up.
    pub unverified_registration: bool,
    /// How long a GraphQL request may run.
    pub request_timeout: Duration,
    /// How long a client may take to send a request body.
    pub body_timeout: Duration,
    /// Limits per client address.
    pub rate_limits: crate::http::ratelimit::RateLimits,
    pub sms: crate::gateway::sms::SmsSettings,
    pub wechat: Option<crate::gateway::wechat::WeChatSettings>,
    /// Shared by the pool ([`DbSettings::storage`]) and the commands that note faults.
    pub storage: db::StorageFaults,
}

impl From<&Config> for AppOptions {
    fn from(c: &Config) -> Self {
        AppOptions {
            // Commands other than `serve` sign no tokens that outlive them.
            jwt_secret: c.jwt_secret.clone().unwrap_or_else(|| {
                let mut bytes = vec![0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
                bytes
            }),
            access_token_ttl: c.access_token_ttl,
            refresh_token_ttl: c.refresh_token_ttl,
            hash_concurrency: c.hash_concurrency,
            production: c.is_production(),
            introspection: c.introspection,
            cors: c.cors.clone(),
            slow_request: c.slow_request,
            persisted_only: c.persisted_only.clone(),
            metrics_on_api: c.metrics_on_api,
            unverified_registration: c.unverified_registration,
            request_timeout: c.request_timeout,
            body_timeout: c.body_timeout,
            rate_limits: c.rate_limits,
            sms: c.sms.clone(),
            wechat: c.wechat.clone(),
            storage: db::StorageFaults::default(),
        }
    }
}

pub fn state(mut db: DatabaseConnection, options: &AppOptions) -> AppState {
    let metrics = std::sync::Arc::new(Metrics::new());
    metrics.watch_statements(&mut db);
    AppState {
        db,
        passwords: PasswordService::new(options.hash_concurrency, metrics.clone()),
        tokens: std::sync::Arc::new(TokenService::new(
            &options.jwt_secret,
            JWT_ISSUER,
            JWT_AUDIENCE,
            options.access_token_ttl,
            options.refresh_token_ttl,
        )),
        clock: std::sync::Arc::new(SystemClock),
        metrics,
        sms: options.sms.gateway(),
        unverified_registration: options.unverified_registration,
        storage: options.storage.clone(),
        wechat: options
            .wechat
            .clone()
            .map(|w| std::sync::Arc::new(crate::gateway::wechat::WeChat::new(w))),
    }
}

/// The full router: production serves no GraphiQL, and introspection only when turned on.
pub fn router(state: AppState, options: &AppOptions) -> Router {
    router_with(state, options, Vec::new())
}

/// As [`router`], with extra schema extensions (tests use one to make a resolver panic).
pub fn router_with(
    state: AppState,
    options: &AppOptions,
    extensions: Vec<graphql::SchemaCustomizer>,
) -> Router {
    let schema_options = SchemaOptions {
        introspection: options.introspection,
        ..SchemaOptions::default()
    };
    let limits = schema_options.limits;
    let schema = graphql::build_schema_with(Some(state.clone()), schema_options, extensions);
    http::router(
        state,
        schema,
        HttpOptions {
            graphiql: !options.production,
            cors: options.cors.clone(),
            slow_request: options.slow_request,
            persisted_only: options.persisted_only.clone(),
            metrics: options.metrics_on_api,
            limits,
            request_timeout: options.request_timeout,
            body_timeout: options.body_timeout,
            rate_limits: options.rate_limits,
            introspection: options.introspection,
            csrf_prevention: options.production,
        },
    )
}

pub fn db_settings(config: &Config) -> DbSettings {
    let mut settings = DbSettings::new(config.database_url.clone());
    settings.max_connections = config.db_max_connections;
    settings.acquire_timeout = config.db_timeout;
    settings.statement_timeout = Some(config.db_statement_timeout);
    settings
}

/// Connects and applies pending migrations (unless the operator migrates separately, when
/// pending migrations are an error). The pool shares `options.storage` with the state.
pub async fn connect(config: &Config, options: &AppOptions) -> Result<DatabaseConnection, String> {
    let mut settings = db_settings(config);
    settings.storage = options.storage.clone();
    if !config.no_migrate {
        return db::connect_migrated(&settings)
            .await
            .map_err(|e| format!("cannot connect to the database or migrate it: {e}"));
    }
    let conn = db::connect(&settings)
        .await
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let pending: Vec<String> = db::migration_status(&conn)
        .await
        .map_err(|e| format!("cannot read the migration status: {e}"))?
        .into_iter()
        .filter(|(_, applied)| !applied)
        .map(|(name, _)| name)
        .collect();
    if pending.is_empty() {
        Ok(conn)
    } else {
        Err(format!(
            "{} migrations are pending ({}); run `shangju migrate` first",
            pending.len(),
            pending.join(", ")
        ))
    }
}

/// What a connection may take of the server.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// A client that has not sent a whole request head by then is disconnected (slowloris).
    pub header_timeout: Duration,
    /// Connections served at once; the next ones wait in the kernel's listen queue.
    pub max_connections: usize,
}

impl From<&Config> for ConnectionLimits {
    fn from(c: &Config) -> Self {
        ConnectionLimits {
            header_timeout: c.header_timeout,
            max_connections: c.max_connections,
        }
    }
}

/// Serves on `listener` until SIGTERM or Ctrl-C, then lets in-flight requests finish (up to
/// the grace time).
pub async fn serve(
    config: &Config,
    listener: tokio::net::TcpListener,
    router: Router,
) -> std::io::Result<()> {
    serve_until(
        listener,
        router,
        ConnectionLimits::from(config),
        config.shutdown_grace,
        shutdown_signal(),
    )
    .await
}

/// Serves HTTP/1.1 connections on `listener` within `limits` until `shutdown` completes, then
/// stops accepting and waits up to `grace` for open connections to finish their requests.
/// Each request carries its peer's address (`ConnectInfo`), for limits per client.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnectionLimits,
    grace: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        // A slot first: past the limit, connections queue in the kernel, not in memory here.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                router.clone().oneshot(req)
            });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Errors here are the client's: a reset, a timeout on its headers.
            let _ = conn.await;
            drop(slot);
        });
    }
    tracing::info!("shutting down; draining in-flight requests");
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!("grace period over; exiting with requests still in flight");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
