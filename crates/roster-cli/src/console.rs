//! Lines for the person or program at the other end, written without panicking.
//!
//! `println!` and `eprintln!` panic when their stream is closed, as it is under
//! `roster serve 2>&1 | head -3` once `head` has exited. A message that cannot be
//! written is dropped, since there is nowhere left to report it; data on stdout whose
//! reader went away (`| head`) ends the output quietly, and any other failure to write
//! data is an error. Clippy's `print_stdout` and `print_stderr` lints keep the crate
//! to these.

use std::{
    fmt,
    io::{self, Write},
};

/// A message line on stderr: progress, warnings, errors.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::console::message(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// A line of data on stdout, as `anyhow::Result<()>`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::console::data(format_args!($($arg)*))
    };
}
pub(crate) use out;

pub fn message(args: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{args}");
}

/// A question on stderr, left open for the answer on the same line.
pub fn prompt(text: &str) {
    let mut stderr = io::stderr().lock();
    let _ = write!(stderr, "{text}");
    let _ = stderr.flush();
}

pub fn data(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    let written = writeln!(stdout, "{args}").and_then(|()| stdout.flush());
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Text already formatted as a whole, such as a document, on stdout.
pub fn data_text(text: &str) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
