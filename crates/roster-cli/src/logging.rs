//! Logs on stderr: human-readable by default, one JSON object a line on request.
//!
//! `RUST_LOG` overrides the default level (`info`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// PostgreSQL's notices below warning, which sqlx logs at info: every start that finds
/// the schema in place says "relation \"_sqlx_migrations\" already exists", which is
/// nothing an operator acts on.
const QUIET_NOTICES: &str = "sqlx::postgres::notice=warn";

pub fn init(format: LogFormat) {
    let wanted = directives(std::env::var("RUST_LOG").ok().as_deref());
    let filter = EnvFilter::try_new(&wanted).unwrap_or_else(|_| EnvFilter::new(directives(None)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // A line that cannot be written is dropped; reporting it would write to the
        // same closed stderr (`roster serve 2>&1 | head`).
        .log_internal_errors(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// The filter for `RUST_LOG`'s value: `info` when unset, and PostgreSQL's notices
/// quiet unless it says something of sqlx itself.
fn directives(rust_log: Option<&str>) -> String {
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        None => format!("info,{QUIET_NOTICES}"),
        Some(given) if given.contains("sqlx") => given.to_owned(),
        Some(given) => format!("{given},{QUIET_NOTICES}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_notices_are_quiet_by_default_and_under_a_plain_level() {
        assert_eq!(directives(None), "info,sqlx::postgres::notice=warn");
        assert_eq!(directives(Some("")), "info,sqlx::postgres::notice=warn");
        assert_eq!(
            directives(Some("debug")),
            "debug,sqlx::postgres::notice=warn"
        );
    }

    #[test]
    fn a_filter_that_names_sqlx_is_kept_as_given() {
        assert_eq!(directives(Some("info,sqlx=debug")), "info,sqlx=debug");
    }
}
