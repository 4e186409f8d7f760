//! What a traced request costs in xray-core, against the floor of one bare `send_to`.
//!
//! Run with `cargo bench -p xray-core --bench emit`. Cases, measured in interleaved rounds in one
//! process:
//!
//! - (a) build a sampled segment with 3 subsegments, 2 annotations and a metadata entry, end it:
//!   serialization and the UDP send to a loopback socket included — with the default emitter,
//!   which hands the datagram to its sender thread, and with the synchronous emitter, which
//!   makes the system call on the spot (the whole cost, on the caller's thread);
//! - (b) a bare `UdpSocket::send_to` of the same bytes (the floor: no SDK can send for less);
//! - an unsampled segment with the same calls (target ≤ 100 ns);
//! - id generation.
//!
//! A thread drains the loopback socket so sends never hit a full buffer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bench_support::{Case, black_box, measure, table};
use xray_core::daemon::DaemonAddress;
use xray_core::emit::{MemoryEmitter, UdpEmitter};
use xray_core::sampling::NeverSample;
use xray_core::{Recorder, SegmentId, TraceId};

fn traced_request(rec: &Recorder) {
    let seg = rec.begin_segment("orders-api");
    seg.annotate("customer_tier", "gold");
    seg.annotate("items", 3);
    seg.add_metadata("request", &("GET", "/orders/42"));
    for name in ["DynamoDB", "orders@db.internal", "payments.example.com"] {
        seg.begin_subsegment(name).end();
    }
    seg.end();
}

fn main() {
    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = sink.local_addr().expect("addr");
    let stop = Arc::new(AtomicBool::new(false));
    let drain = {
        let stop = stop.clone();
        sink.set_read_timeout(Some(std::time::Duration::from_millis(50)))
            .ok();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 70_000];
            while !stop.load(Ordering::Relaxed) {
                let _ = sink.recv(&mut buf);
            }
        })
    };

    // Capture the exact datagram (a) sends, for the bare-send baseline.
    let captured = MemoryEmitter::new();
    let capture = Recorder::builder()
        .emitter(captured.clone())
        .sample_all()
        .ignore_env()
        .build()
        .expect("recorder");
    traced_request(&capture);
    let datagram = captured.datagrams().remove(0);

    let udp = Recorder::builder()
        .daemon_address(DaemonAddress::new(addr.into()))
        .sample_all()
        .ignore_env()
        .build()
        .expect("recorder");
    let synchronous = Recorder::builder()
        .emitter(UdpEmitter::synchronous(&DaemonAddress::new(addr.into())))
        .sample_all()
        .ignore_env()
        .build()
        .expect("recorder");
    let unsampled = Recorder::builder()
        .sampler(NeverSample)
        .emitter(MemoryEmitter::new())
        .ignore_env()
        .build()
        .expect("recorder");
    let bare = UdpSocket::bind("127.0.0.1:0").expect("bind");

    let mut cases = [
        Case::new("(b) bare UdpSocket::send_to of the same datagram", || {
            let _ = black_box(bare.send_to(&datagram, addr));
        }),
        Case::new(
            "(a) sampled segment: 3 subsegments, 2 annotations, 1 metadata, UDP send",
            || traced_request(&udp),
        ),
        Case::new(
            "(a) same, synchronous emitter (send on the caller's thread)",
            || traced_request(&synchronous),
        ),
        Case::new("unsampled segment, same calls", || {
            traced_request(&unsampled)
        }),
        Case::new("TraceId::new", || {
            black_box(TraceId::new());
        }),
        Case::new("SegmentId::new", || {
            black_box(SegmentId::new());
        }),
    ];
    let results = measure(&mut cases, 15);
    println!(
        "{}",
        table(
            &format!("xray-core emit ({} byte datagram)", datagram.len()),
            &results,
            0
        )
    );
    println!(
        "  (a)/(b) = {:.2} with the default emitter, {:.2} synchronous (target <= 2.0); unsampled = {:.0} ns (target <= 100 ns)",
        results[1].median_ns / results[0].median_ns,
        results[2].median_ns / results[0].median_ns,
        results[3].median_ns
    );
    udp.flush();
    let stats = udp.emit_stats();
    println!(
        "  default emitter: sent {} dropped {} (drops: the loopback socket or the 4 MiB queue overflowing at this rate)",
        stats.sent, stats.dropped
    );
    let stats = synchronous.emit_stats();
    println!(
        "  synchronous emitter: sent {} dropped {}",
        stats.sent, stats.dropped
    );
    stop.store(true, Ordering::Relaxed);
    let _ = drain.join();
}
