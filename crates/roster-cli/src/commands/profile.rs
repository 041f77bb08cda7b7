//! The profile file: saved server, app key and secret, one TOML table per profile name.
//!
//! It lives at `ROSTER_PROFILE` when set, else `$XDG_CONFIG_HOME/roster/profile.toml`,
//! else `~/.config/roster/profile.toml`, and is written with mode 0600 in a folder of
//! mode 0700, since it holds a secret.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{exit, Exit};
use crate::console::say;

pub const DEFAULT_NAME: &str = "default";

/// One saved account on one server.
#[derive(Clone, Deserialize, Serialize)]
pub struct Profile {
    pub base_url: String,
    pub app_key: String,
    pub secret: String,
}

/// Keeps the secret out of any `{:?}`.
impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("base_url", &self.base_url)
            .field("app_key", &self.app_key)
            .finish_non_exhaustive()
    }
}

type Profiles = BTreeMap<String, Profile>;

/// Where the profile file is, or an error saying how to name one.
pub fn path() -> anyhow::Result<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = var("ROSTER_PROFILE") {
        return Ok(PathBuf::from(path));
    }
    let config = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".config")));
    match config {
        Some(dir) => Ok(dir.join("roster").join("profile.toml")),
        None => Err(Exit {
            code: exit::USAGE,
            message: "cannot tell where the profile file goes: set ROSTER_PROFILE to its path"
                .into(),
        }
        .into()),
    }
}

/// The profile of this name, or `None` when there is no file or no such profile in it.
pub fn load(name: &str) -> anyhow::Result<Option<Profile>> {
    let path = path()?;
    let Some(mut profiles) = read(&path)? else {
        return Ok(None);
    };
    warn_if_readable_by_others(&path);
    Ok(profiles.remove(name))
}

/// Adds or replaces the profile of this name, keeping the others, and returns the path.
pub fn save(name: &str, profile: Profile) -> anyhow::Result<PathBuf> {
    let path = path()?;
    let mut profiles = read(&path)?.unwrap_or_default();
    profiles.insert(name.to_owned(), profile);
    let text = toml::to_string(&profiles).context("cannot write the profile as TOML")?;

    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&dir)?;

    // A temporary file is created readable by its owner only, and the rename replaces
    // the old profile at once: no moment exists when the secret is readable by others
    // or the file is half written.
    let mut file = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    restrict(file.as_file())?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn read(path: &Path) -> anyhow::Result<Option<Profiles>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let profiles = toml::from_str(&text).map_err(|e| Exit {
        code: exit::USAGE,
        message: format!(
            "{} is not a profile file ({}); fix it or run `roster login` again",
            path.display(),
            e.message()
        ),
    })?;
    Ok(Some(profiles))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;

    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(unix)]
fn restrict(file: &std::fs::File) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;

    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_file: &std::fs::File) -> anyhow::Result<()> {
    Ok(())
}

/// Says so on stderr when group or others may read the secret, as ssh does for keys.
#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;

    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            say!(
                "warning: {} holds a secret but has mode {mode:o}; run chmod 600 on it",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}
