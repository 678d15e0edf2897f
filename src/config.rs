//! Settings, from flags or environment variables of the same name, with defaults that run the
//! embedded demo on a fresh machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::db::DEFAULT_DATABASE_URL;

/// 商居同盟 (shangju): the GraphQL API of a sub-district's merchant–resident alliance.
#[derive(Debug, Parser)]
#[command(name = "shangju", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub options: Options,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database and serve the API (the default).
    Serve,
    /// Apply pending migrations and exit (several at once take turns).
    Migrate {
        /// Only list the migrations, applied or pending; change nothing.
        #[arg(long)]
        status: bool,
    },
    /// Print the GraphQL SDL and exit. Needs no database.
    ExportSchema,
    /// Create a street (a district operator's first step); its first administrator comes from
    /// `create-staff --street`.
    CreateStreet {
        /// The street's name, e.g. 九棵树街道.
        name: String,
    },
    /// Create a staff account, an administrator of its street (creating the street if its name
    /// is new).
    CreateStaff {
        /// The street's name, e.g. 九棵树街道.
        #[arg(long)]
        street: String,
        /// Mainland mobile number.
        #[arg(long)]
        phone: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Read the password from standard input (required; passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug, Args)]
pub struct Options {
    /// `development` loads the demo alliance and serves GraphiQL; `production` refuses to start
    /// without a strong JWT secret and serves neither GraphiQL nor introspection.
    #[arg(
        long,
        env = "SHANGJU_ENV",
        value_enum,
        default_value = "development",
        global = true
    )]
    pub env: Environment,

    /// Address to listen on.
    #[arg(
        long,
        env = "SHANGJU_BIND",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub bind: SocketAddr,

    /// `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    /// At least 32 bytes. Required in production; in development a random one is made per start.
    #[arg(
        long,
        env = "SHANGJU_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<String>,

    /// Lifetime of access tokens, e.g. `15m`.
    #[arg(
        long,
        env = "SHANGJU_ACCESS_TOKEN_TTL",
        default_value = "15m",
        global = true
    )]
    pub access_token_ttl: humantime::Duration,

    /// Lifetime of refresh tokens, e.g. `30d`.
    #[arg(
        long,
        env = "SHANGJU_REFRESH_TOKEN_TTL",
        default_value = "30d",
        global = true
    )]
    pub refresh_token_ttl: humantime::Duration,

    /// `pretty` or `json`; JSON by default in production.
    #[arg(long, env = "SHANGJU_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,

    /// Log filter in `tracing` syntax, e.g. `info` or `shangju=debug,info`.
    #[arg(long, env = "SHANGJU_LOG_LEVEL", default_value = "info", global = true)]
    pub log_level: String,

    /// Database connections in the pool.
    #[arg(
        long,
        env = "SHANGJU_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub db_max_connections: u32,

    /// How long a request waits for a database connection before failing.
    #[arg(long, env = "SHANGJU_DB_TIMEOUT", default_value = "3s", global = true)]
    pub db_timeout: humantime::Duration,

    /// Password hashes computed at once (each takes 19 MiB); default: the number of cores.
    #[arg(long, env = "SHANGJU_HASH_CONCURRENCY", global = true)]
    pub hash_concurrency: Option<usize>,

    /// Load the demo alliance at start (development only).
    #[arg(long, env = "SHANGJU_DEMO", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub demo: bool,

    /// Do not migrate at start (for deployments that run `shangju migrate` as a step of their
    /// own); the server refuses to start while migrations are pending.
    #[arg(long, env = "SHANGJU_NO_MIGRATE", global = true)]
    pub no_migrate: bool,

    /// Answer introspection queries (the schema's shape, for codegen and GraphiQL); default:
    /// on in development, off in production.
    #[arg(long, env = "SHANGJU_INTROSPECTION", action = clap::ArgAction::Set, global = true)]
    pub introspection: Option<bool>,

    /// Origins allowed to call the API from a browser (CORS), comma-separated, or `*`;
    /// default: any in development, none in production.
    #[arg(long, env = "SHANGJU_CORS_ORIGINS", global = true)]
    pub cors_origins: Option<String>,

    /// A manifest of persisted documents (Apollo's persisted-query manifest, or a JSON map of
    /// SHA-256 to document), for `--persisted-only`.
    #[arg(long, env = "SHANGJU_PERSISTED_QUERIES", global = true)]
    pub persisted_queries: Option<PathBuf>,

    /// Run only the documents of the manifest (an allow-list for production).
    #[arg(long, env = "SHANGJU_PERSISTED_ONLY", global = true)]
    pub persisted_only: bool,

    /// Requests slower than this are logged as warnings.
    #[arg(
        long,
        env = "SHANGJU_SLOW_REQUEST",
        default_value = "1s",
        global = true
    )]
    pub slow_request: humantime::Duration,

    /// Serve `/metrics` on this address instead of the API's (e.g. one only the monitoring
    /// network reaches); by default it is on the API's address.
    #[arg(long, env = "SHANGJU_METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,

    /// Time allowed for in-flight requests to finish after SIGTERM.
    #[arg(
        long,
        env = "SHANGJU_SHUTDOWN_GRACE",
        default_value = "20s",
        global = true
    )]
    pub shutdown_grace: humantime::Duration,

    /// How long a GraphQL request may run before it is stopped with `TIMEOUT` (HTTP 503).
    #[arg(
        long,
        env = "SHANGJU_REQUEST_TIMEOUT",
        default_value = "10s",
        global = true
    )]
    pub request_timeout: humantime::Duration,

    /// How long one SQL statement may run (PostgreSQL) or wait for the write lock (SQLite).
    #[arg(
        long,
        env = "SHANGJU_DB_STATEMENT_TIMEOUT",
        default_value = "5s",
        global = true
    )]
    pub db_statement_timeout: humantime::Duration,

    /// How long a client may take to send a request's headers; the connection is closed after.
    #[arg(
        long,
        env = "SHANGJU_HEADER_TIMEOUT",
        default_value = "10s",
        global = true
    )]
    pub header_timeout: humantime::Duration,

    /// How long a client may take to send a request's body (then HTTP 408).
    #[arg(
        long,
        env = "SHANGJU_BODY_TIMEOUT",
        default_value = "10s",
        global = true
    )]
    pub body_timeout: humantime::Duration,

    /// Connections served at once; more wait in the listen queue.
    #[arg(
        long,
        env = "SHANGJU_MAX_CONNECTIONS",
        default_value_t = 1024,
        global = true
    )]
    pub max_connections: usize,

    /// Sign-ins (`login`, `changePassword`) per client address, e.g. `30/min`, or `off`.
    #[arg(
        long,
        env = "SHANGJU_RATE_SIGN_IN",
        default_value = "30/min",
        global = true
    )]
    pub rate_sign_in: String,

    /// Registrations per client address.
    #[arg(
        long,
        env = "SHANGJU_RATE_REGISTER",
        default_value = "10/min",
        global = true
    )]
    pub rate_register: String,

    /// Redemption attempts per client address (a busy counter makes a few a minute).
    #[arg(
        long,
        env = "SHANGJU_RATE_REDEEM",
        default_value = "120/min",
        global = true
    )]
    pub rate_redeem: String,

    /// Reverse proxies in front of the server whose `X-Forwarded-For` entries are believed;
    /// 0 (the default) uses the connection's address.
    #[arg(
        long,
        env = "SHANGJU_TRUSTED_PROXY_HOPS",
        default_value_t = 0,
        global = true
    )]
    pub trusted_proxy_hops: usize,
}

