//! `guardian setup` and `guardian env`: explicit, per-process instructions. They change
//! nothing and never suggest a global export.

use std::path::PathBuf;

use argh::FromArgs;
use guardian_parser::scan::Platform;

use super::printed::{env_prefix, quote, quote_path, Options};
use super::run::proxy_vars;
use super::Context;
use crate::daemon::{self, Status};
use crate::error::{Error, Result};

/// Print safe setup instructions for a platform (changes nothing).
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "setup")]
pub struct Setup {
    /// picoclaw, nanoclaw or generic (default: the configured platform)
    #[argh(option)]
    platform: Option<String>,
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

/// Print the per-process proxy variables for the running daemon.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "env")]
pub struct EnvCmd {
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

impl Setup {
    pub fn run(self) -> Result<u8> {
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let platform = match self.platform.as_deref() {
            None => ctx.config.platform,
            Some(p) => Platform::parse(p).ok_or_else(|| {
                Error::usage(format!(
                    "--platform {p:?} must be picoclaw, nanoclaw or generic"
                ))
            })?,
        };
        let opts = Options {
            home: self.home.clone(),
            config: self.config.clone(),
        };
        let g = |sub: &str| opts.guardian(sub);
        let command = if platform == Platform::Picoclaw {
            "picoclaw gateway"
        } else {
            "<command>"
        };
        let mut vars = proxy_vars(&ctx.config.listen.to_string());
        if ctx.config.https_inspection {
            vars.extend(super::run::trust_env(&ctx.home_dir)?);
        }
        say!(
            "Guardian setup for {} (nothing was changed)\n",
            platform.as_str()
        );
        say!("Guardian is set per process: never export the proxy variables globally.");
        say!("Either let Guardian run the process (a private proxy for its lifetime):\n");
        say!("  {} -- {command}", g("run"));
        say!(
            "  {} --https-inspection -- {command}    (also inspects HTTPS)\n",
            g("run")
        );
        say!("or start the shared proxy and name the variables on the command line:\n");
        say!("  {}", g("start"));
        say!("  {} {command}\n", env_prefix(&vars));
        if ctx.config.https_inspection {
            match crate::tls::ca::CaFiles::of(&ctx.home_dir).fingerprint() {
                Some(fp) => say!("HTTPS inspection is on. Guardian CA sha256 fingerprint: {fp}"),
                None => say!(
                    "HTTPS inspection is on; the CA is created by `{}` or the first start.",
                    g("ca init")
                ),
            }
            say!("The trust variables above hold the roots you already trusted (your own bundle if one was set, else the");
            say!("system roots) plus the Guardian CA, for that one process; NODE_EXTRA_CA_CERTS keeps your extra CAs.");
            say!("Never add the CA to the system store unless you mean it: `{}` explains what that means.", g("ca system-trust"));
        } else {
            say!("HTTPS inspection is off: HTTPS goes through a blind tunnel (destinations counted, content not inspected).");
            say!(
                "To turn it on: `{} --https-inspection -- <command>`, or \"https_inspection\": true in {}",
                g("run"),
                self.config.as_deref().map_or_else(
                    || quote_path(&ctx.home_dir.join("config.json")),
                    quote_path
                )
            );
            say!(
                "(then `{}` and `{}` again, and re-run this command for the trust variables).",
                g("stop"),
                g("start")
            );
        }
        say!("Notes: Node 24+ follows the proxy variables only with NODE_USE_ENV_PROXY=1 (set above); Node 20 and");
        say!("older ignore them (its fetch goes direct, unwatched): use Node 24+. Go skips the proxy for loopback");
        say!("destinations (localhost, 127.0.0.1). Hosts a client pins certificates for can be excluded per process");
        say!("with NO_PROXY=host.");
        say!("Docker on Linux: host.docker.internal exists only with `docker run --add-host=host.docker.internal:host-gateway`.");
        match platform {
            Platform::Picoclaw => {
                say!("Picoclaw: a model's own `proxy` setting overrides the environment; leave it unset to use Guardian.");
                say!("picoclaw-security-guardian can watch the posture fragment:");
                say!("  {}", g("posture"));
                say!(
                    "  node scripts/generate_profile.mjs --watch {}",
                    quote_path(&ctx.home_dir.join("posture.json"))
                );
            }
            Platform::Nanoclaw => {
                say!("NanoClaw (containers): listen on the bridge address and allow the container subnet in config.json,");
                say!("  {{\"platform\":\"nanoclaw\",\"listen\":\"172.17.0.1:8877\",\"allow_clients\":[\"172.17.0.0/16\"]}}");
                say!("then give each container HTTP_PROXY/HTTPS_PROXY=http://host.docker.internal:8877 and NODE_USE_ENV_PROXY=1");
                say!("(on Linux with --add-host=host.docker.internal:host-gateway, or use the bridge IP).");
                say!("Chain to a OneCLI gateway with \"upstream_proxy\": \"http://<gateway>:<port>\".");
                say!("Run the host service (proxy + IPC for the containers) on the host, not in a container:");
                say!("  {} --ipc-root <nanoclaw>/data/ipc", g("host"));
                say!("Register the MCP server for the container agent (the binary is mounted read-only in the container):");
                say!("  {{\"mcpServers\": {{\"clawsec-traffic\": {{\"command\": \"/opt/guardian/guardian\", \"args\": [\"mcp\", \"--ipc-dir\", \"/workspace/ipc\"]}}}}}}");
                say!("Mount only ca/ca.pem or ca/bundle.pem into containers; ca/ca.key stays on the host.");
            }
            Platform::Generic => {}
        }
        Ok(0)
    }
}

impl EnvCmd {
    pub fn run(self) -> Result<u8> {
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let home = ctx.open_home()?;
        let opts = Options {
            home: self.home.clone(),
            config: self.config.clone(),
        };
        match daemon::status(&home) {
            Status::Running(state) => {
                let mut vars = proxy_vars(&state.listen);
                if state.https_inspection {
                    vars.extend(super::run::trust_env(&home.dir)?);
                }
                say!("# for one process: {} <command>", env_prefix(&vars));
                for (k, v) in &vars {
                    say!("{k}={}", quote(v));
                }
                Ok(0)
            }
            Status::Stale(reason) => Err(Error::runtime(format!(
                "the daemon is not running ({reason}); start it with `{}`",
                opts.guardian("start")
            ))),
            Status::Stopped => Err(Error::runtime(format!(
                "guardian is not running; start it with `{}`",
                opts.guardian("start")
            ))),
        }
    }
}
