//! Records on stdout (or in a file) as an aligned table, JSON or CSV.

use std::io::{self, Write};

use roster_client::AccountUser;
use serde::Serialize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for reading.
    #[default]
    Table,
    /// One JSON array of objects (one object for a single record).
    Json,
    /// A header line, then one line per record.
    Csv,
}

/// Something with columns: its JSON form is its serde form.
pub trait Record: Serialize {
    const HEADERS: &'static [&'static str];

    fn cells(&self) -> Vec<String>;
}

impl Record for AccountUser {
    const HEADERS: &'static [&'static str] = &[
        "id",
        "email",
        "name",
        "role",
        "active",
        "created_at",
        "updated_at",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.email.clone(),
            self.name.clone().unwrap_or_default(),
            self.role.clone(),
            self.active.to_string(),
            self.created_at.clone(),
            self.updated_at.clone(),
        ]
    }
}

/// Prints records on stdout. A reader that went away (`| head`) is not an error.
pub fn print_many<R: Record>(format: Format, records: &[R]) -> anyhow::Result<()> {
    ignore_closed_pipe(write_many(io::stdout().lock(), format, records))
}

/// Prints one record on stdout; as JSON it is an object, not an array.
pub fn print_one<R: Record>(format: Format, record: &R) -> anyhow::Result<()> {
    let written = match format {
        Format::Json => write_json(io::stdout().lock(), record),
        _ => write_many(io::stdout().lock(), format, std::slice::from_ref(record)),
    };
    ignore_closed_pipe(written)
}

pub fn write_many<R: Record, W: Write>(out: W, format: Format, records: &[R]) -> io::Result<()> {
    match format {
        Format::Table => write_table(out, records),
        Format::Json => write_json(out, &records),
        Format::Csv => write_csv(out, records),
    }
}

fn write_table<R: Record, W: Write>(mut out: W, records: &[R]) -> io::Result<()> {
    let rows: Vec<Vec<String>> = records.iter().map(Record::cells).collect();
    let mut widths: Vec<usize> = R::HEADERS.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }

    let headers: Vec<String> = R::HEADERS.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&headers).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let pad = width - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    out.flush()
}

fn write_json<T: Serialize + ?Sized, W: Write>(mut out: W, value: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()
}

fn write_csv<R: Record, W: Write>(out: W, records: &[R]) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(R::HEADERS)?;
    for record in records {
        writer.write_record(record.cells())?;
    }
    writer.flush()
}

fn ignore_closed_pipe(written: io::Result<()>) -> anyhow::Result<()> {
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
