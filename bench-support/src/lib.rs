//! Measurement helpers for the workspace's benchmark binaries.
//!
//! Benchmarks here compare a case against a baseline measured *in the same process*, rounds
//! interleaved, so machine noise hits both alike; results are medians of several rounds, printed
//! as ns/iteration and as ratios to the baseline. This is deliberately small: the figures the
//! issues ask for are ratios, and interleaving matters more than statistical machinery.

#![deny(missing_docs)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

pub use std::hint::black_box;

/// One thing to measure.
pub struct Case<'a> {
    name: String,
    run: Box<dyn FnMut(u64) + 'a>,
}

impl std::fmt::Debug for Case<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case").field("name", &self.name).finish()
    }
}

impl<'a> Case<'a> {
    /// A case whose body runs once per iteration.
    pub fn new(name: impl Into<String>, mut body: impl FnMut() + 'a) -> Self {
        Self {
            name: name.into(),
            run: Box::new(move |iters| {
                for _ in 0..iters {
                    body();
                }
            }),
        }
    }

    /// A case that runs `iters` iterations itself (for setups that batch).
    pub fn batched(name: impl Into<String>, run: impl FnMut(u64) + 'a) -> Self {
        Self {
            name: name.into(),
            run: Box::new(run),
        }
    }
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The case name.
    pub name: String,
    /// Median nanoseconds per iteration over the rounds.
    pub median_ns: f64,
    /// Fastest round, nanoseconds per iteration.
    pub min_ns: f64,
    /// Slowest round, nanoseconds per iteration.
    pub max_ns: f64,
}

/// How long each round should take.
const ROUND: Duration = Duration::from_millis(40);

/// Measures every case in interleaved rounds and returns their medians, in the order given.
pub fn measure(cases: &mut [Case<'_>], rounds: usize) -> Vec<Measurement> {
    // Calibrate: find an iteration count per case that fills a round.
    let iters: Vec<u64> = cases
        .iter_mut()
        .map(|c| {
            // One untimed call first: one-time initialisation must not pass for the per-iteration
            // cost (that once turned a round into four iterations).
            (c.run)(1);
            let mut n = 1u64;
            loop {
                let t = Instant::now();
                (c.run)(n);
                let el = t.elapsed();
                if (el >= ROUND / 4 && n >= 16) || n >= 1 << 30 {
                    let per = el.as_secs_f64() / n as f64;
                    return ((ROUND.as_secs_f64() / per.max(1e-10)) as u64).max(1);
                }
                n *= 4;
            }
        })
        .collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); cases.len()];
    for _ in 0..rounds {
        for (i, c) in cases.iter_mut().enumerate() {
            let t = Instant::now();
            (c.run)(iters[i]);
            samples[i].push(t.elapsed().as_nanos() as f64 / iters[i] as f64);
        }
    }
    cases
        .iter()
        .zip(samples)
        .map(|(c, mut s)| {
            s.sort_by(f64::total_cmp);
            Measurement {
                name: c.name.clone(),
                median_ns: s[s.len() / 2],
                min_ns: s[0],
                max_ns: s[s.len() - 1],
            }
        })
        .collect()
}

/// Formats results as a table with each case's ratio to `results[baseline]`.
pub fn table(title: &str, results: &[Measurement], baseline: usize) -> String {
    let base = results[baseline].median_ns;
    let mut out = format!("\n{title}\n");
    let _ = writeln!(
        out,
        "  {:<58} {:>12} {:>12} {:>9}",
        "case", "median", "min..max", "ratio"
    );
    for r in results {
        let _ = writeln!(
            out,
            "  {:<58} {:>9.1} ns {:>5.0}..{:<6.0} {:>8.3}x",
            r.name,
            r.median_ns,
            r.min_ns,
            r.max_ns,
            r.median_ns / base
        );
    }
    out
}

/// CPU time (user + system) used by this process so far.
pub fn process_cpu_time() -> Duration {
    // std has no process CPU clock; getrusage is the precise one.
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    #[allow(unsafe_code)]
    // SAFETY: `usage` points to writable memory of the right size; RUSAGE_SELF is valid.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return Duration::ZERO;
    }
    #[allow(unsafe_code)]
    // SAFETY: getrusage returned 0, so the struct is initialised.
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_and_orders() {
        let mut v = 0u64;
        let mut w = 0u64;
        let mut cases = [
            Case::new("cheap", || v = black_box(v + 1)),
            Case::new("dearer", || {
                for i in 0..100 {
                    w = black_box(w ^ i);
                }
            }),
        ];
        let r = measure(&mut cases, 3);
        assert_eq!(r.len(), 2);
        assert!(r[1].median_ns > r[0].median_ns);
        assert!(table("t", &r, 0).contains("dearer"));
    }

    #[test]
    fn cpu_time_advances() {
        let a = process_cpu_time();
        let mut x = 0u64;
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(30) {
            x = black_box(x.wrapping_add(1));
        }
        assert!(process_cpu_time() > a);
    }
}
