//! A daemon that reads slowly: a real UDP socket with a small receive buffer, read one datagram
//! every 2 ms, so bursts overflow it and the kernel drops datagrams. The service answers exactly
//! as without instrumentation, logs nothing about it (UDP gives no feedback, nothing to say),
//! every finished document is counted as sent or dropped, and what does arrive is whole: valid
//! JSON, at most 64,000 bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Diagnostics, document_of, same_answers, serve, settled_stats, traced_app};
use socket2::{Domain, Protocol, Socket, Type};
use xray_core::Recorder;
use xray_core::daemon::DaemonAddress;
use xray_core::emit::MAX_DATAGRAM_BYTES;

fn slow_receiver() -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let socket: std::net::UdpSocket = socket.into();
    let addr = socket.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&received);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 70_000];
        while let Ok(n) = socket.recv(&mut buf) {
            store.lock().unwrap().push(buf[..n].to_vec());
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    (addr, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_is_unaffected_and_every_document_is_counted() {
    let diagnostics = Diagnostics::capture();
    let (daemon, received) = slow_receiver();
    let recorder = Recorder::builder()
        .daemon_address(DaemonAddress::new(daemon.into()))
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    let plain = serve(common::app()).await;
    let traced = serve(traced_app(recorder.clone())).await;

    // Concurrent clients, so documents come in bursts.
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(tokio::spawn(same_answers(plain, traced, 10)));
    }
    let mut requests = 0;
    for c in clients {
        requests += c.await.unwrap() as u64;
    }
    let stats = settled_stats(&recorder, requests);
    std::thread::sleep(Duration::from_millis(500)); // let the reader drain its buffer
    let received = received.lock().unwrap().clone();
    println!(
        "{requests} requests, sent {} dropped {}, {} received by the slow reader, {} diagnostics",
        stats.sent,
        stats.dropped,
        received.len(),
        diagnostics.all().len()
    );
    assert_eq!(stats.sent + stats.dropped, requests, "{stats:?}");
    assert!(received.len() as u64 <= stats.sent);
    for datagram in &received {
        assert!(datagram.len() <= MAX_DATAGRAM_BYTES);
        assert_eq!(document_of(datagram)["name"], "fault-test");
    }
    assert!(diagnostics.all().len() <= 2, "{:#?}", diagnostics.all());
}
