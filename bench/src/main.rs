//! `roster-bench`: measures `roster serve` against the ceiling of the machine it runs on.
//!
//! For each database size it seeds a fresh SQLite file, starts the release server on
//! it, and drives every operation with wrk over loopback: flat out for the peak rate,
//! then paced at half that rate for the latency a lightly loaded server gives. Each
//! rate is divided by the rate of `GET /healthz` measured in the same run, an endpoint
//! that does no work, so the figures travel between machines. `bench/run` builds and
//! starts it; the README shows the latest table.

mod ops;
mod report;
mod seed;
mod server;
mod wrk;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use serde::Serialize;

use crate::ops::Operation;
use crate::seed::{Seeded, Shape, BENCH_APP_KEY, BENCH_SECRET};
use crate::server::Server;
use crate::wrk::{Figures, Load};

#[derive(Parser)]
#[command(about = "Benchmark roster serve against GET /healthz on the same machine")]
struct Args {
    /// The short form for CI: small databases and one second a run. It checks that
    /// every operation still works under load, not how fast it is.
    #[arg(long)]
    quick: bool,
    /// Seconds of load for each flat-out run; paced runs take 60 percent of it.
    #[arg(long, default_value_t = 5)]
    seconds: u32,
    /// Connections wrk keeps open for the flat-out runs.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// The server binary to measure.
    #[arg(long, default_value = "target/release/roster")]
    binary: PathBuf,
    /// Where the databases, logs and the JSON table go.
    #[arg(long, default_value = "bench/out")]
    out: PathBuf,
}

/// The figures of one operation on one database.
#[derive(Serialize)]
pub struct Measured {
    pub key: &'static str,
    pub label: String,
    pub peak: Figures,
    /// `peak.requests_per_second` over that of `/healthz`.
    pub ratio: f64,
    pub target: Option<f64>,
    /// Paced at half the peak rate.
    pub half_load: Figures,
}

/// Every operation on one database.
#[derive(Serialize)]
pub struct DatabaseRun {
    pub accounts: u64,
    pub users: u64,
    pub bench_account_users: u64,
    pub seed_seconds: f64,
    pub operations: Vec<Measured>,
    pub peak_resident_mib: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let seconds = if args.quick { 1 } else { args.seconds };
    let shapes = if args.quick {
        [
            Shape {
                accounts: 1,
                users: 1_000,
                bench_users: 1_000,
            },
            Shape {
                accounts: 1_000,
                users: 20_000,
                bench_users: 5_000,
            },
        ]
    } else {
        [
            Shape {
                accounts: 1,
                users: 1_000,
                bench_users: 1_000,
            },
            Shape {
                accounts: 100_000,
                users: 2_000_000,
                bench_users: 50_000,
            },
        ]
    };
    std::fs::create_dir_all(&args.out)?;
    if !args.binary.is_file() {
        bail!(
            "no server binary at {}; bench/run builds it",
            args.binary.display()
        );
    }

    let mut runs = Vec::new();
    for (n, shape) in shapes.into_iter().enumerate() {
        let database = args.out.join(format!("bench-{n}.db"));
        eprintln!(
            "seeding {} users in {} accounts ...",
            shape.users, shape.accounts
        );
        let seeded = seed::seed(&database, shape)?;
        eprintln!("seeded in {:.1} s", seeded.seconds);
        let log = args.out.join(format!("serve-{n}.log"));
        let server = Server::start(&args.binary, &database, &log)?;
        let run = measure_database(&server, &seeded, args.connections, seconds)?;
        server.stop()?;
        report::print_database(&run);
        runs.push(run);
    }

    let report = report::Report::new(runs, seconds, args.connections);
    report.print_summary();
    let json = args.out.join("bench.json");
    std::fs::write(&json, serde_json::to_string_pretty(&report)?)?;
    eprintln!("wrote {}", json.display());

    let errors = report.errors();
    if errors > 0 {
        bail!(
            "{errors} requests failed; see the server logs in {}",
            args.out.display()
        );
    }
    Ok(())
}

