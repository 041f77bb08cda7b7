//! `roster audit`: every user of the account, walked over all pages.

use std::{
    io::{BufWriter, IsTerminal, Write},
    path::{Path, PathBuf},
};

use anyhow::Context;
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use roster_client::{AccountUser, Client, ListSummary};

use super::{
    exit,
    output::{self, Format},
    remote::{failed, remote_help, RemoteArgs},
    Exit,
};
use crate::console::say;

/// List every user, with a progress bar on stderr, as CSV or JSON.
///
/// The walk reads pages of 100 until a short one. When users are added or removed
/// meanwhile, a warning on stderr says so: the list may then miss someone added, or
/// hold someone removed, and running it again gives an exact list.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n  roster audit --output csv > users.csv\n  \
     roster audit --output json --out users.json\n\n",
    remote_help!()
))]
pub struct AuditArgs {
    /// The format of the list.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    output: Format,

    /// Write the list to this file instead of stdout. The file is replaced whole, once
    /// the walk is complete, and is readable by its owner only (it holds email
    /// addresses).
    #[arg(long)]
    out: Option<PathBuf>,

    #[command(flatten)]
    remote: RemoteArgs,
}

pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let client = args.remote.client()?;
    // Before the walk, which reads every page: a folder that cannot be written in is
    // better found out at once than after the last page.
    let destination = args.out.as_deref().map(AtomicFile::prepare).transpose()?;

    let users = walk(&client).await?;

    match (destination, &args.out) {
        (Some(file), Some(path)) => {
            file.finish(|out| output::write_many(out, args.output, &users))?;
            say!("wrote {} users to {}", users.len(), path.display());
            Ok(())
        }
        _ => output::print_many(args.output, &users),
    }
}

/// Every user, in id order, with a progress bar on stderr (when it is a terminal) and
/// a warning when the directory moved during the walk.
pub async fn walk(client: &Client) -> anyhow::Result<Vec<AccountUser>> {
    let mut stream = client.list_all();
    let progress = stream.progress();
    let bar = progress_bar();

    let mut users = Vec::new();
    while let Some(user) = stream.try_next().await.map_err(|e| {
        bar.abandon();
        failed(e)
    })? {
        users.push(user);

        let done = progress.snapshot();
        bar.set_length(done.total.unwrap_or(0).max(done.users));
        bar.set_position(done.users);
    }
    bar.finish_and_clear();

    // Pages come in id order, but users that shifted between two pages may arrive late.
    users.sort_by_key(|user| user.id);

    let summary = stream
        .summary()
        .expect("a walk that ended without error has a summary");
    report(&summary);
    Ok(users)
}

fn progress_bar() -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} users, {eta} left")
            .expect("the template is valid"),
    );
    bar
}

fn report(summary: &ListSummary) {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    say!(
        "{} in {}",
        plural(summary.users, "user", "users"),
        plural(summary.pages, "page", "pages")
    );
    if !summary.changed_during_walk() {
        return;
    }

    let what = if summary.total_moved {
        format!(
            "the total went from {} to {} during the walk",
            summary.first_total, summary.last_total
        )
    } else {
        format!(
            "the server counts {} users but {} were listed",
            summary.last_total, summary.users
        )
    };
    say!(
        "warning: the directory changed during the audit ({what}); users added or removed \
         meanwhile may be missing or listed though gone. Run it again for an exact list."
    );
}

/// A file that is never seen half-written: written into a temporary file beside it,
/// then renamed over it.
struct AtomicFile {
    path: PathBuf,
    temporary: tempfile::NamedTempFile,
}

impl AtomicFile {
    /// Creates the temporary file, which proves the folder can be written in.
    fn prepare(path: &Path) -> anyhow::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temporary = tempfile::NamedTempFile::new_in(dir).map_err(|e| Exit {
            code: exit::USAGE,
            message: format!(
                "cannot write {} ({e}); give --out a file in a folder that exists and \
                 that you may write in",
                path.display()
            ),
        })?;
        Ok(AtomicFile {
            path: path.to_owned(),
            temporary,
        })
    }

    fn finish(
        self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        let path = self.path;
        let mut out = BufWriter::new(self.temporary);
        write(&mut out).with_context(|| format!("cannot write {}", path.display()))?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.as_file().sync_all()?;
        file.persist(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}
