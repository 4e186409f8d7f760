//! What the xray-local benchmarks feed their receivers.

use xray_core::Recorder;
use xray_core::emit::MemoryEmitter;

/// `n` datagrams, each a realistic segment (annotation, metadata, three subsegments) as our SDK
/// sends it.
pub(crate) fn datagrams(n: usize) -> Vec<Vec<u8>> {
    let memory = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(memory.clone())
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    for _ in 0..n {
        let segment = recorder.begin_segment("orders-api");
        segment.annotate("customer_tier", "gold");
        segment.add_metadata("request", &("GET", "/orders/42"));
        for name in ["DynamoDB", "orders@db.internal", "payments.example.com"] {
            segment.begin_subsegment(name).end();
        }
        segment.set_http_status(200);
        segment.end();
    }
    memory.datagrams()
}
