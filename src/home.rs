//! HOME_DIR (SPEC §2): which directory, created 0700, and refused when others could write to it.

use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use guardian_parser::scan::Platform;

use crate::config::Env;
use crate::error::{Error, Result};

/// The files under HOME_DIR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Home {
    /// HOME_DIR itself.
    pub dir: PathBuf,
    /// Where `findings.jsonl` and `guardian.log` go (`<P>_TRAFFIC_GUARDIAN_LOG_DIR`, else HOME_DIR).
    pub log_dir: PathBuf,
}

impl Home {
    /// `findings.jsonl`.
    pub fn findings(&self) -> PathBuf {
        self.log_dir.join("findings.jsonl")
    }
    /// `guardian.log`.
    pub fn log(&self) -> PathBuf {
        self.log_dir.join("guardian.log")
    }
    /// `state.json`.
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    /// `config.json`.
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.json")
    }
}

/// HOME_DIR by precedence: `--home` > `GUARDIAN_HOME` > `<P>_TRAFFIC_GUARDIAN_HOME` > the
/// platform default. `platform` is the configured platform when known.
pub fn resolve(flag: Option<&Path>, platform: Platform, env: Env<'_>) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = env("GUARDIAN_HOME") {
        return Ok(PathBuf::from(dir));
    }
    let platform_var = match platform {
        Platform::Picoclaw => Some("PICOCLAW_TRAFFIC_GUARDIAN_HOME"),
        Platform::Nanoclaw => Some("NANOCLAW_TRAFFIC_GUARDIAN_HOME"),
        Platform::Generic => None,
    };
    if let Some(dir) = platform_var.and_then(env) {
        return Ok(PathBuf::from(dir));
    }
    let user_home = env("HOME").map(PathBuf::from).ok_or_else(|| {
        Error::usage("cannot find a home directory: set HOME, GUARDIAN_HOME or pass --home DIR")
    })?;
    Ok(match platform {
        Platform::Picoclaw => {
            let base =
                env("PICOCLAW_HOME").map_or_else(|| user_home.join(".picoclaw"), PathBuf::from);
            base.join("security")
                .join("clawsec")
                .join("traffic-guardian")
        }
        _ => {
            let state = env("XDG_STATE_HOME")
                .map_or_else(|| user_home.join(".local").join("state"), PathBuf::from);
            state.join("guardian")
        }
    })
}

/// Creates a private directory (0700) if missing and checks it is safe to keep secrets' evidence
/// and keys in: owned by this user, not writable by group or others.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    refuse_symlink(dir)?;
    if !dir.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::runtime(format!("cannot create {}: {e}", dir.display())))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
            Error::runtime(format!("cannot set mode 0700 on {}: {e}", dir.display()))
        })?;
    }
    check_private_dir(dir)
}

/// A symlinked home is refused by name (its target could change under the daemon).
fn refuse_symlink(dir: &Path) -> Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::usage(format!(
            "{} is a symlink; Guardian does not follow a symlinked home, pass --home with the directory it points to",
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// Checks an existing directory: a directory (not a symlink), owned by this user, not writable
/// by group or others.
pub fn check_private_dir(dir: &Path) -> Result<()> {
    refuse_symlink(dir)?;
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| Error::runtime(format!("cannot inspect {}: {e}", dir.display())))?;
    if !meta.is_dir() {
        return Err(Error::usage(format!(
            "{} is not a directory; pass --home DIR with a directory",
            dir.display()
        )));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(Error::usage(format!(
            "{} is owned by uid {}, not by you (uid {me}); use a directory of your own with --home",
            dir.display(),
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Error::usage(format!(
            "{} is writable by group or others (mode {:o}); run `chmod 700 {}`",
            dir.display(),
            meta.mode() & 0o777,
            dir.display()
        )));
    }
    Ok(())
}

/// Whether nothing at all is at `dir` (not even a dangling symlink).
pub fn is_missing(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
}

/// The error for a missing home: a usage error (exit 2) naming the fix, or, when a daemon of
/// that home still runs (`daemon_pid`), a runtime error (exit 1) saying the home is gone.
pub fn missing(dir: &Path, daemon_pid: Option<u32>) -> Error {
    match daemon_pid {
        Some(pid) => Error::runtime(format!(
            "the home {} is gone (deleted) while Guardian pid {pid} still serves it, and its state and findings went with it; stop that daemon with `kill {pid}` and start again",
            dir.display()
        )),
        None => Error::usage(format!(
            "there is no Guardian home at {}; `guardian start` creates it, or pass --home DIR (or set GUARDIAN_HOME) to the home you use",
            dir.display()
        )),
    }
}

/// Where a home's files are (`<P>_TRAFFIC_GUARDIAN_LOG_DIR` moves the logs), without creating
/// or checking anything: for commands that only read.
pub fn locate(dir: PathBuf, platform: Platform, env: Env<'_>) -> Home {
    let log_dir = crate::config::env_name(platform, "LOG_DIR")
        .and_then(|n| env(&n))
        .map_or_else(|| dir.clone(), PathBuf::from);
    Home { dir, log_dir }
}

/// Opens an existing HOME_DIR for a command that only reads (`status`, `threats`, `stop`):
/// never creates anything. `None` when nothing is at `dir` (the caller says why: [`missing`]);
/// an unsafe home (symlink, other owner, writable by others) is an error like for the daemon.
pub fn open_existing(dir: PathBuf, platform: Platform, env: Env<'_>) -> Result<Option<Home>> {
    if is_missing(&dir) {
        return Ok(None);
    }
    let home = locate(dir, platform, env);
    check_private_dir(&home.dir)?;
    if home.log_dir != home.dir && !is_missing(&home.log_dir) {
        check_private_dir(&home.log_dir)?;
    }
    Ok(Some(home))
}

/// Opens HOME_DIR (created 0700 if needed, checked) with its log directory.
pub fn open(dir: PathBuf, platform: Platform, env: Env<'_>) -> Result<Home> {
    let home = locate(dir, platform, env);
    ensure_private_dir(&home.dir)?;
    if home.log_dir != home.dir {
        ensure_private_dir(&home.log_dir)?;
    }
    Ok(home)
}
