//! The client side of one connection: frames and scans requests, picks (and reuses) the
//! upstream link, forwards heads rewritten and bodies byte for byte as they arrive, and hands
//! CONNECT and upgrades to the tunnel. Ambiguous framing gets a 400 after every earlier
//! response has been delivered, then the connection closes: never a desynchronised stream.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use guardian_parser::finding::Protocol;
use guardian_parser::framing::{Event, Head, RequestKind, Section};
use guardian_parser::inspect::{Inspector, Stats};
use guardian_parser::scan::Direction;

use super::response::{Expected, Pump, PumpEnd};
use super::runtime::{self, JoinHandle, Mutex};
use super::upstream::{self, authority, split_authority};
use super::{head, tunnel, BoxRead, BoxWrite, Shared, READ_BUF};
use crate::counters::add;

/// How a client connection reaches Guardian.
pub struct Client {
    /// Client → Guardian.
    pub reader: BoxRead,
    /// Guardian → client (shared with the response pump).
    pub writer: Arc<Mutex<BoxWrite>>,
    /// Client IP, for findings.
    pub source: String,
    /// `http`, or `https` inside an intercepted tunnel.
    pub protocol: Protocol,
    /// Inside an intercepted tunnel: every request goes to this origin (origin-form targets).
    pub origin: Option<(String, u16)>,
}

/// An upstream connection and its response pump. Requests go upstream one at a time (the
/// next once the previous response is complete), because many servers mishandle pipelining;
/// the client may still pipeline to Guardian.
struct Link {
    host: String,
    port: u16,
    writer: BoxWrite,
    expect: runtime::Sender<Expected>,
    done: runtime::Receiver<()>,
    in_flight: usize,
    upgraded: runtime::Receiver<bool>,
    websocket: super::websocket::Slot,
    pump: JoinHandle<PumpEnd>,
}

impl Link {
    /// Waits until the request in flight (if any) is answered; `false` if the pump ended.
    async fn wait_idle(&mut self) -> bool {
        while self.in_flight > 0 {
            if self.done.recv().await.is_err() {
                return false;
            }
            self.in_flight -= 1;
        }
        true
    }

    /// Closes the request channel and lets the pump answer what it was asked, then finish.
    async fn retire(self) -> PumpEnd {
        drop(self.expect);
        self.pump.await
    }

    /// Stops the pump now (the client connection is closing anyway).
    async fn abandon(self) {
        drop(self.expect);
        let _ = self.pump.cancel().await;
    }
}

/// What to do after some input was processed.
enum Flow {
    More,
    /// Stop reading; deliver outstanding responses, then close.
    Finish,
    /// Close now.
    Close,
    /// Open a tunnel to (host, port); the bytes from this offset of the buffer belong to it.
    Connect(String, u16, usize),
    /// The upstream switched protocols; relay raw bytes both ways from this offset.
    Upgraded(usize),
}

/// Serves one client connection until it ends.
pub async fn serve(shared: Arc<Shared>, client: Client) {
    let mut side = RequestSide::new(shared, client);
    side.run().await;
}

/// Idle upstream links kept per client connection, for origins it returns to.
const MAX_PARKED: usize = 4;

struct RequestSide {
    shared: Arc<Shared>,
    client: Client,
    inspector: Inspector,
    /// The link requests currently go to; the only one with requests in flight.
    link: Option<Link>,
    /// Idle links to other origins, most recently used last.
    parked: Vec<Link>,
    stop: (runtime::Sender<()>, runtime::Receiver<()>),
    forward: bool,
    /// A forwarded request's body is still arriving (its head went upstream, its end did not).
    mid_body: bool,
    head_started: Option<Instant>,
    connect: Option<(String, u16)>,
    upgrade_pending: bool,
    finish_after: bool,
    reported: Stats,
}

