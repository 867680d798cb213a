//! `guardian ca init | show | system-trust`: the interception CA.

use std::io::BufRead;
use std::path::PathBuf;

use argh::FromArgs;

use super::Context;
use crate::error::{Error, Result};
use crate::tls::ca::{self, CaFiles};

/// Manage the local interception CA (its key never leaves HOME_DIR/ca/ca.key).
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "ca")]
pub struct Ca {
    #[argh(subcommand)]
    action: Action,
}

#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand)]
enum Action {
    Init(Init),
    Show(Show),
    Rotate(Rotate),
    SystemTrust(SystemTrust),
}

/// Replace the CA with a new one (the old one is kept under ca/retired/); restart a running
/// daemon to use it.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "rotate")]
struct Rotate {
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

/// Create the CA if it does not exist (idempotent).
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "init")]
struct Init {
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

/// Show the CA certificate's path and SHA-256 fingerprint.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "show")]
struct Show {
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

/// Print how to trust the CA system-wide (after confirmation); never runs anything.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "system-trust")]
struct SystemTrust {
    /// skip the typed confirmation
    #[argh(switch)]
    i_understand: bool,
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

fn files(home: &Option<PathBuf>, config: &Option<PathBuf>) -> Result<(CaFiles, crate::home::Home)> {
    let ctx = Context::load(home.as_deref(), config.as_deref())?;
    let home = ctx.open_home()?;
    Ok((CaFiles::of(&home.dir), home))
}

impl Ca {
    pub fn run(self) -> Result<u8> {
        match self.action {
            Action::Init(a) => {
                let (files, _) = files(&a.home, &a.config)?;
                let created = ca::init(&files)?;
                let loaded = ca::load(&files)?;
                crate::tls::bundle::write(&files, &loaded)?;
                say!(
                    "{} {}",
                    if created { "created" } else { "exists:" },
                    files.cert().display()
                );
                say!("sha256 fingerprint: {}", loaded.fingerprint());
                Ok(0)
            }
            Action::Show(a) => {
                let (files, home) = files(&a.home, &a.config)?;
                if !files.cert().exists() {
                    return Err(Error::runtime("no CA yet; create it with `guardian ca init` (or start with https_inspection)"));
                }
                let loaded = ca::load(&files)?;
                say!("certificate: {}", files.cert().display());
                say!(
                    "bundle (system roots + this CA): {}",
                    files.bundle().display()
                );
                say!("sha256 fingerprint: {}", loaded.fingerprint());
                if let crate::daemon::Status::Running(state) = crate::daemon::status(&home) {
                    if let Some(fp) = state
                        .ca_fingerprint_sha256
                        .filter(|fp| *fp != loaded.fingerprint())
                    {
                        say!("the running daemon (pid {}) still uses the retired CA sha256 {fp} until it is restarted", state.pid);
                    }
                }
                Ok(0)
            }
            Action::Rotate(a) => {
                let (files, home) = files(&a.home, &a.config)?;
                if !files.cert().exists() {
                    return Err(Error::runtime(
                        "no CA yet; create it with `guardian ca init`",
                    ));
                }
                let (old, new) = ca::rotate(&files)?;
                say!(
                    "retired sha256 fingerprint: {old} (kept in {})",
                    files.dir.join("retired").join(&old).display()
                );
                say!("new sha256 fingerprint:     {new}");
                let opts = super::printed::Options {
                    home: a.home.clone(),
                    config: a.config.clone(),
                };
                if let crate::daemon::Status::Running(state) = crate::daemon::status(&home) {
                    if state.https_inspection {
                        say!(
                            "The running daemon (pid {}) still signs with the retired CA, and `{}` shows its fingerprint, until you restart it: `{}` then `{}`.",
                            state.pid,
                            opts.guardian("status"),
                            opts.guardian("stop"),
                            opts.guardian("start")
                        );
                    }
                }
                say!("Processes given the old bundle or CA must be restarted with the new variables (`{}`).", opts.guardian("env"));
                Ok(0)
            }
            Action::SystemTrust(a) => {
                let (files, _) = files(&a.home, &a.config)?;
                if !files.cert().exists() {
                    return Err(Error::runtime(
                        "no CA yet; create it with `guardian ca init`",
                    ));
                }
                crate::diag!("Trusting this CA system-wide lets anyone holding {} intercept TLS for every program of every user of this machine.", files.key().display());
                crate::diag!("Guardian does not need it: `guardian run --https-inspection` trusts the CA for one process only.");
                if !a.i_understand {
                    crate::diag::stderr_text(format_args!("Type yes to see the instructions: "));
                    let mut line = String::new();
                    let _ = std::io::stdin().lock().read_line(&mut line);
                    if line.trim() != "yes" {
                        crate::diag!("guardian: not confirmed; nothing was shown or changed");
                        return Ok(1);
                    }
                }
                let cert = files.cert().display().to_string();
                say!("Guardian runs none of these; run them yourself if you are sure.");
                say!("Debian/Ubuntu:  sudo cp {cert} /usr/local/share/ca-certificates/guardian-local-ca.crt && sudo update-ca-certificates");
                say!("Fedora/RHEL:    sudo cp {cert} /etc/pki/ca-trust/source/anchors/guardian-local-ca.pem && sudo update-ca-trust");
                say!("macOS:          sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {cert}");
                say!("To undo: remove the copied file and run the same update command again (macOS: security delete-certificate).");
                Ok(0)
            }
        }
    }
}
