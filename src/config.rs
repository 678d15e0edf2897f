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
pub enum SmsGatewayKind {
    Off,
    Log,
    Http,
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

    /// `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`; default in development:
    /// `sqlite://data/shangju.db?mode=rwc`. Production needs it said.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// At least 32 bytes, and hard to guess (an estimate of 96 bits or more, e.g.
    /// `openssl rand -base64 48`). Required in production; in development one is made once and
    /// kept in the data directory.
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

    /// Load the demo alliance at start; default: on in development, off in production (where
    /// it needs `--demo-in-production` too).
    #[arg(long, env = "SHANGJU_DEMO", action = clap::ArgAction::Set, global = true)]
    pub demo: Option<bool>,

    /// Allow the demo alliance (accounts with a published password) on a production server,
    /// for a trial deployment.
    #[arg(long, env = "SHANGJU_DEMO_IN_PRODUCTION", global = true)]
    pub demo_in_production: bool,

    /// Without an SMS gateway, let anyone register any phone number unproven (and learn which
    /// numbers are registered); default: on in development, off in production.
    #[arg(long, env = "SHANGJU_UNVERIFIED_REGISTRATION", action = clap::ArgAction::Set, global = true)]
    pub unverified_registration: Option<bool>,

    /// Do not migrate at start (for deployments that run `shangju migrate` as a step of their
    /// own); the server refuses to start while migrations are pending.
    #[arg(long, env = "SHANGJU_NO_MIGRATE", global = true)]
    pub no_migrate: bool,

    /// Answer introspection queries (the schema's shape, for codegen and GraphiQL); default:
    /// on in development, off in production.
    #[arg(long, env = "SHANGJU_INTROSPECTION", action = clap::ArgAction::Set, global = true)]
    pub introspection: Option<bool>,

    /// Origins allowed to call the API from a browser (CORS), comma-separated, or `*`
    /// (development only); default: any in development, none in production.
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
    /// network reaches). In development it is on the API's address by default; in production
    /// only here (or on the API's address with `--metrics-on-api`).
    #[arg(long, env = "SHANGJU_METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,

    /// In production, serve `/metrics` on the API's address too (anyone who reaches the API
    /// then reads operation names, error counts and the pool's state).
    #[arg(long, env = "SHANGJU_METRICS_ON_API", global = true)]
    pub metrics_on_api: bool,

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

    /// Sign-ins (`login`, `loginWithCode`, `loginWithWeChat`, `changePassword`, …) per client
    /// address, e.g. `30/min`, or `off`.
    #[arg(
        long,
        env = "SHANGJU_RATE_SIGN_IN",
        default_value = "30/min",
        global = true
    )]
    pub rate_sign_in: String,

    /// SMS codes asked for per client address (`sendLoginCode`), besides the daily caps.
    #[arg(
        long,
        env = "SHANGJU_RATE_SEND_CODE",
        default_value = "5/min",
        global = true
    )]
    pub rate_send_code: String,
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

    /// How sign-in codes reach phones: `http` (an SMS provider, below), `log` (written to the
    /// log; development only) or `off`; default: `log` in development, `off` in production.
    #[arg(long, env = "SHANGJU_SMS_GATEWAY", value_enum, global = true)]
    pub sms_gateway: Option<SmsGatewayKind>,
    /// The SMS provider's send endpoint (云片 `single_send` shape: a form of `apikey`,
    /// `mobile`, `text`, answered by JSON with `code` 0).
    #[arg(
        long,
        env = "SHANGJU_SMS_URL",
        default_value = "https://sms.yunpian.com/v2/sms/single_send.json",
        global = true
    )]
    pub sms_url: String,
    /// The SMS provider's API key (required with `http`).
    #[arg(
        long,
        env = "SHANGJU_SMS_API_KEY",
        hide_env_values = true,
        global = true
    )]
    pub sms_api_key: Option<String>,
    /// The message, as the provider approved it, with `{code}` where the code goes.
    #[arg(long, env = "SHANGJU_SMS_TEMPLATE", default_value = crate::gateway::sms::DEFAULT_TEMPLATE, global = true)]
    pub sms_template: String,
    /// The mini-program's AppID; with the secret, turns on `loginWithWeChat`.
    #[arg(long, env = "SHANGJU_WECHAT_APP_ID", global = true)]
    pub wechat_app_id: Option<String>,
    /// The mini-program's AppSecret.
    #[arg(
        long,
        env = "SHANGJU_WECHAT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub wechat_secret: Option<String>,
    /// WeChat's API base URL.
    #[arg(
        long,
        env = "SHANGJU_WECHAT_API",
        default_value = "https://api.weixin.qq.com",
        global = true
    )]
    pub wechat_api: String,
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
    /// `None` in development when none was given: [`Config::keep_development_secret`] makes
    /// one and keeps it.
    pub jwt_secret: Option<Vec<u8>>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub log_format: LogFormat,
    pub log_level: String,
    pub db_max_connections: u32,
    pub db_timeout: Duration,
    pub hash_concurrency: usize,
    pub demo: bool,
    /// Registration without proof of the phone when no SMS gateway is set up.
    pub unverified_registration: bool,
    pub introspection: bool,
    pub no_migrate: bool,
    pub cors: Cors,
    pub slow_request: Duration,
    /// Allow-list mode: only these documents run.
    pub persisted_only: Option<PersistedDocuments>,
    pub metrics_bind: Option<SocketAddr>,
    /// `/metrics` on the API's address.
    pub metrics_on_api: bool,
    pub shutdown_grace: Duration,
    pub request_timeout: Duration,
    pub db_statement_timeout: Duration,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub rate_limits: RateLimits,
    pub sms: crate::gateway::sms::SmsSettings,
    pub wechat: Option<crate::gateway::wechat::WeChatSettings>,
}