impl RequestSide {
    fn new(shared: Arc<Shared>, client: Client) -> Self {
        let mut inspector = Inspector::new(
            &shared.registry,
            Direction::Outbound,
            shared.config.max_scan_bytes,
        );
        if let Some((host, port)) = &client.origin {
            inspector.set_dest(Some(authority(host, *port)));
        }
        RequestSide {
            shared,
            client,
            inspector,
            link: None,
            parked: Vec::new(),
            stop: runtime::bounded(1),
            forward: false,
            mid_body: false,
            head_started: None,
            connect: None,
            upgrade_pending: false,
            finish_after: false,
            reported: Stats::default(),
        }
    }

    async fn run(&mut self) {
        let mut buf = vec![0u8; READ_BUF];
        let flow = loop {
            let n = match self.read(&mut buf).await {
                Ok(0) => {
                    let _ = self.inspector.finish(&self.shared.registry);
                    self.record();
                    break Flow::Finish;
                }
                Ok(n) => n,
                Err(ReadEnd::Stopped) => break Flow::Close,
                Err(ReadEnd::Timeout) => {
                    add(&self.shared.counters.timeouts, 1);
                    let t = &self.shared.config.timeouts;
                    let what = match self.head_started {
                        Some(_) => format!(
                            "header read timeout ({})",
                            humantime::format_duration(t.header)
                        ),
                        None => format!("idle timeout ({})", humantime::format_duration(t.idle)),
                    };
                    self.shared
                        .log
                        .line(&format!("client {}: {what}, closing", self.client.source));
                    break Flow::Finish;
                }
                Err(ReadEnd::Failed) => break Flow::Close,
            };
            add(&self.shared.counters.bytes_from_clients, n as u64);
            match self.process(&buf[..n]).await {
                Flow::More => {}
                Flow::Connect(host, port, at) => {
                    self.retire_link().await;
                    let leftover = buf[at..n].to_vec();
                    return self.tunnel(&host, port, leftover).await;
                }
                Flow::Upgraded(at) => {
                    let leftover = buf[at..n].to_vec();
                    return self.relay_upgrade(leftover).await;
                }
                other => break other,
            }
        };
        if matches!(flow, Flow::Finish) {
            self.retire_link().await;
        } else if let Some(link) = self.link.take() {
            link.abandon().await;
        }
        for link in std::mem::take(&mut self.parked) {
            link.abandon().await;
        }
        let mut w = self.client.writer.lock().await;
        let _ = w.close().await;
    }

    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ReadEnd> {
        let limit = match self.head_started {
            Some(t) => self
                .shared
                .config
                .timeouts
                .header
                .saturating_sub(t.elapsed()),
            None => self.shared.config.timeouts.idle,
        };
        let stop = self.stop.1.clone();
        let read = async { Some(runtime::timeout(limit, self.client.reader.read(buf)).await) };
        let stopped = async {
            let _ = stop.recv().await;
            None
        };
        match futures_lite::future::or(read, stopped).await {
            None => Err(ReadEnd::Stopped),
            Some(Ok(n)) => Ok(n),
            Some(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => Err(ReadEnd::Timeout),
            Some(Err(_)) => Err(ReadEnd::Failed),
        }
    }

    async fn process(&mut self, input: &[u8]) -> Flow {
        let mut at = 0;
        loop {
            let was_idle = self.inspector_idle();
            let step = self.inspector.feed(&self.shared.registry, &input[at..]);
            let consumed = &input[at..at + step.consumed];
            if was_idle
                && step.section == Section::Head
                && step.consumed > 0
                && self.head_started.is_none()
            {
                self.head_started = Some(Instant::now());
            }
            if step.section == Section::Body && !consumed.is_empty() {
                self.forward_body(consumed).await;
            }
            at += step.consumed;
            self.record();
            match step.event {
                None => return Flow::More,
                Some(Event::Head(h)) => {
                    self.head_started = None;
                    if let Err(flow) = self.on_head(&h).await {
                        return flow;
                    }
                }
                Some(Event::End) => {
                    self.mid_body = false;
                    if let Some((host, port)) = self.connect.take() {
                        return Flow::Connect(host, port, at);
                    }
                    if std::mem::take(&mut self.upgrade_pending) {
                        let decision = match &self.link {
                            Some(link) => link.upgraded.recv().await.unwrap_or(false),
                            None => false,
                        };
                        if decision {
                            return Flow::Upgraded(at);
                        }
                    }
                    if self.finish_after {
                        return Flow::Finish;
                    }
                }
                Some(Event::Error(e)) => {
                    add(&self.shared.counters.framing_errors, 1);
                    self.shared
                        .log
                        .line(&format!("client {}: bad request: {e}", self.client.source));
                    if std::mem::take(&mut self.mid_body) {
                        // The broken request was partly forwarded: nothing the link could
                        // still say answers it, so drop the link now (earlier requests were
                        // answered before this one was sent) and answer 400 at once.
                        self.forward = false;
                        if let Some(link) = self.link.take() {
                            link.abandon().await;
                        }
                    }
                    self.respond(400, "Bad Request", &format!("bad request: {e}"))
                        .await;
                    return Flow::Close;
                }
                Some(_) => {}
            }
        }
    }

    fn inspector_idle(&mut self) -> bool {
        self.inspector.framer_mut().is_idle()
    }

    /// Routes a request head; `Err` ends the connection.
    async fn on_head(&mut self, h: &Head) -> Result<(), Flow> {
        if h.method() == b"CONNECT" {
            let target = String::from_utf8_lossy(h.target()).to_string();
            return match split_authority(&target, 443) {
                Some(hp) if target.contains(':') => {
                    self.connect = Some(hp);
                    Ok(())
                }
                _ => {
                    self.respond(400, "Bad Request", "CONNECT needs host:port")
                        .await;
                    Err(Flow::Close)
                }
            };
        }
        let Some((host, port, target, named)) = self.route(h) else {
            let text = "Guardian is a forward proxy: send absolute-form requests (http://host/path), and CONNECT for https";
            self.respond(400, "Bad Request", text).await;
            return Err(Flow::Close);
        };
        let reuse = self
            .link
            .as_ref()
            .is_some_and(|l| l.host == host && l.port == port);
        if !reuse && !self.switch_link(&host, port).await {
            return Err(Flow::Close);
        }
        let expected = Expected {
            kind: RequestKind::of_method(h.method()),
            client_close: !h.keep_alive(),
            upgrade: h.header("upgrade").is_some() && h.has_token("connection", "upgrade"),
            websocket: super::websocket::asks_websocket(h),
        };
        let mut announced = false;
        for attempt in 0..2 {
            if self.link.is_none() && self.client.protocol == Protocol::Https {
                match super::intercept::connect_origin(&self.shared, &host, port).await {
                    Ok((r, w, socket)) => self.open_link(&host, port, r, w, socket),
                    Err(reason) => {
                        add(&self.shared.counters.tls_upstream_failures, 1);
                        self.shared.log.line(&reason);
                        self.respond(502, "Bad Gateway", &reason).await;
                        self.forward = false;
                        self.finish_after = true;
                        return Ok(());
                    }
                }
            }
            if self.link.is_none() {
                match upstream::connect(&self.shared, &host, port).await {
                    Ok(stream) => {
                        let r = Box::new(stream.clone());
                        self.open_link(&host, port, r, Box::new(stream.clone()), stream)
                    }
                    Err(e) => {
                        e.count(&self.shared.counters);
                        self.shared.log.line(&e.to_string());
                        let (status, reason) = e.status();
                        self.respond(status, reason, &e.to_string()).await;
                        self.forward = false;
                        self.finish_after = true;
                        return Ok(());
                    }
                }
            }
            let Some(link) = &mut self.link else { break };
            if link.wait_idle().await && link.expect.send(expected.clone()).await.is_ok() {
                link.in_flight += 1;
                announced = true;
                break;
            }
            // The pump ended (upstream closed while idle): reconnect once.
            self.retire_link().await;
            if attempt == 1 {
                break;
            }
        }
        if !announced {
            // Nobody would answer: the link died again right after the reconnect.
            add(&self.shared.counters.upstream_errors, 1);
            let text = format!(
                "upstream {} closed the connection before the request could be sent",
                authority(&host, port)
            );
            self.shared.log.line(&text);
            self.respond(502, "Bad Gateway", &text).await;
            self.forward = false;
            self.finish_after = true;
            return Ok(());
        }
        let bytes = head::request(h, &target, named.as_deref(), &authority(&host, port));
        self.forward = true;
        self.mid_body = true;
        self.finish_after |= expected.client_close;
        self.upgrade_pending = expected.upgrade;
        add(&self.shared.counters.requests, 1);
        if let Some(link) = &mut self.link {
            if runtime::timeout(
                self.shared.config.timeouts.idle,
                write_flush(&mut link.writer, &bytes),
            )
            .await
            .is_err()
            {
                // The pump answers the announced request with a 502.
                self.forward = false;
                self.finish_after = true;
            }
        }
        Ok(())
    }

    /// Where a request goes: (host, port, request-target to send, the absolute-form target's
    /// authority for `Host`).
    fn route(&self, h: &Head) -> Option<(String, u16, Vec<u8>, Option<String>)> {
        if let Some((host, port)) = &self.client.origin {
            return Some((host.clone(), *port, h.target().to_vec(), None));
        }
        let target = h.target();
        let rest = target
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case(b"http://"))
            .map(|_| &target[7..])?;
        let end = rest
            .iter()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        let named = std::str::from_utf8(&rest[..end]).ok()?;
        let (host, port) = split_authority(named, 80)?;
        let named = named.rsplit('@').next().unwrap_or(named).to_string();
        let path = match &rest[end..] {
            [] => b"/".to_vec(),
            [b'?', ..] => [b"/".as_slice(), &rest[end..]].concat(),
            p => p.to_vec(),
        };
        // A parent proxy needs the absolute form.
        let sent = if self.shared.config.upstream_proxy.is_some() {
            target.to_vec()
        } else {
            path
        };
        Some((host, port, sent, Some(named)))
    }

