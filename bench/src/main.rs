//! Benchmarks of a real `shangju` server over HTTP on this machine. It starts the release binary
//! itself on a fresh database, drives it, checks the answers, and prints a table.
//!
//! `cargo build --release && cargo run --release -p shangju-bench -- hostile`

mod floor;
mod load;
mod peer;
mod server;
mod usage;

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::json;

use server::Server;

#[derive(Parser)]
#[command(about = "Benchmarks of the shangju server")]
struct Cli {
    /// Database for the server under test: `sqlite` (a temporary file) or a PostgreSQL URL,
    /// whose database is used as is (give it an empty one).
    #[arg(long, default_value = "sqlite", global = true)]
    db: String,
    /// Smaller runs, for CI.
    #[arg(long, global = true)]
    smoke: bool,
    /// The server binary to measure (default: the `shangju` next to this program), e.g. one
    /// built from another commit, to compare.
    #[arg(long, global = true)]
    server: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Times every hostile document of the limits' catalogue: each must be refused, and the
    /// slowest answer is what an attacker can make a core do per request.
    Hostile,
    /// The merchants list over GraphQL and over plain axum, and a flash sale; checks that the
    /// sale ends with exactly `stock` claims and no stock left.
    Load {
        /// Concurrent requests in flight.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Also measure another GraphQL server over the same database (PostgreSQL only;
        /// installed from npm on first use).
        #[arg(long, value_enum)]
        peer: Option<PeerKind>,
    },
    /// Serves the raw floor on a port (the load benchmark starts it as its own process).
    #[command(hide = true)]
    Floor {
        #[arg(long)]
        port: u16,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PeerKind {
    /// PostGraphile 5 with its amber preset, on Node 22.
    Postgraphile,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Cmd::Floor { port } = cli.command {
        floor::serve(&cli.db, port).await;
        return;
    }
    let server = Server::start(&cli.db, cli.server.as_deref()).await;
    let ok = match cli.command {
        Cmd::Hostile => hostile(&server, if cli.smoke { 3 } else { 30 }).await,
        Cmd::Load { concurrency, peer } => {
            let sizes = if cli.smoke {
                load::Sizes {
                    list_requests: 200,
                    residents: 200,
                    stock: 50,
                    concurrency,
                    sale_rounds: 2,
                    peer: peer.is_some(),
                }
            } else {
                load::Sizes {
                    list_requests: 10_000,
                    residents: 2_000,
                    stock: 500,
                    concurrency,
                    sale_rounds: 5,
                    peer: peer.is_some(),
                }
            };
            load::run(&server, sizes).await
        }
        Cmd::Floor { .. } => unreachable!("served above"),
    };
    drop(server);
    if !ok {
        std::process::exit(1);
    }
}

async fn hostile(server: &Server, runs: usize) -> bool {
    let client = reqwest::Client::new();
    let mut ok = true;
    println!(
        "{:<30} {:>10} {:>10} {:>10}",
        "document", "bytes", "p50 ms", "max ms"
    );
    for (name, query) in shangju::graphql::limits::hostile_documents() {
        let body = json!({ "query": query }).to_string();
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let resp = client
                .post(server.graphql_url())
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("request");
            let v: serde_json::Value = resp.json().await.expect("json");
            times.push(start.elapsed());
            if v["errors"][0]["extensions"]["code"] != "BAD_USER_INPUT" {
                eprintln!("{name}: not refused");
                ok = false;
            }
        }
        times.sort();
        println!(
            "{:<30} {:>10} {:>10.2} {:>10.2}",
            name,
            body.len(),
            ms(times[times.len() / 2]),
            ms(*times.last().expect("at least one run"))
        );
    }
    ok
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
