use std::io::Read;
use std::process::ExitCode;

use clap::Parser;

use shangju::config::{Cli, Command, Config};
use shangju::domain::account::{self, CreateStaffCommand};
use shangju::{app, demo, graphql, logging};

// glibc's malloc and free were a fifth of the server's CPU under load. jemalloc and mimalloc
// cut that alike in `shangju-bench load`; jemalloc kept the peak RSS 8 MiB lower (38 against
// 46 MiB on PostgreSQL).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::ExportSchema) = cli.command {
        print!("{}", graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let mut config = match Config::from_options(cli.options) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("shangju: {msg}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, None | Some(Command::Serve))
        && let Err(msg) = config.keep_development_secret()
    {
        eprintln!("shangju: {msg}");
        return ExitCode::from(2);
    }
    logging::init(config.log_format, &config.log_level);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("shangju: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(config, cli.command.unwrap_or(Command::Serve)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            tracing::error!("{msg}");
            eprintln!("shangju: {msg}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config, command: Command) -> Result<(), String> {
    match command {
        Command::Migrate { status: true } => return print_migration_status(&config).await,
        Command::Migrate { status: false } => {
            shangju::db::migrate_locked(&app::db_settings(&config))
                .await
                .map_err(|e| format!("cannot migrate: {e}"))?;
            tracing::info!("migrations applied");
            return Ok(());
        }
        _ => {}
    }
    // Take the address before touching the database, so a second server on a busy port
    // fails at once instead of migrating and loading the demo first.
    let (listener, metrics_listener) = match command {
        Command::Serve => (
            Some(listen(config.bind).await?),
            match config.metrics_bind {
                Some(addr) => Some(listen(addr).await?),
                None => None,
            },
        ),
        _ => (None, None),
    };
    let options = app::AppOptions::from(&config);
    let conn = app::connect(&config, &options).await?;
    let state = app::state(conn, &options);
    match command {
        Command::ExportSchema | Command::Migrate { .. } => {
            unreachable!("handled above")
        }
        Command::CreateStreet { name } => {
            let street = shangju::domain::street::create(
                &shangju::domain::context::Cx::system(&state),
                &name,
            )
            .await
            .map_err(|e| e.message(shangju::error::Lang::En).into_owned())?;
            println!("created street {} (id {})", street.name, street.id);
            Ok(())
        }
        Command::CreateStaff {
            street,
            phone,
            name,
            password_stdin: _,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| format!("cannot read the password: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            let view = account::create_staff(
                &shangju::domain::context::Cx::system(&state),
                CreateStaffCommand {
                    street: street.clone(),
                    phone,
                    display_name: name,
                    password,
                },
            )
            .await
            .map_err(|e| e.message(shangju::error::Lang::En).into_owned())?;
            println!(
                "created staff {} of {street} (user {})",
                view.user.display_name, view.user.id
            );
            Ok(())
        }
        Command::Serve => {
            warn_of_choices(&config);
            if config.demo {
                let added = demo::load(&state)
                    .await
                    .map_err(|e| format!("loading the demo alliance failed: {e:?}"))?;
                print_demo_banner(&config, added);
            }
            if let Some(metrics_listener) = metrics_listener {
                let metrics = shangju::http::metrics_router(state.clone());
                tracing::info!(bind = ?config.metrics_bind, "serving metrics");
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(metrics_listener, metrics).await {
                        tracing::error!(error = %e, "metrics server failed");
                    }
                });
            }
            let router = app::router(state, &options);
            tracing::info!(bind = %config.bind, env = ?config.env, "serving");
            let listener = listener.ok_or("no listener")?;
            app::serve(&config, listener, router)
                .await
                .map_err(|e| format!("server error: {e}"))
        }
    }
}

/// What the operator chose that costs something, said once at start.
fn warn_of_choices(config: &Config) {
    let production = config.is_production();
    if production && config.demo {
        tracing::warn!(
            "the demo alliance is loaded (SHANGJU_DEMO_IN_PRODUCTION): its accounts' password is published"
        );
    }
    if config.sms.is_off() {
        if config.unverified_registration {
            if production {
                tracing::warn!(
                    "registration is open without SMS (SHANGJU_UNVERIFIED_REGISTRATION): anyone can register any phone number, and learn which numbers are registered"
                );
            }
        } else {
            tracing::info!(
                "registration is closed: no SMS gateway proves phones (SHANGJU_SMS_GATEWAY=http opens it)"
            );
        }
    }
    if production && config.metrics_on_api {
        tracing::warn!(
            "/metrics is served on the API's address (SHANGJU_METRICS_ON_API): whoever reaches the API reads it"
        );
    } else if config.metrics_bind.is_none() && !config.metrics_on_api {
        tracing::info!("/metrics is not served: set SHANGJU_METRICS_BIND to an address of its own");
    }
}

async fn listen(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

async fn print_migration_status(config: &Config) -> Result<(), String> {
    let conn = shangju::db::connect(&app::db_settings(config))
        .await
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let status = shangju::db::migration_status(&conn)
        .await
        .map_err(|e| format!("cannot read the migration status: {e}"))?;
    for (name, applied) in &status {
        println!("{:<8} {name}", if *applied { "applied" } else { "pending" });
    }
    let pending = status.iter().filter(|(_, applied)| !applied).count();
    println!("{} applied, {pending} pending", status.len() - pending);
    Ok(())
}

fn print_demo_banner(config: &Config, added: bool) {
    let db_note = config
        .sqlite_path()
        .map(|p| format!(" (database: {})", p.display()))
        .unwrap_or_default();
    println!();
    println!(
        "商居同盟 demo alliance {}{db_note}",
        if added { "loaded" } else { "already loaded" }
    );
    println!("  GraphiQL:  http://{}/", config.bind);
    for acc in demo::DEMO_ACCOUNTS.iter().chain([&demo::DEMO_COURIER]) {
        println!(
            "  {:<9} phone {}  password {}  ({})",
            account::role_name(&acc.role),
            acc.phone,
            demo::DEMO_PASSWORD,
            acc.name
        );
    }
    println!();
}
