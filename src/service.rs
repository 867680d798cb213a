//! Assembling a running proxy from a validated configuration: home, logs, findings sink, rules,
//! listener. Shared by `serve`, `run` and `demo`.

use std::net::SocketAddr;
use std::sync::Arc;

use guardian_parser::scan::Registry;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::proxy::counters::Counters;
use crate::proxy::runtime::{self, TcpListener};
use crate::proxy::Shared;
use crate::report::findings::FindingSink;
use crate::report::log::Log;

/// A bound, not yet serving, proxy.
pub struct Service {
    /// Shared state of every connection.
    pub shared: Arc<Shared>,
    /// The listener.
    pub listener: TcpListener,
    /// The address actually bound (port 0 resolved).
    pub addr: SocketAddr,
}

impl Service {
    /// Opens the findings log under `home`, compiles the rules and binds `listen`.
    pub fn bind(config: Config, home: &Home, listen: SocketAddr, echo_log: bool) -> Result<Self> {
        let log = Arc::new(Log::open(Some(&home.log()), echo_log));
        let counters = Arc::new(Counters::default());
        let registry =
            Registry::new(config.registry_options()).map_err(|e| Error::usage(e.to_string()))?;
        let findings = FindingSink::open(
            &home.findings(),
            config.platform,
            config.dedup_window.as_millis() as u64,
            counters.clone(),
            log.clone(),
        )?;
        let listener = runtime::block_on(runtime::bind(listen)).map_err(|e| {
            Error::runtime(format!("cannot listen on {listen}: {e}; pick another address with \"listen\" in the config"))
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::runtime(format!("cannot read the bound address: {e}")))?;
        let tls = if config.https_inspection {
            Some(Arc::new(crate::tls::Interceptor::open(
                &home.dir,
                config.upstream_ca_file.as_deref(),
            )?))
        } else {
            None
        };
        let shared = Arc::new(Shared {
            config,
            registry,
            counters,
            findings,
            log,
            tls,
        });
        Ok(Service {
            shared,
            listener,
            addr,
        })
    }

    /// Serves on a background thread; returns at once.
    pub fn spawn(self) -> (Arc<Shared>, SocketAddr) {
        let (shared, addr) = (self.shared.clone(), self.addr);
        let loop_shared = self.shared.clone();
        let listener = self.listener;
        crate::heap::trim_when_idle(&self.shared.counters);
        std::thread::Builder::new()
            .name("proxy".into())
            .spawn(move || runtime::block_on(crate::proxy::accept_loop(listener, loop_shared)))
            .map(|_| ())
            .unwrap_or_else(|e| crate::diag!("guardian: cannot start the proxy thread: {e}"));
        (shared, addr)
    }
}
