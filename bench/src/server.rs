//! The `roster serve` under test: started on a free loopback port over a seeded file,
//! its log kept in a file, its peak resident memory read from `/proc`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

pub struct Server {
    child: Child,
    pub base_url: String,
}

/// A limit far above what one machine can send, so that the rate limiter does its work
/// on every request, as in production, without ever refusing one.
const UNREACHABLE_LIMIT: &str = "1000000000";

impl Server {
    pub fn start(binary: &Path, database: &Path, log: &Path) -> Result<Server> {
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--listen=127.0.0.1:0")
            .arg(format!("--database-url=sqlite://{}", database.display()))
            .arg(format!("--rate-limit={UNREACHABLE_LIMIT}"))
            .arg(format!("--token-rate-limit={UNREACHABLE_LIMIT}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;

        let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let mut log = std::fs::File::create(log)?;
        let mut line = String::new();
        let address = loop {
            line.clear();
            if stderr.read_line(&mut line)? == 0 {
                let _ = child.wait();
                bail!("roster serve exited before it listened; see its log");
            }
            log.write_all(line.as_bytes())?;
            if let Some(address) = line.trim().strip_prefix("roster listening on ") {
                break address.to_owned();
            }
        };
        // The rest of the log goes on to the file, so that the server never blocks on
        // a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut log));

        Ok(Server {
            child,
            base_url: address,
        })
    }

    /// The most memory the server has held resident since it started (`VmHWM`), in MiB.
    pub fn peak_resident_mib(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmHWM in /proc status")?;
        Ok(kib / 1024.0)
    }

    /// Asks the server to drain and exit, as an operator would with SIGTERM.
    pub fn stop(mut self) -> Result<()> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()?;
        for _ in 0..100 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child.kill()?;
        bail!("roster serve did not exit within 10 s of SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