fn rate(setting: &str, raw: &str) -> Result<Option<Rate>, String> {
    Rate::parse(raw).map_err(|e| format!("{setting}: {e}"))
}

/// Reads the manifest when only its documents may run.
fn persisted_allow_list(
    only: bool,
    manifest: Option<&std::path::Path>,
) -> Result<Option<PersistedDocuments>, String> {
    match (only, manifest) {
        (false, _) => Ok(None),
        (true, None) => Err("--persisted-only needs --persisted-queries FILE".into()),
        (true, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            parse_manifest(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display()))
        }
    }
}

fn sms_settings(o: &Options, production: bool) -> Result<crate::gateway::sms::SmsSettings, String> {
    use crate::gateway::sms::SmsSettings;
    let kind = o.sms_gateway.unwrap_or(if production {
        SmsGatewayKind::Off
    } else {
        SmsGatewayKind::Log
    });
    Ok(match kind {
        SmsGatewayKind::Off => SmsSettings::Off,
        // A code in the log signs anyone who reads the log in as anyone.
        SmsGatewayKind::Log if production => {
            return Err("SHANGJU_SMS_GATEWAY=log writes sign-in codes to the log; production needs http or off".into());
        }
        SmsGatewayKind::Log => SmsSettings::Log,
        SmsGatewayKind::Http => {
            let Some(api_key) = o.sms_api_key.clone().filter(|k| !k.is_empty()) else {
                return Err("SHANGJU_SMS_GATEWAY=http needs SHANGJU_SMS_API_KEY".into());
            };
            if !o.sms_template.contains("{code}") {
                return Err("SHANGJU_SMS_TEMPLATE must contain {code}".into());
            }
            SmsSettings::Http {
                url: o.sms_url.clone(),
                api_key,
                template: o.sms_template.clone(),
            }
        }
    })
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
            // Any site could then read answers with the tokens its visitors' browsers hold.
            if production {
                return Err("SHANGJU_CORS_ORIGINS=* lets every web site call the API from its visitors' browsers; production lists its origins, e.g. https://console.example.org".into());
            }
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
        let sms = sms_settings(&o, production)?;
        let jwt_secret = match o.jwt_secret {
            Some(s) => Some(strong_secret(s)?),
            None if production => {
                return Err(format!(
                    "production needs SHANGJU_JWT_SECRET: at least {MIN_SECRET_BYTES} random bytes, e.g. `openssl rand -base64 48`"
                ));
            }
            None => None,
        };
        let database_url = match o.database_url {
            Some(url) => url,
            // An implicit file in whatever directory the server was started from is easily
            // lost or left out of backups.
            None if production => {
                return Err("production needs DATABASE_URL: postgres://user:password@host/db, or sqlite:///var/lib/shangju/shangju.db?mode=rwc to keep the data in a file of your choosing".into());
            }
            None => DEFAULT_DATABASE_URL.to_owned(),
        };
        let demo = o.demo.unwrap_or(!production);
        if demo && production && !o.demo_in_production {
            return Err("SHANGJU_DEMO=true loads demo accounts whose password is published; on a production server it also needs SHANGJU_DEMO_IN_PRODUCTION=true (a trial deployment)".into());
        }
        let metrics_on_api = if production {
            o.metrics_on_api
        } else {
            o.metrics_bind.is_none() || o.metrics_on_api
        };
        if o.access_token_ttl.as_secs() < 60 || o.refresh_token_ttl < o.access_token_ttl {
            return Err("token lifetimes: access ≥ 1m and refresh ≥ access".into());
        }
        let wechat = match (o.wechat_app_id, o.wechat_secret) {
            (Some(app_id), Some(secret)) => Some(crate::gateway::wechat::WeChatSettings {
                api_base: o.wechat_api,
                app_id,
                secret,
            }),
            (None, None) => None,
            _ => {
                return Err(
                    "WeChat sign-in needs both SHANGJU_WECHAT_APP_ID and SHANGJU_WECHAT_SECRET"
                        .into(),
                );
            }
        };
        Ok(Config {
            env: o.env,
            bind: o.bind,
            database_url,
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
            demo,
            unverified_registration: o.unverified_registration.unwrap_or(!production),
            introspection: o.introspection.unwrap_or(!production),
            no_migrate: o.no_migrate,
            cors: Cors::parse(o.cors_origins.as_deref(), production)?,
            persisted_only: persisted_allow_list(o.persisted_only, o.persisted_queries.as_deref())?,
            slow_request: o.slow_request.into(),
            metrics_bind: o.metrics_bind,
            metrics_on_api,
            shutdown_grace: o.shutdown_grace.into(),
            request_timeout: o.request_timeout.into(),
            db_statement_timeout: o.db_statement_timeout.into(),
            header_timeout: o.header_timeout.into(),
            body_timeout: o.body_timeout.into(),
            max_connections: o.max_connections.max(1),
            rate_limits: RateLimits {
                sign_in: rate("SHANGJU_RATE_SIGN_IN", &o.rate_sign_in)?,
                send_code: rate("SHANGJU_RATE_SEND_CODE", &o.rate_send_code)?,
                register: rate("SHANGJU_RATE_REGISTER", &o.rate_register)?,
                redeem: rate("SHANGJU_RATE_REDEEM", &o.rate_redeem)?,
                trusted_proxy_hops: o.trusted_proxy_hops,
            },
            sms,
            wechat,
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
            .filter(|p| !p.as_os_str().is_empty() && !p.starts_with(":memory:"))
    }

    /// Where the server keeps its own files: beside the SQLite file, or `data/`.
    pub fn data_dir(&self) -> PathBuf {
        self.sqlite_path()
            .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("data"))
    }

    /// In development without a secret, signs tokens with one made at the first start and kept
    /// in the data directory (`jwt-secret`, readable by its owner only), so that a restart
    /// signs nobody out.
    pub fn keep_development_secret(&mut self) -> Result<(), String> {
        if self.jwt_secret.is_some() {
            return Ok(());
        }
        let dir = self.data_dir();
        let path = dir.join(DEVELOPMENT_SECRET_FILE);
        let kept = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
                let text = hex::encode(bytes);
                std::fs::create_dir_all(&dir)
                    .and_then(|()| write_private(&path, &text))
                    .map_err(|e| format!("cannot keep a secret in {}: {e}", path.display()))?;
                text
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        self.jwt_secret = Some(
            strong_secret(kept)
                .map_err(|e| format!("{}: {e}; delete it to make a new one", path.display()))?,
        );
        Ok(())
    }
}