fn measure_database(
    server: &Server,
    seeded: &Seeded,
    connections: u32,
    seconds: u32,
) -> Result<DatabaseRun> {
    let token = fetch_token(&server.base_url)?;
    let cx = ops::Context {
        seeded,
        token: &token,
        tag: format!("{}", chrono::Utc::now().timestamp_millis()),
    };
    let half_seconds = (seconds * 3).div_ceil(5);
    let base = &server.base_url;
    let run = |op: &Operation| -> Result<Figures> {
        eprintln!("  {} ...", op.label);
        wrk::run(base, &op.script, Load::peak(connections, seconds))
    };
    let paced = |op: &Operation, peak: &Figures| -> Result<Figures> {
        wrk::run(
            base,
            &op.script,
            Load::paced(peak.requests_per_second / 2.0, half_seconds),
        )
    };

    let ceiling = ops::healthz();
    let ceiling_peak = run(&ceiling)?;
    let ceiling_rate = ceiling_peak.requests_per_second;
    let mut operations = Vec::new();
    let record =
        |operations: &mut Vec<Measured>, op: Operation, peak: Figures, half_load: Figures| {
            operations.push(Measured {
                key: op.key,
                label: op.label,
                ratio: peak.requests_per_second / ceiling_rate,
                target: op.target,
                peak,
                half_load,
            });
        };
    let ceiling_half = paced(&ceiling, &ceiling_peak)?;
    record(&mut operations, ceiling, ceiling_peak, ceiling_half);

    for op in ops::reads(&cx) {
        let peak = run(&op)?;
        let half = paced(&op, &peak)?;
        record(&mut operations, op, peak, half);
    }

    // Writes: creates first, so that the deletes have users to remove that no other
    // operation reads.
    let before = user_total(base, &token)?;
    let create = ops::create(&cx, "peak");
    let create_peak = run(&create)?;
    let create_half = paced(&ops::create(&cx, "half"), &create_peak)?;
    record(&mut operations, create, create_peak, create_half);

    let update = ops::update(&cx, "peak");
    let update_peak = run(&update)?;
    let update_half = paced(&ops::update(&cx, "half"), &update_peak)?;
    record(&mut operations, update, update_peak, update_half);

    // The deletes remove the users the creates made. Make sure there are enough for
    // deletes three times as fast as the fastest write measured so far.
    let [.., created_figures, updated_figures] = &operations[..] else {
        unreachable!("the creates and updates were recorded");
    };
    let create_rate = created_figures.peak.requests_per_second.max(1.0);
    let delete_rate = 3.0 * create_rate.max(updated_figures.peak.requests_per_second);
    let needed = (delete_rate * f64::from(seconds + half_seconds / 2)) as u64;
    let created = user_total(base, &token)? - before;
    if created < needed {
        let top_up = ((needed - created) as f64 / create_rate).ceil() as u32;
        eprintln!("  creating users for the deletes to remove ...");
        wrk::run(
            base,
            &ops::create(&cx, "top-up").script,
            Load::peak(connections, top_up),
        )?;
    }
    let created = user_total(base, &token)? - before;
    let first_created = last_user_id(base, &token)? - created as i64 + 1;

    let delete = ops::delete(&cx, first_created);
    let delete_peak = run(&delete)?;
    // The paced run starts past every id the flat-out run may have sent.
    let next = first_created + (delete_peak.requests + u64::from(connections)) as i64;
    let delete_half = paced(&ops::delete(&cx, next), &delete_peak)?;
    record(&mut operations, delete, delete_peak, delete_half);

    Ok(DatabaseRun {
        accounts: seeded.shape.accounts,
        users: seeded.shape.users,
        bench_account_users: seeded.shape.bench_users,
        seed_seconds: seeded.seconds,
        operations,
        peak_resident_mib: server.peak_resident_mib()?,
    })
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a default HTTP client builds")
}

fn fetch_token(base: &str) -> Result<String> {
    let answer: serde_json::Value = client()
        .post(format!("{base}/oauth/token"))
        .json(&serde_json::json!({
            "client_id": BENCH_APP_KEY,
            "client_secret": BENCH_SECRET,
            "grant_type": "client_credentials",
        }))
        .send()?
        .error_for_status()?
        .json()?;
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("the token answer has no access_token")
}

fn list(base: &str, token: &str, page: u64, count: u64) -> Result<serde_json::Value> {
    Ok(client()
        .get(format!(
            "{base}/apps/{BENCH_APP_KEY}/account_users?page={page}&count={count}"
        ))
        .bearer_auth(token)
        .send()?
        .error_for_status()?
        .json()?)
}

fn user_total(base: &str, token: &str) -> Result<u64> {
    list(base, token, 1, 1)?["response"]["pagination"]["total"]
        .as_u64()
        .context("the listing has no pagination.total")
}

/// The id of the benchmarked account's newest user, from the last page of the listing.
fn last_user_id(base: &str, token: &str) -> Result<i64> {
    let total = user_total(base, token)?;
    let page = list(base, token, total.max(1), 1)?;
    page["response"]["account_users"][0]["id"]
        .as_i64()
        .context("the last page has no user")
}
