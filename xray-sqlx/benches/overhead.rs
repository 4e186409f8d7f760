//! What tracing adds to a query: a point SELECT by primary key on in-memory SQLite, through a
//! plain `SqlitePool` and through a `TracedPool`, measured in interleaved rounds in one process.
//!
//! Run with `cargo bench -p xray-sqlx --features sqlite`. Cases:
//!
//! - plain pool, no segment — the floor;
//! - traced pool, no current segment (context-missing strategy `IGNORE_ERROR`);
//! - plain and traced pool with an unsampled segment current — target: indistinguishable;
//! - one sampled segment per query (begin, query, end): plain pool vs traced pool. The segment
//!   is serialized and sent over UDP to a socket on loopback when it ends, so the traced case
//!   pays for its subsegment's bytes too. This is the ratio the ≤ 5% target is about;
//! - one sampled segment per 10 queries, plain vs traced (closer to a real request).
//!
//! With `XRAY_SQLX_BENCH_CASE=<index>` (and `XRAY_SQLX_BENCH_ITERS=<n>`) only that case runs,
//! `n` times, for instruction counts under `valgrind --tool=callgrind`.
//!
//! The loopback socket is never read: UDP sends to it cost the same syscall whether or not the
//! datagram is queued, and no drain thread competes with SQLite's worker thread for the CPU.

use std::net::UdpSocket;
use std::time::Instant;

use bench_support::{Measurement, black_box, process_cpu_time, table};
use sqlx::SqlitePool;
use sqlx::sqlite::SqlitePoolOptions;
use xray_core::context::ContextMissingStrategy;
use xray_core::daemon::DaemonAddress;
use xray_core::emit::MemoryEmitter;
use xray_core::sampling::NeverSample;
use xray_core::{Recorder, XrayFutureExt};
use xray_sqlx::TracedPool;

const ROWS: i64 = 1000;
const SELECT: &str = "SELECT id, name, price FROM items WHERE id = $1";

async fn point_select<'c, E>(executor: E, id: i64) -> (i64, String, f64)
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    sqlx::query_as(SELECT)
        .bind(id)
        .fetch_one(executor)
        .await
        .expect("point select")
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let daemon = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let udp = Recorder::builder()
        .daemon_address(DaemonAddress::new(
            daemon.local_addr().expect("addr").into(),
        ))
        .sample_all()
        .context_missing(ContextMissingStrategy::IgnoreError)
        .ignore_env()
        .build()
        .expect("recorder");
    let unsampled = Recorder::builder()
        .sampler(NeverSample)
        .emitter(MemoryEmitter::new())
        .ignore_env()
        .build()
        .expect("recorder");

    let (plain, traced) = rt.block_on(async {
        // One connection: every case runs on the same SQLite connection and worker thread.
        let plain: SqlitePool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("sqlite");
        sqlx::query(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL)",
        )
        .execute(&plain)
        .await
        .expect("create");
        let mut tx = plain.begin().await.expect("begin");
        for id in 1..=ROWS {
            sqlx::query("INSERT INTO items VALUES ($1, $2, $3)")
                .bind(id)
                .bind(format!("item-{id}"))
                .bind(id as f64 * 0.25)
                .execute(&mut *tx)
                .await
                .expect("seed");
        }
        tx.commit().await.expect("commit");
        let traced = TracedPool::builder(plain.clone())
            .recorder(udp.clone())
            .build();
        // Let the background version query finish before measuring.
        for _ in 0..100 {
            if traced.database_version().is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        (plain, traced)
    });
    println!(
        "SQLite {} (sql.database_version), subsegment name {:?}",
        traced.database_version().unwrap_or("?"),
        traced.name()
    );

    let next = std::cell::Cell::new(0_i64);
    let id = || {
        next.set(next.get() % ROWS + 1);
        next.get()
    };
    let rt = &rt;
    let (plain, traced, udp, unsampled) = (&plain, &traced, &udp, &unsampled);
    let mut cases: [Bench<'_>; 8] = [
        Bench::new("plain pool, no segment", |n| {
            rt.block_on(async {
                for _ in 0..n {
                    black_box(point_select(plain, id()).await);
                }
            })
        }),
        Bench::new("traced pool, no current segment", |n| {
            rt.block_on(async {
                for _ in 0..n {
                    black_box(point_select(traced, id()).await);
                }
            })
        }),
        Bench::new("plain pool, unsampled segment", |n| {
            let segment = unsampled.begin_segment("bench");
            rt.block_on(
                async {
                    for _ in 0..n {
                        black_box(point_select(plain, id()).await);
                    }
                }
                .in_entity(segment.entity().clone()),
            );
            segment.end();
        }),
        Bench::new("traced pool, unsampled segment", |n| {
            let segment = unsampled.begin_segment("bench");
            rt.block_on(
                async {
                    for _ in 0..n {
                        black_box(point_select(traced, id()).await);
                    }
                }
                .in_entity(segment.entity().clone()),
            );
            segment.end();
        }),
        Bench::new("segment per query: plain pool (sampled, UDP send)", |n| {
            rt.block_on(async {
                for _ in 0..n {
                    let segment = udp.begin_segment("bench");
                    let row = point_select(plain, id())
                        .in_entity(segment.entity().clone())
                        .await;
                    segment.end();
                    black_box(row);
                }
            })
        }),
        Bench::new("segment per query: traced pool (sampled, UDP send)", |n| {
            rt.block_on(async {
                for _ in 0..n {
                    let segment = udp.begin_segment("bench");
                    let row = point_select(traced, id())
                        .in_entity(segment.entity().clone())
                        .await;
                    segment.end();
                    black_box(row);
                }
            })
        }),
        Bench::new("segment per 10 queries: plain pool (per query)", |n| {
            rt.block_on(async {
                for _ in 0..n.div_ceil(10) {
                    let segment = udp.begin_segment("bench");
                    async {
                        for _ in 0..10 {
                            black_box(point_select(plain, id()).await);
                        }
                    }
                    .in_entity(segment.entity().clone())
                    .await;
                    segment.end();
                }
            })
        }),
        Bench::new("segment per 10 queries: traced pool (per query)", |n| {
            rt.block_on(async {
                for _ in 0..n.div_ceil(10) {
                    let segment = udp.begin_segment("bench");
                    async {
                        for _ in 0..10 {
                            black_box(point_select(traced, id()).await);
                        }
                    }
                    .in_entity(segment.entity().clone())
                    .await;
                    segment.end();
                }
            })
        }),
    ];
    // For instruction counts under valgrind (stable on a busy machine): run one case a given
    // number of times and stop. `(Ir(2N) - Ir(N)) / N` is that case's cost per query.
    if let Ok(case) = std::env::var("XRAY_SQLX_BENCH_CASE") {
        let case: usize = case.parse().expect("XRAY_SQLX_BENCH_CASE: a case index");
        let iters: u64 = std::env::var("XRAY_SQLX_BENCH_ITERS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(2_000);
        println!("running only {:?} x {iters}", cases[case].name);
        (cases[case].run)(iters);
        return;
    }
    let results = measure_cpu_and_wall(&mut cases, 31);
    println!(
        "{}",
        table(
            "xray-sqlx: point SELECT on in-memory SQLite (wall time per query)",
            &results.wall,
            0
        )
    );
    println!(
        "{}",
        table(
            "xray-sqlx: point SELECT on in-memory SQLite (process CPU time per query, all threads)",
            &results.cpu,
            0
        )
    );
    for (label, r) in [("wall", &results.wall), ("CPU", &results.cpu)] {
        let ratio = |a: usize, b: usize| r[a].median_ns / r[b].median_ns;
        println!("  ratios by {label} time (target <= 1.05 for the sampled ones):");
        println!(
            "    traced / plain, no current segment         = {:.3}",
            ratio(1, 0)
        );
        println!(
            "    traced / plain, unsampled segment          = {:.3}",
            ratio(3, 2)
        );
        println!(
            "    traced / plain, sampled, segment per query = {:.3}",
            ratio(5, 4)
        );
        println!(
            "    traced / plain, sampled, 10 per segment    = {:.3}",
            ratio(7, 6)
        );
        println!(
            "    added per sampled query: {:.0} ns (1 query/segment), {:.0} ns (10 queries/segment)",
            r[5].median_ns - r[4].median_ns,
            r[7].median_ns - r[6].median_ns
        );
    }
    let stats = udp.emit_stats();
    println!(
        "  UDP recorder: sent {} dropped {}",
        stats.sent, stats.dropped
    );
}

