//! The tables the harness prints, and the JSON document it writes.

use serde::Serialize;

use crate::DatabaseRun;

/// Resident memory the server should stay under at peak load.
const MEMORY_TARGET_MIB: f64 = 100.0;
/// The p99 latency the server should stay under at half of its peak rate.
const HALF_LOAD_P99_TARGET_MS: f64 = 5.0;
/// How much worse a ratio may get on the large database than on the small one.
const SCALE_TARGET: f64 = 1.5;

#[derive(Serialize)]
pub struct Report {
    pub machine: Machine,
    pub date: String,
    pub seconds_per_run: u32,
    pub connections: u32,
    pub runs: Vec<DatabaseRun>,
}

#[derive(Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
}

impl Machine {
    fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_owned())
            .unwrap_or_default();
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: memory_kib / 1024.0 / 1024.0,
            kernel,
        }
    }
}

impl Report {
    pub fn new(runs: Vec<DatabaseRun>, seconds_per_run: u32, connections: u32) -> Report {
        Report {
            machine: Machine::read(),
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            seconds_per_run,
            connections,
            runs,
        }
    }

    /// Requests that failed over every run.
    pub fn errors(&self) -> u64 {
        self.runs
            .iter()
            .flat_map(|r| &r.operations)
            .map(|m| m.peak.errors() + m.half_load.errors())
            .sum()
    }

    pub fn print_summary(&self) {
        let m = &self.machine;
        println!(
            "machine: {}, {} cores, {:.0} GiB, Linux {}; {} s a run, {} connections, wrk -t1",
            m.cpu, m.cores, m.memory_gib, m.kernel, self.seconds_per_run, self.connections
        );
        let [small, large] = &self.runs[..] else {
            return;
        };
        println!();
        println!(
            "scale: ratio on {} users over ratio on {} users (target: at most {SCALE_TARGET}x worse)",
            large.users, small.users
        );
        println!(
            "{:<36} {:>8} {:>8} {:>8}",
            "operation", "small", "large", "worse by"
        );
        for op in &small.operations {
            let Some(big) = large.operations.iter().find(|o| o.key == op.key) else {
                continue;
            };
            let worse = op.ratio / big.ratio;
            println!(
                "{:<36} {:>8.3} {:>8.3} {:>7.2}x{}",
                op.label,
                op.ratio,
                big.ratio,
                worse,
                if worse > SCALE_TARGET { "  MISSED" } else { "" }
            );
        }
        let first = large.operations.iter().find(|o| o.key == "list_page_1");
        let deep = large.operations.iter().find(|o| o.key == "list_page_deep");
        if let (Some(first), Some(deep)) = (first, deep) {
            println!(
                "{} costs {:.2}x {}",
                deep.label,
                first.peak.requests_per_second / deep.peak.requests_per_second,
                first.label
            );
        }
    }
}

pub fn print_database(run: &DatabaseRun) {
    println!();
    println!(
        "database: {} users in {} accounts, the measured one holding {} ({} pages of 100; seeded in {:.1} s)",
        run.users,
        run.accounts,
        run.bench_account_users,
        run.bench_account_users.div_ceil(100),
        run.seed_seconds
    );
    println!(
        "{:<36} {:>9} {:>7} {:>7} {:>6} {:>7}   {:>9} {:>8}",
        "operation", "req/s", "p50 ms", "p99 ms", "ratio", "target", "half req/s", "p99 ms"
    );
    for op in &run.operations {
        let target = match op.target {
            Some(t) if op.ratio >= t => format!("{t:.2} ok"),
            Some(t) => format!("{t:.2} MISSED"),
            None => String::new(),
        };
        let half_mark = if op.half_load.p99_ms > HALF_LOAD_P99_TARGET_MS {
            " MISSED"
        } else {
            ""
        };
        println!(
            "{:<36} {:>9.0} {:>7.2} {:>7.2} {:>6.3} {:>7}   {:>9.0} {:>8.2}{}{}",
            op.label,
            op.peak.requests_per_second,
            op.peak.p50_ms,
            op.peak.p99_ms,
            op.ratio,
            target,
            op.half_load.requests_per_second,
            op.half_load.p99_ms,
            half_mark,
            if op.peak.errors() + op.half_load.errors() > 0 {
                format!("  {} FAILED", op.peak.errors() + op.half_load.errors())
            } else {
                String::new()
            }
        );
    }
    println!(
        "peak resident memory: {:.1} MiB (target: under {MEMORY_TARGET_MIB:.0}){}",
        run.peak_resident_mib,
        if run.peak_resident_mib >= MEMORY_TARGET_MIB {
            " MISSED"
        } else {
            ""
        }
    );
}