    fn open_link(
        &mut self,
        host: &str,
        port: u16,
        upstream: BoxRead,
        writer: BoxWrite,
        socket: runtime::TcpStream,
    ) {
        let (expect_tx, expect_rx) = runtime::bounded(crate::proxy::MAX_PIPELINE);
        let (upgraded_tx, upgraded_rx) = runtime::bounded(1);
        let (done_tx, done_rx) = runtime::bounded(crate::proxy::MAX_PIPELINE);
        let pump = Pump {
            shared: self.shared.clone(),
            upstream,
            socket,
            client: self.client.writer.clone(),
            expect: expect_rx,
            upgraded: upgraded_tx,
            done: done_tx,
            stop: self.stop.0.clone(),
            dest: authority(host, port),
            source: self.client.source.clone(),
            protocol: self.client.protocol,
            websocket: Default::default(),
        };
        let websocket = pump.websocket.clone();
        self.link = Some(Link {
            host: host.to_string(),
            port,
            writer,
            expect: expect_tx,
            done: done_rx,
            in_flight: 0,
            upgraded: upgraded_rx,
            websocket,
            pump: runtime::spawn(pump.run()),
        });
    }

    /// Makes the link to (host, port) the active one: the active link first answers what it was
    /// asked (responses stay in order), then is parked for reuse; a parked link to the new
    /// origin is taken back if there is one. `false` if the client connection must close.
    async fn switch_link(&mut self, host: &str, port: u16) -> bool {
        if let Some(mut link) = self.link.take() {
            if link.wait_idle().await {
                self.parked.push(link);
            } else if link.retire().await == PumpEnd::Close {
                return false;
            }
        }
        if self.parked.len() > MAX_PARKED {
            self.parked.remove(0).retire().await;
        }
        if let Some(i) = self
            .parked
            .iter()
            .position(|l| l.host == host && l.port == port)
        {
            self.link = Some(self.parked.remove(i));
        }
        true
    }

