//! `roster login`: check a server, app key and secret, and save them as a profile.

use std::{
    io::{self, BufRead, IsTerminal},
    time::Duration,
};

use anyhow::Context;
use roster_client::{Client, ClientConfig};

use super::{
    exit,
    profile::{self, Profile},
    remote::failed,
    Exit,
};
use crate::console::say;

/// Ask for a server's base URL, an app key and its secret, check them by signing in,
/// and save them in the profile file for the other commands.
///
/// The secret is read without echo on a terminal. When stdin is not a terminal, the
/// answers are read from it one line each, in order (base URL, app key, secret),
/// leaving out those given as flags. The file is written readable by its owner only.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  roster login\n  \
    roster login --profile prod --base-url https://api.yotpo.com --app-key APP_KEY\n  \
    printf '%s\\n' \"$ROSTER_SECRET\" | roster login --base-url http://127.0.0.1:8080 \\\n    \
    --app-key demo\n\n\
    The file is ROSTER_PROFILE when set, else $XDG_CONFIG_HOME/roster/profile.toml,\n\
    else ~/.config/roster/profile.toml; it holds one table per profile name.\n\n\
    Exit codes: 0 saved, 1 the server refused the credentials or failed, 2 usage.")]
pub struct LoginArgs {
    /// The name to save the profile under; the file's other profiles are kept.
    #[arg(long, env = "ROSTER_PROFILE_NAME", default_value = profile::DEFAULT_NAME)]
    profile: String,

    /// The server's root URL; asked for when left out.
    #[arg(long)]
    base_url: Option<String>,

    /// The app key; asked for when left out.
    #[arg(long)]
    app_key: Option<String>,
}

const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";

pub async fn run(args: LoginArgs) -> anyhow::Result<()> {
    let mut answers = Answers::new();
    let base_url = match args.base_url {
        Some(url) => url,
        None => answers.line(&format!("Base URL [{DEFAULT_BASE_URL}]: "))?,
    };
    let base_url = if base_url.is_empty() {
        DEFAULT_BASE_URL.to_owned()
    } else {
        base_url
    };
    let app_key = match args.app_key {
        Some(key) => key,
        None => answers.line("App key: ")?,
    };
    let secret = answers.secret("Secret (not shown): ")?;
    if app_key.is_empty() || secret.is_empty() {
        return Err(Exit {
            code: exit::USAGE,
            message: "an app key and a secret are needed; nothing was saved".into(),
        }
        .into());
    }

    check(&base_url, &app_key, &secret).await?;

    let profile = Profile {
        base_url,
        app_key,
        secret,
    };
    let path = profile::save(&args.profile, profile)?;
    say!(
        "signed in; saved profile {:?} in {} (readable by you only)",
        args.profile,
        path.display()
    );
    Ok(())
}

/// Signs in and reads one user, which proves the secret and that the app key names an
/// account on this server.
async fn check(base_url: &str, app_key: &str, secret: &str) -> anyhow::Result<()> {
    let config =
        ClientConfig::new(base_url, app_key, secret).with_retry_limits(3, Duration::from_secs(30));
    let client = Client::new(config).map_err(failed)?;
    client
        .list_page(1, 1)
        .await
        .map_err(failed)
        .context("the credentials do not work; nothing was saved")?;
    Ok(())
}

/// The answers to the questions: from a person at a terminal, or from piped lines.
struct Answers {
    terminal: bool,
    lines: io::Lines<io::StdinLock<'static>>,
}

impl Answers {
    fn new() -> Answers {
        Answers {
            terminal: io::stdin().is_terminal(),
            lines: io::stdin().lock().lines(),
        }
    }

    fn line(&mut self, prompt: &str) -> anyhow::Result<String> {
        if self.terminal {
            crate::console::prompt(prompt);
        }
        match self.lines.next() {
            Some(line) => Ok(line?.trim().to_owned()),
            None => Err(Exit {
                code: exit::USAGE,
                message: format!(
                    "stdin ended before the answer to {:?}; nothing was saved",
                    prompt.trim_end_matches([' ', ':'])
                ),
            }
            .into()),
        }
    }

    fn secret(&mut self, prompt: &str) -> anyhow::Result<String> {
        if !self.terminal {
            return self.line(prompt);
        }
        let secret = rpassword::prompt_password(prompt).context("cannot read the secret")?;
        Ok(secret.trim().to_owned())
    }
}