/// The file of the development secret in the data directory.
pub const DEVELOPMENT_SECRET_FILE: &str = "jwt-secret";

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// The least estimated entropy of a JWT secret, in bits.
pub const MIN_SECRET_BITS: f64 = 96.0;

/// A secret long enough and hard enough to guess; see [`secret_bits`].
fn strong_secret(secret: String) -> Result<Vec<u8>, String> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "SHANGJU_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
        ));
    }
    let bits = secret_bits(&secret);
    if bits < MIN_SECRET_BITS {
        return Err(format!(
            "SHANGJU_JWT_SECRET is too easy to guess (about {bits:.0} bits; at least {MIN_SECRET_BITS:.0} wanted): use random bytes, e.g. `openssl rand -base64 48`"
        ));
    }
    Ok(secret.into_bytes())
}

/// An estimate of a secret's entropy, the lesser of two: the Shannon entropy of its characters
/// times their number, counted over the shortest piece it repeats (`aaaa…` and
/// `secret-secret-…` score what one piece is worth); and 4 bits for each distinct piece of
/// four characters that is not a run (`abcd`, `4321`), so that a word said again with a
/// variation, or an alphabet, scores little however long it is. Random bytes in hex or base64
/// score about 3.7 or 4 bits a character.
pub fn secret_bits(secret: &str) -> f64 {
    let chars: Vec<char> = secret.chars().collect();
    let is_run = |w: &[char]| {
        let steps: Vec<i64> = w
            .windows(2)
            .map(|p| i64::from(u32::from(p[1])) - i64::from(u32::from(p[0])))
            .collect();
        steps.iter().all(|d| *d == 1) || steps.iter().all(|d| *d == -1)
    };
    let pieces: std::collections::HashSet<&[char]> =
        chars.windows(4).filter(|w| !is_run(w)).collect();
    shannon_bits(&chars).min(pieces.len() as f64 * 4.0)
}

