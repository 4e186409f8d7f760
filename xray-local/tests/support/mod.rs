//! Helpers shared by the integration tests: receivers with short timings, recorders that send
//! to them over real UDP while keeping a copy of every datagram, and raw datagram sending.

#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use xray_core::emit::{Datagram, EmitError, Emitter, MemoryEmitter, UdpEmitter};
use xray_core::model::Timestamp;
use xray_core::{Entity, Recorder};
use xray_local::LocalReceiver;

pub const HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";
pub const WAIT: Duration = Duration::from_secs(10);

/// A receiver that finishes traces quickly, on an ephemeral loopback port.
pub async fn receiver() -> LocalReceiver {
    LocalReceiver::builder()
        .quiet_period(Duration::from_millis(100))
        .incomplete_timeout(Duration::from_secs(2))
        .bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral UDP port on loopback")
}

/// Sends every datagram over UDP and keeps a copy in memory, so tests can compare what was
/// sent with what the receiver made of it.
#[derive(Debug, Clone)]
pub struct Tee {
    pub udp: UdpEmitter,
    pub memory: MemoryEmitter,
}

impl Emitter for Tee {
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError> {
        self.memory.send(datagram)?;
        self.udp.send(datagram)
    }
}

/// A recorder sending to `receiver` over UDP, and the in-memory copy of what it sent.
pub fn recorder(receiver: &LocalReceiver, streaming_threshold: usize) -> (Recorder, MemoryEmitter) {
    let memory = MemoryEmitter::new();
    let tee = Tee {
        udp: UdpEmitter::new(&receiver.daemon_address()),
        memory: memory.clone(),
    };
    let recorder = Recorder::builder()
        .emitter(tee)
        .sample_all()
        .ignore_env()
        .streaming_threshold(streaming_threshold)
        .build()
        .expect("recorder");
    (recorder, memory)
}

/// The entity's start time.
pub fn start_of(entity: &Entity) -> Timestamp {
    entity
        .update(|d| d.document().start_time)
        .expect("a sampled entity")
}

/// `start + ms`, for ending entities with exact durations.
pub fn after(start: Timestamp, ms: u64) -> Timestamp {
    start + Duration::from_millis(ms)
}

/// Sends raw datagrams from a fresh socket.
pub fn send_raw(to: SocketAddr, datagrams: &[&[u8]]) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("client socket");
    for d in datagrams {
        socket.send_to(d, to).expect("send datagram");
    }
}

/// Header line + document.
pub fn datagram(document: &str) -> Vec<u8> {
    format!("{HEADER}{document}").into_bytes()
}

/// Polls `condition` until it holds or `WAIT` passes (for effects with no event to wait on,
/// such as a counter after a datagram that changes no trace).
pub async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}