/// One case: runs its body `n` times.
struct Bench<'a> {
    name: &'static str,
    run: Box<dyn FnMut(u64) + 'a>,
}

impl<'a> Bench<'a> {
    fn new(name: &'static str, run: impl FnMut(u64) + 'a) -> Self {
        Self {
            name,
            run: Box::new(run),
        }
    }
}

struct Results {
    wall: Vec<Measurement>,
    cpu: Vec<Measurement>,
}

/// Like `bench_support::measure` (interleaved rounds, medians), but records process CPU time
/// next to wall time: on a shared two-core machine other processes stretch wall time, not the
/// CPU this process spends. Every case runs the same number of queries per round, and the order
/// of the cases alternates between rounds.
fn measure_cpu_and_wall(cases: &mut [Bench<'_>], rounds: usize) -> Results {
    const PER_ROUND: u64 = 2_000;
    for c in cases.iter_mut() {
        (c.run)(PER_ROUND / 4); // warm up
    }
    let mut wall = vec![Vec::with_capacity(rounds); cases.len()];
    let mut cpu = vec![Vec::with_capacity(rounds); cases.len()];
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..cases.len()).collect()
        } else {
            (0..cases.len()).rev().collect()
        };
        for i in order {
            let (t, c) = (Instant::now(), process_cpu_time());
            (cases[i].run)(PER_ROUND);
            let per = |ns: f64| ns / PER_ROUND as f64;
            wall[i].push(per(t.elapsed().as_nanos() as f64));
            cpu[i].push(per((process_cpu_time() - c).as_nanos() as f64));
        }
    }
    let summarize = |samples: Vec<Vec<f64>>| {
        cases
            .iter()
            .zip(samples)
            .map(|(c, mut s)| {
                s.sort_by(f64::total_cmp);
                Measurement {
                    name: c.name.to_owned(),
                    median_ns: s[s.len() / 2],
                    min_ns: s[0],
                    max_ns: s[s.len() - 1],
                }
            })
            .collect()
    };
    Results {
        wall: summarize(wall),
        cpu: summarize(cpu),
    }
}
