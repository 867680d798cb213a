//! Dedup of findings (SPEC §4.3): one finding per (pattern, direction, dest, SHA-256 of the
//! matched bytes) per window. Time is passed in; memory is bounded by a capacity.

use std::collections::{HashMap, VecDeque};

use sha2::{Digest, Sha256};

/// Default number of keys remembered.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// Remembers recently written findings.
#[derive(Debug)]
pub struct Dedup {
    window_ms: u64,
    capacity: usize,
    last_seen: HashMap<[u8; 32], u64>,
    order: VecDeque<([u8; 32], u64)>,
}

impl Dedup {
    /// Dedup within `window_ms` milliseconds, remembering at most `capacity` keys (the oldest
    /// are forgotten first, which can only cause a duplicate to be written, never a loss).
    pub fn new(window_ms: u64, capacity: usize) -> Self {
        Dedup {
            window_ms,
            capacity: capacity.max(1),
            last_seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The dedup key of a finding.
    pub fn key(pattern: &str, direction: &str, dest: &str, match_digest: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [
            pattern.as_bytes(),
            direction.as_bytes(),
            dest.as_bytes(),
            match_digest,
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().into()
    }

    /// Whether a finding with this key, at `now_ms`, should be written (and remembers it).
    pub fn admit(&mut self, key: [u8; 32], now_ms: u64) -> bool {
        if self.window_ms == 0 {
            return true;
        }
        self.expire(now_ms);
        if let Some(&seen) = self.last_seen.get(&key) {
            if now_ms.saturating_sub(seen) < self.window_ms {
                return false;
            }
        }
        while self.order.len() >= self.capacity {
            self.forget_oldest();
        }
        self.last_seen.insert(key, now_ms);
        self.order.push_back((key, now_ms));
        true
    }

    /// Keys currently remembered.
    pub fn len(&self) -> usize {
        self.last_seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.last_seen.is_empty()
    }

    fn expire(&mut self, now_ms: u64) {
        while self
            .order
            .front()
            .is_some_and(|&(_, t)| now_ms.saturating_sub(t) >= self.window_ms)
        {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((key, t)) = self.order.pop_front() {
            if self.last_seen.get(&key) == Some(&t) {
                self.last_seen.remove(&key);
            }
        }
    }
}
