//! `guardian setup` and `guardian env`: explicit, per-process instructions. They change
//! nothing and never suggest a global export.

use std::path::PathBuf;

use argh::FromArgs;
use guardian_parser::scan::Platform;

use super::run::{env_line, proxy_vars};
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
        let listen = ctx.config.listen.to_string();
        let line = env_line(&listen);
        say!(
            "Guardian setup for {} (nothing was changed)\n",
            platform.as_str()
        );
        say!("Guardian is set per process: never export the proxy variables globally.");
        say!("Either let Guardian run the process (a private proxy for its lifetime):\n");
        say!(
            "  guardian run -- {}\n",
            if platform == Platform::Picoclaw {
                "picoclaw gateway"
            } else {
                "<command>"
            }
        );
        say!("or start the shared proxy and name the variables on the command line:\n");
        say!("  guardian start");
        say!(
            "  {line} {}\n",
            if platform == Platform::Picoclaw {
                "picoclaw gateway"
            } else {
                "<command>"
            }
        );
        if ctx.config.https_inspection {
            match crate::tls::ca::CaFiles::of(&ctx.home_dir).fingerprint() {
                Some(fp) => say!("HTTPS inspection is on. Guardian CA sha256 fingerprint: {fp}"),
                None => say!("HTTPS inspection is on; the CA is created by `guardian ca init` or the first start."),
            }
            say!("Trust it for one process only (these replace the system store, hence the bundle of system roots + Guardian CA):\n");
            let vars: Vec<String> = super::run::trust_env(&ctx.home_dir)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            say!("  env {} {line} <command>\n", vars.join(" "));
            say!("Never add the CA to the system store unless you mean it: `guardian ca system-trust` explains what that means.");
        } else {
            say!("HTTPS inspection is off: HTTPS goes through a blind tunnel (destinations counted, content not inspected).");
        }
        say!(
            "Notes: Go skips the proxy for loopback destinations; Node needs NODE_USE_ENV_PROXY=1;"
        );
        say!(
            "hosts a client pins certificates for can be excluded per process with NO_PROXY=host."
        );
        match platform {
            Platform::Picoclaw => {
                say!("Picoclaw: a model's own `proxy` setting overrides the environment; leave it unset to use Guardian.");
                say!("picoclaw-security-guardian can watch the posture fragment:");
                say!("  guardian posture");
                say!(
                    "  node scripts/generate_profile.mjs --watch {}",
                    ctx.home_dir.join("posture.json").display()
                );
            }
            Platform::Nanoclaw => {
                say!("NanoClaw (containers): listen on the bridge address and allow the container subnet in config.json,");
                say!("  {{\"platform\":\"nanoclaw\",\"listen\":\"172.17.0.1:8877\",\"allow_clients\":[\"172.17.0.0/16\"]}}");
                say!("then give each container HTTP_PROXY/HTTPS_PROXY=http://host.docker.internal:8877 (or the bridge IP).");
                say!("Chain to a OneCLI gateway with \"upstream_proxy\": \"http://<gateway>:<port>\".");
                say!("Run the host service (proxy + IPC for the containers) on the host, not in a container:");
                say!("  guardian host --ipc-root <nanoclaw>/data/ipc");
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
        match daemon::status(&home) {
            Status::Running(state) => {
                let trust: Vec<(String, String)> = if state.https_inspection {
                    super::run::trust_env(&home.dir)
                } else {
                    Vec::new()
                };
                let extra: String = trust.iter().map(|(k, v)| format!(" {k}={v}")).collect();
                say!(
                    "# for one process: {}{extra} <command>",
                    env_line(&state.listen)
                );
                for (k, v) in proxy_vars(&state.listen).iter().chain(&trust) {
                    say!("{k}={v}");
                }
                Ok(0)
            }
            Status::Stale(reason) => Err(Error::runtime(format!(
                "the daemon is not running ({reason}); start it with `guardian start`"
            ))),
            Status::Stopped => Err(Error::runtime(
                "guardian is not running; start it with `guardian start`",
            )),
        }
    }
}