/// The Shannon estimate of [`secret_bits`], over the shortest piece the characters repeat.
fn shannon_bits(chars: &[char]) -> f64 {
    let period = (1..=chars.len())
        .find(|&p| chars.iter().enumerate().all(|(i, c)| *c == chars[i % p]))
        .unwrap_or(chars.len());
    let unit = &chars[..period];
    let mut counts = std::collections::HashMap::<char, usize>::new();
    for c in unit {
        *counts.entry(*c).or_default() += 1;
    }
    let n = unit.len() as f64;
    let per_char: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum();
    per_char * n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<Config, String> {
        let mut all = vec!["shangju"];
        all.extend_from_slice(args);
        let cli = Cli::try_parse_from(all).map_err(|e| e.to_string())?;
        Config::from_options(cli.options)
    }

    const SECRET: &str = "--jwt-secret=q8Zr2LwX0nV5tKc7Jm4Hy1Pd9Gs6Bf3Ae0Uu2Ii8Oo5";
    const PROD: [&str; 3] = [
        "--env=production",
        SECRET,
        "--database-url=postgres://shangju@db/shangju",
    ];

    #[test]
    fn production_refuses_a_guessable_secret() {
        let prod = |secret: &str| {
            config(&[
                "--env=production",
                "--database-url=postgres://shangju@db/shangju",
                &format!("--jwt-secret={secret}"),
            ])
        };
        for weak in [
            "x".repeat(40),
            "bench-secret-bench-secret-bench-secret".to_owned(),
            "0123456789abcdef".repeat(2),
            "abababababababababababababababababab".to_owned(),
            "changeme-changeme-changeme-changeme!".to_owned(),
            "abcdefghijklmnopqrstuvwxyz012345".to_owned(),
            "0123456789abcdefghijklmnopqrstuvwxyz".to_owned(),
        ] {
            let refused = prod(&weak);
            assert!(
                refused.as_ref().is_err_and(|e| e.contains("guess")),
                "{weak}: {refused:?}"
            );
        }
        assert!(prod("short").is_err_and(|e| e.contains("32 bytes")));
        // What `openssl rand` gives passes, hex and base64 alike.
        for strong in [
            "3f9c1e0b7a52d8e4c6b1f0a9d2e7c5b8a4f1e3d6c9b2a7e0f5d8c1b4a3e6f9d2",
            "kR3vQ8mZ1xN7pL2wT9sY4hJ6gF0dC5bV8nM1qW3eR7tY2uI9oP4aS6dF0gH3jK5l",
            // `openssl rand -hex 16`: 128 random bits.
            "9f2c7a41e0b85d36c4a1f07e2b9d5c83",
            SECRET.trim_start_matches("--jwt-secret="),
        ] {
            assert!(prod(strong).is_ok(), "{strong}: {:?}", prod(strong).err());
        }
    }

    #[test]
    fn production_says_where_its_data_goes() {
        let refused = config(&["--env=production", SECRET]);
        assert!(refused.is_err_and(|e| e.contains("DATABASE_URL")));
        // A SQLite file said explicitly is the operator's choice.
        let sqlite = config(&[
            "--env=production",
            SECRET,
            "--database-url=sqlite:///var/lib/shangju/s.db?mode=rwc",
        ]);
        assert!(sqlite.is_ok_and(|c| c.data_dir() == std::path::Path::new("/var/lib/shangju")));
        assert!(
            config(&[]).is_ok_and(|c| c.database_url == DEFAULT_DATABASE_URL
                && c.data_dir() == std::path::Path::new("data"))
        );
    }

    #[test]
    fn production_loads_no_demo_unless_told_twice() {
        assert!(config(&PROD).is_ok_and(|c| !c.demo));
        let refused = config(&[&PROD[..], &["--demo=true"]].concat());
        assert!(refused.is_err_and(|e| e.contains("SHANGJU_DEMO_IN_PRODUCTION")));
        let trial = config(&[&PROD[..], &["--demo=true", "--demo-in-production"]].concat());
        assert!(trial.is_ok_and(|c| c.demo));
        assert!(config(&[]).is_ok_and(|c| c.demo));
        assert!(config(&["--demo=false"]).is_ok_and(|c| !c.demo));
    }

    #[test]
    fn production_allows_no_wildcard_origin() {
        let refused = config(&[&PROD[..], &["--cors-origins=*"]].concat());
        assert!(refused.is_err_and(|e| e.contains("SHANGJU_CORS_ORIGINS")));
        assert!(config(&["--cors-origins=*"]).is_ok_and(|c| c.cors == Cors::Any));
        let listed = config(&[&PROD[..], &["--cors-origins=https://console.example.org"]].concat());
        assert!(
            listed
                .is_ok_and(|c| c.cors == Cors::Origins(vec!["https://console.example.org".into()]))
        );
    }

    #[test]
    fn production_serves_metrics_only_where_told() {
        let on = |args: &[&str]| config(args).map(|c| c.metrics_on_api);
        assert_eq!(on(&PROD), Ok(false));
        assert_eq!(
            on(&[&PROD[..], &["--metrics-bind=10.0.0.5:9100"]].concat()),
            Ok(false)
        );
        assert_eq!(on(&[&PROD[..], &["--metrics-on-api"]].concat()), Ok(true));
        assert_eq!(on(&[]), Ok(true));
        assert_eq!(on(&["--metrics-bind=127.0.0.1:9100"]), Ok(false));
    }

    #[test]
    fn production_registers_unproven_phones_only_when_told() {
        let unverified = |args: &[&str]| config(args).map(|c| c.unverified_registration);
        assert_eq!(unverified(&PROD), Ok(false));
        assert_eq!(
            unverified(&[&PROD[..], &["--unverified-registration=true"]].concat()),
            Ok(true)
        );
        assert_eq!(unverified(&[]), Ok(true));
    }

    #[test]
    fn a_development_secret_is_kept_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "--database-url=sqlite://{}/s.db?mode=rwc",
            dir.path().display()
        );
        let start = || {
            let mut c = config(&[&url]).unwrap();
            assert!(c.jwt_secret.is_none());
            c.keep_development_secret().unwrap();
            c.jwt_secret.unwrap()
        };
        let first = start();
        assert_eq!(first, start());
        let path = dir.path().join(DEVELOPMENT_SECRET_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A secret given is used as it is, and nothing is written.
        let given = config(&[&url, SECRET]).unwrap();
        assert!(given.jwt_secret.is_some());
    }

    #[test]
    fn codes_in_the_log_are_for_development_only() {
        let prod = PROD;
        let refused = config(&[&prod[..], &["--sms-gateway=log"]].concat());
        assert!(refused.is_err_and(|e| e.contains("production")));
        let off = config(&prod).map(|c| format!("{:?}", c.sms));
        assert_eq!(off.as_deref(), Ok("Off"));
        let dev = config(&[]).map(|c| format!("{:?}", c.sms));
        assert_eq!(dev.as_deref(), Ok("Log"));
        // An HTTP gateway needs its key, and the key never shows in the settings' Debug.
        assert!(config(&[&prod[..], &["--sms-gateway=http"]].concat()).is_err());
        let http = config(
            &[
                &prod[..],
                &["--sms-gateway=http", "--sms-api-key=k3y-s3cret"],
            ]
            .concat(),
        )
        .map(|c| format!("{c:?}"));
        assert!(http.is_ok_and(|c| c.contains("Http(") && !c.contains("k3y-s3cret")));
    }

    #[test]
    fn wechat_needs_its_app_id_and_secret_together() {
        assert!(config(&["--wechat-app-id=wx1"]).is_err());
        let on =
            config(&["--wechat-app-id=wx1", "--wechat-secret=s3cret-wx"]).map(|c| format!("{c:?}"));
        assert!(on.is_ok_and(|c| c.contains("wx1") && !c.contains("s3cret-wx")));
        assert!(config(&[]).is_ok_and(|c| c.wechat.is_none()));
    }
}