    /// Lets the current link answer what it was asked, then drops it. `false` if the client
    /// connection must close.
    async fn retire_link(&mut self) -> bool {
        match self.link.take() {
            Some(link) => link.retire().await != PumpEnd::Close,
            None => true,
        }
    }

    async fn forward_body(&mut self, bytes: &[u8]) {
        if !self.forward {
            return;
        }
        if let Some(link) = &mut self.link {
            if runtime::timeout(
                self.shared.config.timeouts.idle,
                write_flush(&mut link.writer, bytes),
            )
            .await
            .is_err()
            {
                self.forward = false;
                self.finish_after = true;
            }
        }
    }

    /// Writes a response of Guardian's own, after every earlier response was delivered.
    async fn respond(&mut self, status: u16, reason: &str, text: &str) {
        self.retire_link().await;
        let bytes = head::synthetic(status, reason, text);
        let mut w = self.client.writer.lock().await;
        let _ = runtime::timeout(
            self.shared.config.timeouts.idle,
            write_flush(&mut *w, &bytes),
        )
        .await;
        add(&self.shared.counters.bytes_to_clients, bytes.len() as u64);
    }

    fn record(&mut self) {
        while let Some(d) = self.inspector.poll_detection() {
            self.shared.findings.record(
                d,
                self.client.protocol,
                &self.client.source,
                SystemTime::now(),
            );
        }
        let now = *self.inspector.stats();
        super::absorb_stats(&self.shared.counters, &self.reported, &now);
        self.reported = now;
    }

