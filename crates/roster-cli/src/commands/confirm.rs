//! Asking before an irreversible step.

use std::io::{self, BufRead, IsTerminal, Write};

use super::{exit, Exit};

/// Goes ahead when `yes` was given, or when a person at a terminal answers "y".
pub fn confirm(yes: bool, question: &str) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    ensure_someone_to_ask(question)?;
    ask(question)
}

/// Without a terminal on stdin there is nobody to ask, so this refuses rather than
/// guess: a script must say `--yes`.
pub fn ensure_someone_to_ask(question: &str) -> anyhow::Result<()> {
    if io::stdin().is_terminal() {
        return Ok(());
    }
    Err(Exit {
        code: exit::USAGE,
        message: format!(
            "refusing to go on without confirmation ({question}): stdin is not a terminal, \
             so pass --yes"
        ),
    }
    .into())
}

/// Asks on stderr and reads the answer from stdin; anything but "y" or "yes" stops.
pub fn ask(question: &str) -> anyhow::Result<()> {
    eprint!("{question} [y/N] ");
    io::stderr().flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
        return Ok(());
    }
    Err(Exit {
        code: exit::FAILURE,
        message: "not confirmed; nothing was changed".into(),
    }
    .into())
}