/// A rate such as `30/min`: so many in a period, all of them at once at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: std::num::NonZeroU32,
    pub per: Duration,
}

impl Rate {
    /// `N/s`, `N/min` or `N/hour`; `off` for no limit.
    pub fn parse(raw: &str) -> Result<Option<Rate>, String> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let bad = || format!("`{raw}` is not a rate such as 30/min, 5/s, 100/hour or off");
        let (n, unit) = raw.split_once('/').ok_or_else(bad)?;
        let count = n
            .trim()
            .parse::<std::num::NonZeroU32>()
            .map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Some(Rate { count, per }))
    }
}

/// The limits per client address of a deployment; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    pub sign_in: Option<Rate>,
    pub send_code: Option<Rate>,
    pub register: Option<Rate>,
    pub redeem: Option<Rate>,
    /// Reverse proxies in front of the server whose `X-Forwarded-For` entries are trusted.
    pub trusted_proxy_hops: usize,
}

/// Registered documents by their SHA-256 (lowercase hex).
pub type PersistedDocuments = std::collections::HashMap<String, std::sync::Arc<str>>;

/// The SHA-256 of a document, as persisted queries name it (lowercase hex).
pub fn document_hash(query: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(query.as_bytes()))
}

/// Reads a manifest: Apollo's persisted-query manifest
/// (`{"operations": [{"id": HASH, "body": DOCUMENT}, …]}`) or a plain `{HASH: DOCUMENT}` map.
/// Every id must be the hash of its body.
pub fn parse_manifest(text: &str) -> Result<PersistedDocuments, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let pairs: Vec<(String, String)> = match v.get("operations") {
        Some(serde_json::Value::Array(ops)) => ops
            .iter()
            .map(|op| {
                let id = op["id"].as_str().ok_or("an operation without id")?;
                let body = op["body"].as_str().ok_or("an operation without body")?;
                Ok((id.to_owned(), body.to_owned()))
            })
            .collect::<Result<_, &str>>()?,
        _ => v
            .as_object()
            .ok_or("neither a manifest nor a map of hashes to documents")?
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    v.as_str().ok_or("a document is not a string")?.to_owned(),
                ))
            })
            .collect::<Result<_, &str>>()?,
    };
    let mut out = PersistedDocuments::new();
    for (id, body) in pairs {
        if document_hash(&body) != id.to_ascii_lowercase() {
            return Err(format!("{id} is not the SHA-256 of its document"));
        }
        out.insert(id.to_ascii_lowercase(), std::sync::Arc::from(body));
    }
    Ok(out)
}
