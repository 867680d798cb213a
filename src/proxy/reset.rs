//! Ending a client connection with a reset once what was written to it has arrived.
//!
//! When a response is cut short (its origin's connection failed, its framing broke, or it fell
//! silent mid-body), the client must not take the part it got for the whole; but for a body
//! delimited by the connection's close, a FIN *is* the body's end. So the connection is reset
//! (RST) instead, and only once the client's kernel has acknowledged every byte already written
//! to it: a reset throws away what is still in the send queue, while the client keeps and can
//! read what it received before the reset's error. The wait is bounded by [`DRAIN_LIMIT`]; a
//! client that reads nothing for that long is reset anyway (its response is broken either way).
//!
//! Linux (glibc) only, where the send queue can be asked about (`SIOCOUTQ`); elsewhere the
//! connection ends with a FIN as before. The two system calls are this crate's second measured
//! exception to `unsafe_code` (see `lib.rs`).

use std::time::{Duration, Instant};

use crate::runtime::{self, TcpStream};

/// Longest wait for the client to acknowledge what it was sent.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// First and longest pause between two looks at the send queue.
const PAUSE_FIRST: Duration = Duration::from_millis(1);
const PAUSE_MAX: Duration = Duration::from_millis(50);

/// Makes the close of `socket` a reset once its send queue is empty (or after
/// [`DRAIN_LIMIT`]); the caller then drops every handle of it. Does nothing where the queue
/// cannot be asked about.
pub async fn reset_when_delivered(socket: &TcpStream) {
    let deadline = Instant::now() + DRAIN_LIMIT;
    let mut pause = PAUSE_FIRST;
    loop {
        match unacknowledged(socket) {
            None => return,
            Some(0) => break,
            Some(_) if Instant::now() >= deadline => break,
            Some(_) => {
                runtime::sleep(pause).await;
                pause = (pause * 2).min(PAUSE_MAX);
            }
        }
    }
    reset_on_close(socket);
}

/// Bytes written to `socket` that its peer has not acknowledged yet, if the system says.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn unacknowledged(socket: &TcpStream) -> Option<usize> {
    use std::os::fd::AsRawFd;
    let mut queued: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (= TIOCOUTQ, linux/sockios.h) writes one int through the pointer, which
    // points at `queued`, alive for the call; the descriptor is borrowed from `socket`, open.
    let r = unsafe { libc::ioctl(socket.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
    (r == 0).then(|| usize::try_from(queued).unwrap_or(0))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn unacknowledged(_: &TcpStream) -> Option<usize> {
    None
}

/// Sets `SO_LINGER` to zero seconds: closing the socket sends a reset.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn reset_on_close(socket: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads `size_of::<linger>()` bytes from the pointer, which points at
    // `linger`, alive for the call; the descriptor is borrowed from `socket`, open. A failure
    // leaves the ordinary close (a FIN).
    let _ = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::from_ref(&linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn reset_on_close(_: &TcpStream) {}