/// Settings checked and resolved.
#[derive(Clone, Debug)]
pub struct Config {
    pub env: Environment,
    pub bind: SocketAddr,
    pub database_url: String,
    pub jwt_secret: Vec<u8>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub log_format: LogFormat,
    pub log_level: String,
    pub db_max_connections: u32,
    pub db_timeout: Duration,
    pub hash_concurrency: usize,
    pub demo: bool,
    pub introspection: bool,
    pub no_migrate: bool,
    pub cors: Cors,
    pub slow_request: Duration,
    /// Allow-list mode: only these documents run.
    pub persisted_only: Option<crate::http::PersistedDocuments>,
    pub metrics_bind: Option<SocketAddr>,
    pub shutdown_grace: Duration,
    pub request_timeout: Duration,
    pub db_statement_timeout: Duration,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub rate_limits: crate::http::ratelimit::RateLimits,
}

fn rate(setting: &str, raw: &str) -> Result<Option<crate::http::ratelimit::Rate>, String> {
    crate::http::ratelimit::Rate::parse(raw).map_err(|e| format!("{setting}: {e}"))
}

/// Reads the manifest when only its documents may run.
fn persisted_allow_list(
    only: bool,
    manifest: Option<&std::path::Path>,
) -> Result<Option<crate::http::PersistedDocuments>, String> {
    match (only, manifest) {
        (false, _) => Ok(None),
        (true, None) => Err("--persisted-only needs --persisted-queries FILE".into()),
        (true, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            crate::http::persisted::PersistedQueries::parse_manifest(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display()))
        }
    }
}

