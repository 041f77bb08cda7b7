//! Audit benchmark: lists 10,000 users from an in-process stand-in limited to 20
//! requests a second (429 with no header beyond that), once with the client paced to
//! the limit and once unpaced, relying on backoff alone, for comparison.
//!
//! Prints the achieved request rate as a fraction of the limit (target: at least 0.9 when
//! paced), the 429s the server sent, and the failed requests (target: 0).
//!
//! Run with `cargo run -p roster-client --example audit_bench`. It takes about 15 s.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use roster_client::{Client, ClientConfig};
use support::{Hostility, StandIn, APP_KEY, SECRET};

const USERS: u32 = 10_000;
const LIMIT: u32 = 20;

#[tokio::main]
async fn main() {
    println!("audit of {USERS} users, server limited to {LIMIT} requests/s, page size 100");
    println!();
    run("paced to the limit", Some(LIMIT)).await;
    // The server's bucket starts full with a second's worth of requests, which an
    // unpaced client spends at once; over a run this short that puts it above the limit.
    run(
        "unpaced, backoff only (spends the server's initial burst)",
        None,
    )
    .await;
}

async fn run(label: &str, pace: Option<u32>) {
    let server = StandIn::start(Hostility {
        rate_limit: Some(LIMIT),
        ..Hostility::default()
    })
    .await;
    server.seed_users(USERS);

    // The client's production defaults, but for the pace.
    let config = ClientConfig::new(&server.base_url, APP_KEY, SECRET).with_pace(pace.unwrap_or(0));
    let client = Client::new(config).expect("a valid configuration");

    let started = Instant::now();
    let result = client.list_all().collect_all().await;
    let elapsed = started.elapsed();

    let counts = server.counts();
    let stats = client.stats();
    let rate = counts.requests as f64 / elapsed.as_secs_f64();
    let good = counts.requests - counts.throttled;
    let failed_requests = stats.transport_errors + stats.server_errors;

    println!("{label}:");
    println!("  elapsed                 {:.2} s", secs(elapsed));
    println!(
        "  requests received       {} ({} token, {} answered 429)",
        counts.requests, counts.token_requests, counts.throttled
    );
    println!(
        "  request rate            {rate:.2}/s = {:.3} of the limit",
        rate / f64::from(LIMIT)
    );
    println!(
        "  useful rate             {:.2}/s = {:.3} of the limit",
        good as f64 / secs(elapsed),
        good as f64 / secs(elapsed) / f64::from(LIMIT)
    );
    println!("  429s seen by the client {}", stats.throttled);
    println!("  failed requests         {failed_requests} (transport errors and 5xx)");
    match result {
        Ok(listing) => {
            let s = listing.summary;
            println!(
                "  audit                   complete: {} users in {} pages, total moved: {}",
                s.users, s.pages, s.total_moved
            );
        }
        Err(error) => println!("  audit                   FAILED: {error}"),
    }
    println!();
}

fn secs(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64()
}