    async fn tunnel(&mut self, host: &str, port: u16, leftover: Vec<u8>) {
        let reader =
            std::mem::replace(&mut self.client.reader, Box::new(futures_lite::io::empty()));
        if self.shared.tls.is_some() && self.client.protocol == Protocol::Http {
            let (shared, writer, source) = (
                self.shared.clone(),
                self.client.writer.clone(),
                self.client.source.clone(),
            );
            return Box::pin(super::intercept::intercept(
                shared, reader, writer, &source, host, port, leftover,
            ))
            .await;
        }
        tunnel::open(
            self.shared.clone(),
            reader,
            self.client.writer.clone(),
            &self.client.source,
            host,
            port,
            leftover,
        )
        .await;
    }

    async fn relay_upgrade(&mut self, leftover: Vec<u8>) {
        let Some(mut link) = self.link.take() else {
            return;
        };
        let reader =
            std::mem::replace(&mut self.client.reader, Box::new(futures_lite::io::empty()));
        let tap = super::websocket::take(&link.websocket);
        let reader = super::websocket::observed(reader, tap.clone(), Direction::Outbound);
        if write_flush(&mut link.writer, &leftover).await.is_ok() {
            super::websocket::feed(tap.as_ref(), Direction::Outbound, &leftover);
            tunnel::copy_until_idle(&self.shared, reader, &mut link.writer).await;
        }
        super::websocket::end(tap.as_ref(), Direction::Outbound);
        let _ = link.writer.close().await;
        let _ = link.retire().await;
    }
}

enum ReadEnd {
    Stopped,
    Timeout,
    Failed,
}

/// Writes `bytes` and flushes them: every write ends a piece of a message, and a TLS writer
/// would otherwise keep the tail of it until its next write.
pub async fn write_flush<W>(w: &mut W, bytes: &[u8]) -> std::io::Result<()>
where
    W: futures_lite::AsyncWrite + Unpin + ?Sized,
{
    w.write_all(bytes).await?;
    w.flush().await
}
