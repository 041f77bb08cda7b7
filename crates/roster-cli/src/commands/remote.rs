//! What the toolkit commands share: how to reach a server, and what a client error means
//! as an exit code.
//!
//! Each setting comes from a flag, else its `ROSTER_*` variable, else the profile that
//! `roster login` wrote. The secret has no flag, so that it never lands in shell history
//! or in the process list: it comes from `ROSTER_SECRET` or the profile.

use std::time::Duration;

use roster_client::{Client, ClientConfig};

use super::{exit, profile, Exit};

/// The configuration text every toolkit command shows under `--help`.
macro_rules! remote_help {
    () => {
        "Configuration: --base-url or ROSTER_BASE_URL, --app-key or ROSTER_APP_KEY, and\n\
         the secret from ROSTER_SECRET (never a flag). Whatever is missing comes from the\n\
         profile that `roster login` wrote (--profile NAME; the file is ROSTER_PROFILE, or\n\
         $XDG_CONFIG_HOME/roster/profile.toml). Flags beat variables, variables beat the\n\
         profile.\n\n\
         Exit codes: 0 done, 1 failure (server, network), 2 usage (bad flags or input),\n\
         3 not found, 4 conflict (refused as things stand)."
    };
}
pub(crate) use remote_help;

/// Where the server is and how patient to be with it.
#[derive(Clone, Debug, clap::Args)]
pub struct RemoteArgs {
    /// The server's root URL, e.g. http://127.0.0.1:8080 or https://api.yotpo.com.
    // A URL may hold credentials (https://user:password@host), so --help does not show
    // the variable's value.
    #[arg(long, global = true, env = "ROSTER_BASE_URL", hide_env_values = true)]
    pub base_url: Option<String>,

    /// The account's app key (the OAuth client id).
    #[arg(long, global = true, env = "ROSTER_APP_KEY")]
    pub app_key: Option<String>,

    /// The profile to read what is not given otherwise.
    #[arg(
        long,
        global = true,
        env = "ROSTER_PROFILE_NAME",
        default_value = profile::DEFAULT_NAME
    )]
    pub profile: String,

    /// Requests a second never to exceed, set below the server's known limit (0: no
    /// pacing). The pace holds within one process only.
    #[arg(long, global = true, env = "ROSTER_PACE", default_value_t = 0)]
    pub pace: u32,

    /// Attempts per call, the first included, on 429s, 5xx and connection errors.
    #[arg(long, global = true, env = "ROSTER_MAX_ATTEMPTS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: u32,

    /// Seconds a call may spend retrying, waits included, before giving up.
    #[arg(
        long,
        global = true,
        env = "ROSTER_MAX_RETRY_TIME",
        default_value_t = 120
    )]
    pub max_retry_time: u64,
}

impl RemoteArgs {
    /// The client for these settings. Reads the profile only for what flags and
    /// variables left open.
    pub fn client(&self) -> anyhow::Result<Client> {
        let mut base_url = self.base_url.clone();
        let mut app_key = self.app_key.clone();
        let mut secret = std::env::var("ROSTER_SECRET")
            .ok()
            .filter(|s| !s.is_empty());
        let mut withheld = None;

        if base_url.is_none() || app_key.is_none() || secret.is_none() {
            if let Some(saved) = profile::load(&self.profile)? {
                // The saved secret belongs to the saved server and key: it is never sent
                // to another server that a flag or variable named.
                let same_account = base_url.as_ref().is_none_or(|b| *b == saved.base_url)
                    && app_key.as_ref().is_none_or(|k| *k == saved.app_key);
                if same_account {
                    secret = secret.or(Some(saved.secret));
                } else {
                    withheld = Some(format!(
                        "profile {:?} holds the secret of {} on {} only",
                        self.profile, saved.app_key, saved.base_url
                    ));
                }
                base_url = base_url.or(Some(saved.base_url));
                app_key = app_key.or(Some(saved.app_key));
            }
        }

        let missing = |what: &str, how: &str| Exit {
            code: exit::USAGE,
            message: format!("no {what} given: {how}, or run `roster login` to save a profile"),
        };
        let base_url =
            base_url.ok_or_else(|| missing("server", "pass --base-url or set ROSTER_BASE_URL"))?;
        let app_key =
            app_key.ok_or_else(|| missing("app key", "pass --app-key or set ROSTER_APP_KEY"))?;
        let secret = secret.ok_or_else(|| match withheld {
            Some(why) => Exit {
                code: exit::USAGE,
                message: format!("no secret given for this server: {why}; set ROSTER_SECRET"),
            },
            None => missing("secret", "set ROSTER_SECRET"),
        })?;

        let config = ClientConfig::new(base_url, app_key, secret)
            .with_pace(self.pace)
            .with_retry_limits(self.max_attempts, Duration::from_secs(self.max_retry_time));
        Client::new(config).map_err(|e| {
            Exit {
                code: exit::USAGE,
                message: e.to_string(),
            }
            .into()
        })
    }
}

/// A client error with the exit code that tells a script what happened.
pub fn failed(error: roster_client::Error) -> anyhow::Error {
    let code = match error.status() {
        Some(404) => exit::NOT_FOUND,
        Some(409) => exit::CONFLICT,
        // The server found fault with what was sent: an unknown role, a bad address.
        Some(400 | 422) => exit::USAGE,
        _ => exit::FAILURE,
    };
    Exit {
        code,
        message: error.to_string(),
    }
    .into()
}
