//! Load from `wrk`: one Lua script an operation, figures read back from the script's
//! `done` hook as one JSON line.
//!
//! Every operation, the `/healthz` ceiling included, builds its requests in a Lua
//! `request` function, so that the load generator's own cost, which shares the machine's
//! cores with the server, is the same for all of them and cancels out of the ratios.

use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// How hard to push.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    pub connections: u32,
    pub seconds: u32,
    /// Each connection waits this long before sending its next request, which caps the
    /// rate at about `connections * 1000 / delay_ms` a second. `None` is flat out.
    pub delay_ms: Option<u32>,
}

impl Load {
    /// As many requests a second as `connections` can send flat out.
    pub fn peak(connections: u32, seconds: u32) -> Load {
        Load {
            connections,
            seconds,
            delay_ms: None,
        }
    }

    /// About `rate` requests a second. wrk's delays are whole milliseconds, so the
    /// rate is set by the number of connections, each waiting 10 ms between requests.
    pub fn paced(rate: f64, seconds: u32) -> Load {
        const DELAY_MS: u32 = 10;
        let connections = (rate * f64::from(DELAY_MS) / 1000.0)
            .round()
            .clamp(1.0, 2000.0);
        Load {
            connections: connections as u32,
            seconds,
            delay_ms: Some(DELAY_MS),
        }
    }
}

/// What one run of wrk measured.
#[derive(Clone, Debug, Serialize)]
pub struct Figures {
    pub requests: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Answers that were not 2xx or 3xx.
    pub status_errors: u64,
    /// Connections refused or broken, and requests unanswered after five seconds.
    pub socket_errors: u64,
}

impl Figures {
    pub fn errors(&self) -> u64 {
        self.status_errors + self.socket_errors
    }
}

/// The line the script's `done` hook prints.
#[derive(Deserialize)]
struct DoneLine {
    requests: u64,
    duration_us: f64,
    status_errors: u64,
    socket_errors: u64,
    p50_us: f64,
    p99_us: f64,
}

const DONE_MARK: &str = "BENCH-FIGURES ";

/// Runs wrk against `base_url` with `request_script`, a Lua chunk that defines
/// `request()`.
pub fn run(base_url: &str, request_script: &str, load: Load) -> Result<Figures> {
    let script = full_script(request_script, load.delay_ms);
    let file = std::env::temp_dir().join(format!("roster-bench-{}.lua", std::process::id()));
    std::fs::write(&file, script)?;

    let output = Command::new("wrk")
        .arg("--threads=1")
        .arg(format!("--connections={}", load.connections))
        .arg(format!("--duration={}s", load.seconds))
        .arg("--timeout=5s")
        .arg(format!("--script={}", file.display()))
        .arg(base_url)
        .output()
        .context("cannot run wrk; bench/run installs it")?;
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(DONE_MARK))
        .with_context(|| format!("wrk printed no figures: {stdout}"))?;
    let done: DoneLine = serde_json::from_str(line)?;
    let seconds = done.duration_us / 1e6;
    Ok(Figures {
        requests: done.requests,
        requests_per_second: done.requests as f64 / seconds,
        p50_ms: done.p50_us / 1000.0,
        p99_ms: done.p99_us / 1000.0,
        status_errors: done.status_errors,
        socket_errors: done.socket_errors,
    })
}

fn full_script(request_script: &str, delay_ms: Option<u32>) -> String {
    let mut script = String::new();
    script.push_str("math.randomseed(os.time())\n");
    script.push_str(request_script);
    script.push('\n');
    if let Some(ms) = delay_ms {
        script.push_str(&format!("delay = function() return {ms} end\n"));
    }
    script.push_str(&format!(
        r#"done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{DONE_MARK}{{"requests":%d,"duration_us":%.0f,"status_errors":%d,"socket_errors":%d,"p50_us":%.0f,"p99_us":%.0f}}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#
    ));
    script
}

/// A Lua string literal holding `text`.
pub fn lua_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '\n' => quoted.push_str("\\n"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}
