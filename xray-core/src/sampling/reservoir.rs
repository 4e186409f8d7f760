//! Per-second reservoirs, lock-free.
//!
//! One `AtomicU64` holds the whole state, so a decision is a load and, when it takes from the
//! reservoir, one compare-and-swap:
//!
//! ```text
//! bits 63..32  the second (Unix time, modulo 2^32) the counts belong to
//! bit  31      a request was borrowed this second (centralized rules)
//! bits 30..0   requests taken this second
//! ```
//!
//! A new second resets the counts, as in every official SDK (Go `reservoir.go`, Java
//! `CentralizedReservoir`): the reservoir is "N per calendar second", not a sliding window.

use std::sync::atomic::{AtomicU64, Ordering};

const BORROWED: u64 = 1 << 31;
const USED: u64 = BORROWED - 1;

/// The largest per-second capacity a reservoir counts to.
pub(crate) const MAX_CAPACITY: u32 = USED as u32;

#[derive(Debug, Default)]
pub(crate) struct Reservoir {
    state: AtomicU64,
}

#[inline]
fn epoch_of(now_secs: u64) -> u64 {
    (now_secs & 0xFFFF_FFFF) << 32
}

impl Reservoir {
    pub(crate) const fn new() -> Self {
        Self {
            state: AtomicU64::new(0),
        }
    }

    /// Takes one request from this second's `capacity`, if any is left.
    #[inline]
    pub(crate) fn take(&self, now_secs: u64, capacity: u32) -> bool {
        let capacity = u64::from(capacity.min(MAX_CAPACITY));
        if capacity == 0 {
            return false;
        }
        let epoch = epoch_of(now_secs);
        self.update(|cur| {
            if cur & !(BORROWED | USED) != epoch {
                Some(epoch | 1)
            } else if cur & USED < capacity {
                Some(cur + 1)
            } else {
                None
            }
        })
    }

    /// Borrows this second's one request (centralized rules without a valid quota).
    #[inline]
    #[cfg_attr(not(feature = "centralized-sampling"), allow(dead_code))]
    pub(crate) fn borrow(&self, now_secs: u64) -> bool {
        let epoch = epoch_of(now_secs);
        self.update(|cur| {
            if cur & !(BORROWED | USED) != epoch {
                Some(epoch | BORROWED)
            } else if cur & BORROWED == 0 {
                Some(cur | BORROWED)
            } else {
                None
            }
        })
    }

    /// Applies `f` atomically; `None` means "nothing to take" and leaves the state alone (and
    /// unwritten, so a spent reservoir costs contending threads only a shared read).
    #[inline]
    fn update(&self, f: impl Fn(u64) -> Option<u64>) -> bool {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let Some(next) = f(cur) else {
                return false;
            };
            match self
                .state
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_per_second() {
        let r = Reservoir::new();
        let taken = (0..10).filter(|_| r.take(100, 3)).count();
        assert_eq!(taken, 3);
        assert!(!r.take(100, 3));
        assert!(r.take(101, 3), "a new second refills");
        assert!(r.take(99, 3), "a clock going back is a new second too");
        assert!(!Reservoir::new().take(100, 0));
    }

    #[test]
    fn one_borrow_per_second_shared_with_take() {
        let r = Reservoir::new();
        assert!(r.borrow(7));
        assert!(!r.borrow(7));
        assert!(r.take(7, 1), "borrowing does not use the quota");
        assert!(!r.take(7, 1));
        assert!(!r.borrow(7));
        assert!(r.borrow(8));
    }

    #[test]
    fn threads_never_take_more_than_capacity() {
        let r = std::sync::Arc::new(Reservoir::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || (0..10_000).filter(|_| r.take(5, 1000)).count())
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, 1000);
    }
}