/// Which browser origins may call the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cors {
    None,
    Any,
    Origins(Vec<String>),
}

impl Cors {
    fn parse(raw: Option<&str>, production: bool) -> Result<Cors, String> {
        let Some(raw) = raw.map(str::trim) else {
            return Ok(if production { Cors::None } else { Cors::Any });
        };
        if raw.is_empty() {
            return Ok(Cors::None);
        }
        if raw == "*" {
            return Ok(Cors::Any);
        }
        let origins: Vec<String> = raw
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for o in &origins {
            if !(o.starts_with("https://") || o.starts_with("http://")) {
                return Err(format!(
                    "SHANGJU_CORS_ORIGINS: {o} is not an origin like https://console.example.org"
                ));
            }
        }
        Ok(Cors::Origins(origins))
    }
}

pub const MIN_SECRET_BYTES: usize = 32;
pub const JWT_ISSUER: &str = "shangju";
pub const JWT_AUDIENCE: &str = "shangju-api";

impl Config {
    pub fn from_options(o: Options) -> Result<Config, String> {
        let production = o.env == Environment::Production;
        let jwt_secret = match o.jwt_secret {
            Some(s) if s.len() >= MIN_SECRET_BYTES => s.into_bytes(),
            Some(_) => {
                return Err(format!(
                    "SHANGJU_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
                ));
            }
            None if production => {
                return Err(format!(
                    "production needs SHANGJU_JWT_SECRET of at least {MIN_SECRET_BYTES} bytes"
                ));
            }
            None => {
                let mut bytes = vec![0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
                bytes
            }
        };
        if o.access_token_ttl.as_secs() < 60 || o.refresh_token_ttl < o.access_token_ttl {
            return Err("token lifetimes: access ≥ 1m and refresh ≥ access".into());
        }
        Ok(Config {
            env: o.env,
            bind: o.bind,
            database_url: o.database_url,
            jwt_secret,
            access_token_ttl: o.access_token_ttl.into(),
            refresh_token_ttl: o.refresh_token_ttl.into(),
            log_format: o.log_format.unwrap_or(if production {
                LogFormat::Json
            } else {
                LogFormat::Pretty
            }),
            log_level: o.log_level,
            db_max_connections: o.db_max_connections.max(1),
            db_timeout: o.db_timeout.into(),
            hash_concurrency: o
                .hash_concurrency
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            demo: o.demo && !production,
            introspection: o.introspection.unwrap_or(!production),
            no_migrate: o.no_migrate,
            cors: Cors::parse(o.cors_origins.as_deref(), production)?,
            persisted_only: persisted_allow_list(o.persisted_only, o.persisted_queries.as_deref())?,
            slow_request: o.slow_request.into(),
            metrics_bind: o.metrics_bind,
            shutdown_grace: o.shutdown_grace.into(),
            request_timeout: o.request_timeout.into(),
            db_statement_timeout: o.db_statement_timeout.into(),
            header_timeout: o.header_timeout.into(),
            body_timeout: o.body_timeout.into(),
            max_connections: o.max_connections.max(1),
            rate_limits: crate::http::ratelimit::RateLimits {
                sign_in: rate("SHANGJU_RATE_SIGN_IN", &o.rate_sign_in)?,
                register: rate("SHANGJU_RATE_REGISTER", &o.rate_register)?,
                redeem: rate("SHANGJU_RATE_REDEEM", &o.rate_redeem)?,
                trusted_proxy_hops: o.trusted_proxy_hops,
            },
        })
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    /// Where a SQLite URL keeps its file, to tell the user.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.database_url
            .strip_prefix("sqlite://")
            .map(|rest| PathBuf::from(rest.split('?').next().unwrap_or(rest)))
    }
}
