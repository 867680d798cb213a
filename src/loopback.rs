//! A loopback origin and client built on Guardian's own framer, for `guardian demo` and the
//! proxy part of `guardian bench` (tests use an independent HTTP implementation instead).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use guardian_parser::framing::{Event, Framer, Head, RequestKind, Role};

use crate::proxy::runtime::{self, TcpStream};

/// Produces the full response bytes for the `n`-th request of a connection.
pub type Handler = Arc<dyn Fn(usize, &Head) -> Vec<u8> + Send + Sync>;

/// Starts an origin on an ephemeral loopback port, serving until the process ends.
pub fn origin(handler: Handler) -> io::Result<SocketAddr> {
    let listener = runtime::block_on(runtime::bind(SocketAddr::from(([127, 0, 0, 1], 0))))?;
    let addr = listener.local_addr()?;
    std::thread::Builder::new()
        .name("loopback-origin".into())
        .spawn(move || {
            runtime::block_on(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let handler = handler.clone();
                    runtime::spawn(async move {
                        let _ = serve_connection(stream, handler).await;
                    });
                }
            })
        })?;
    Ok(addr)
}

async fn serve_connection(mut stream: TcpStream, handler: Handler) -> io::Result<()> {
    let mut framer = Framer::new(Role::Request);
    let mut buf = vec![0u8; 64 * 1024];
    let mut head: Option<Box<Head>> = None;
    let mut served = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let mut at = 0;
        loop {
            let step = framer.feed(&buf[at..n]);
            at += step.consumed;
            match step.event {
                None => break,
                Some(Event::Head(h)) => head = Some(h),
                Some(Event::End) => {
                    if let Some(h) = head.take() {
                        let response = handler(served, &h);
                        served += 1;
                        stream.write_all(&response).await?;
                        if !h.keep_alive() {
                            return Ok(());
                        }
                    }
                }
                Some(Event::Error(_)) => return Ok(()),
                Some(_) => {}
            }
        }
    }
}

/// gzip-compressed bytes (fast level), for sample bodies.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// A complete response with a body.
pub fn response(status: &str, content_type: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// Sends `requests` (back to back, pipelined) to `addr` and reads `count` responses.
/// Returns the response bytes and the number of complete responses.
pub async fn exchange(
    addr: SocketAddr,
    requests: &[u8],
    kinds: &[RequestKind],
) -> io::Result<(Vec<u8>, usize)> {
    let stream = runtime::connect_addr(addr, std::time::Duration::from_secs(10)).await?;
    let mut writer = stream.clone();
    let send = async move {
        writer.write_all(requests).await?;
        writer.flush().await
    };
    let receive = async move {
        let mut reader = stream;
        let mut framer = Framer::new(Role::Response);
        for &k in kinds {
            framer.expect_response(k);
        }
        let (mut out, mut done, mut buf) = (Vec::new(), 0, vec![0u8; 64 * 1024]);
        while done < kinds.len() {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                if matches!(framer.finish(), Some(Event::End)) {
                    done += 1;
                }
                break;
            }
            out.extend_from_slice(&buf[..n]);
            let mut at = 0;
            loop {
                let step = framer.feed(&buf[at..n]);
                at += step.consumed;
                match step.event {
                    None => break,
                    Some(Event::End) => done += 1,
                    Some(Event::Error(e)) => {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
                    }
                    Some(_) => {}
                }
            }
        }
        Ok::<_, io::Error>((out, done))
    };
    let (sent, received) = futures_lite::future::zip(send, receive).await;
    sent?;
    received
}
