//! Asking before an irreversible step.

use std::io::{self, BufRead, IsTerminal};

use super::{exit, Exit};

/// Goes ahead when `yes` was given, or when a person at a terminal answers "y" to
/// "`action`?", e.g. "delete user 7 (bo@example.com, role staff)".
pub fn confirm(yes: bool, action: &str) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    ensure_someone_to_ask(action)?;
    ask(action)
}

/// Without a terminal on stdin there is nobody to ask, so this refuses rather than
/// guess: a script must say `--yes`.
pub fn ensure_someone_to_ask(action: &str) -> anyhow::Result<()> {
    if io::stdin().is_terminal() {
        return Ok(());
    }
    Err(Exit {
        code: exit::USAGE,
        message: format!(
            "refusing to {action} without confirmation: stdin is not a terminal to ask on, \
             so pass --yes to go ahead"
        ),
    }
    .into())
}

/// Asks on stderr and reads the answer from stdin; anything but "y" or "yes" stops.
pub fn ask(action: &str) -> anyhow::Result<()> {
    let mut letters = action.chars();
    let question = match letters.next() {
        Some(first) => format!("{}{}?", first.to_uppercase(), letters.as_str()),
        None => "Go ahead?".to_owned(),
    };
    crate::console::prompt(&format!("{question} This cannot be undone. [y/N] "));

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
