//! Handing freed heap pages back to the system once the proxy is idle.
//!
//! glibc keeps memory freed by its callers in its arenas, in proportion to the busiest moment:
//! after a burst of 100 concurrent connections the idle proxy stayed 2–3 MiB above its size
//! after one connection at a time (README, Performance "Idle memory"), every byte of it free.
//! `malloc_trim(0)` returns those pages. It runs from a thread of its own, about once a second
//! and only when no client connection is open and some were served since the last trim, so a
//! busy proxy never pays for it and an idle one pays once.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::counters::Counters;

/// How often the idle check runs.
const EVERY: Duration = Duration::from_secs(1);

/// Starts the trimming thread; it ends when `counters` is dropped (the proxy is gone).
pub fn trim_when_idle(counters: &Arc<Counters>) {
    let counters = Arc::downgrade(counters);
    let _ = std::thread::Builder::new()
        .name("heap-trim".into())
        .spawn(move || watch(counters));
}

fn watch(counters: Weak<Counters>) {
    // The first idle second trims too: start-up compiled the rules twice (once to validate the
    // configuration) and freed one copy, 7.5 MB.
    let mut trimmed_at = None;
    loop {
        std::thread::sleep(EVERY);
        let Some(c) = counters.upgrade() else { return };
        let served = c.connections.load(Ordering::Relaxed);
        let idle = c.active_connections.load(Ordering::Relaxed) == 0;
        if due(trimmed_at, served, idle) {
            trimmed_at = Some(served);
            release_free_pages();
        }
    }
}

/// Whether to trim: idle, and never trimmed or connections served since.
fn due(trimmed_at: Option<u64>, served: u64, idle: bool) -> bool {
    idle && trimmed_at != Some(served)
}

/// Returns the free pages of every glibc arena to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release_free_pages() {
    // SAFETY: `malloc_trim` takes no pointer and touches only glibc's own arenas, each under
    // its lock, so it may run on any thread while others allocate (malloc_trim(3): MT-Safe).
    // Its result only says whether memory was released.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators and platforms keep their own policy.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_pages() {}

#[cfg(test)]
mod tests {
    use super::due;

    #[test]
    fn trims_once_per_idle_period_and_never_while_busy() {
        assert!(
            due(None, 0, true),
            "the first idle check trims what start-up freed"
        );
        assert!(
            !due(Some(0), 0, true),
            "nothing served since: nothing new to return"
        );
        assert!(!due(Some(0), 5, false), "a connection is open");
        assert!(due(Some(0), 5, true), "served and now idle");
        assert!(!due(None, 0, false));
    }
}
