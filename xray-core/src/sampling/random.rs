//! A per-thread random number generator for the fixed-rate part of decisions.
//!
//! `rand::rng()` is a cryptographic generator with reseeding; a decision only needs a fair coin
//! and must cost nanoseconds, so each thread runs SplitMix64 seeded once from `rand`.

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The next 64 random bits of this thread.
#[inline]
fn next_u64() -> u64 {
    STATE
        .try_with(|state| {
            let mut s = state.get();
            if s == 0 {
                s = rand::random::<u64>() | 1;
            }
            s = s.wrapping_add(GOLDEN_GAMMA);
            state.set(s);
            mix(s)
        })
        // Thread-local storage is gone only while the thread is being torn down.
        .unwrap_or_else(|_| rand::random())
}

#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A probability turned into an integer threshold for [`chance`], so the hot path compares
/// integers. Values outside 0–1 (and NaN) are clamped.
pub(crate) fn threshold(rate: f64) -> u64 {
    const ONE: u64 = 1 << 53;
    if rate.is_nan() || rate <= 0.0 {
        0
    } else if rate >= 1.0 {
        ONE
    } else {
        // Exact: a value in (0, 1) times 2^53 fits a u64 and truncation is the intended floor.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let t = (rate * ONE as f64) as u64;
        t
    }
}

/// The probability a [`threshold`] stands for.
#[cfg(test)]
pub(crate) fn rate(threshold: u64) -> f64 {
    threshold as f64 / (1u64 << 53) as f64
}

/// True with the probability `threshold` stands for.
#[inline]
pub(crate) fn chance(threshold: u64) -> bool {
    (next_u64() >> 11) < threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_are_exact() {
        let never = threshold(0.0);
        let always = threshold(1.0);
        for _ in 0..10_000 {
            assert!(!chance(never));
            assert!(chance(always));
        }
        assert_eq!(threshold(-1.0), 0);
        assert_eq!(threshold(f64::NAN), 0);
        assert_eq!(threshold(7.0), always);
        assert_eq!(rate(threshold(0.25)), 0.25);
    }

    #[test]
    fn a_fair_coin() {
        let t = threshold(0.5);
        let n = 100_000;
        let heads = (0..n).filter(|_| chance(t)).count();
        // Binomial(100000, 0.5): sd = 158; 6 sd either side fails about once in 10^9 runs.
        assert!((49_050..=50_950).contains(&heads), "{heads}");
    }
}
