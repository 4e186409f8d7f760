//! What the receiver costs per datagram, against the floor of a bare UDP round trip.
//!
//! Run with `cargo bench -p xray-local --bench ingest`. Cases, measured in interleaved rounds in
//! one process, per datagram (a ~1 KB segment with three subsegments, as the SDK sends it; 4096
//! distinct traces, cycled, so replacement and snapshotting are exercised too):
//!
//! - (b) a bare `send_to` on loopback and the matching `recv` on a std socket: the floor;
//! - (a) `send_to` a [`LocalReceiver`] and wait until it has counted the datagram as a document
//!   (framing, parsing, assembly; sent in batches of 64 so the kernel buffer never overflows);
//! - (c) `serde_json::from_slice::<Document>` of the body alone: the parsing part.
//!
//! The receiver should keep up with a busy local service: (a)/(b) stays a small factor.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::UdpSocket;
use std::time::Duration;

use bench_support::{Case, black_box, measure, table};
use xray_core::model::Document;
use xray_local::LocalReceiver;

mod common;
use common::datagrams;

const HEADER_LEN: usize = "{\"format\": \"json\", \"version\": 1}\n".len();

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let receiver = runtime.block_on(async {
        LocalReceiver::builder()
            .quiet_period(Duration::from_millis(50))
            .bind("127.0.0.1:0")
            .await
            .unwrap()
    });
    let to = receiver.local_addr();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let data = datagrams(4096);
    let size = data[0].len();

    let floor_rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let floor_addr = floor_rx.local_addr().unwrap();
    let mut buf = vec![0u8; 70_000];
    let next = std::cell::Cell::new(0usize);
    let pick = || {
        let i = next.get();
        next.set(i + 1);
        &data[i % data.len()]
    };
    let mut sent_to_receiver = receiver.stats().datagrams;

    let mut cases = [
        Case::new("(b) bare send_to + recv on loopback", || {
            sender.send_to(pick(), floor_addr).unwrap();
            black_box(floor_rx.recv(&mut buf).unwrap());
        }),
        Case::batched("(a) send_to the LocalReceiver, until counted", |iters| {
            let mut left = iters;
            while left > 0 {
                let batch = left.min(64);
                for _ in 0..batch {
                    sender.send_to(pick(), to).unwrap();
                }
                sent_to_receiver += batch;
                // Poll gently: spinning on the receiver's lock would slow the receiver down.
                while receiver.stats().datagrams < sent_to_receiver {
                    std::thread::sleep(Duration::from_micros(20));
                }
                left -= batch;
            }
        }),
        Case::new("(c) serde_json::from_slice::<Document> of the body", || {
            black_box(serde_json::from_slice::<Document>(&pick()[HEADER_LEN..]).unwrap());
        }),
    ];
    let results = measure(&mut cases, 11);
    println!(
        "{}",
        table(
            &format!("xray-local ingest ({size} byte datagrams)"),
            &results,
            0
        )
    );
    let stats = receiver.stats();
    println!(
        "  (a)/(b) = {:.2}; receiver: {stats}",
        results[1].median_ns / results[0].median_ns
    );
    assert_eq!(stats.rejected.total(), 0);
}
