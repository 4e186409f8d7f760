//! Garbage, truncated and otherwise malformed datagrams over real UDP: each is counted under
//! its kind and reported to subscribers, and the receiver keeps assembling good documents sent
//! between them.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use xray_core::model::Timestamp;
use xray_core::{SegmentId, TraceId};
use xray_local::{Event, LocalReceiver, RejectKind};

use support::{HEADER, WAIT, datagram, eventually, send_raw};

fn good_document() -> String {
    let t = Timestamp::now().as_secs_f64();
    json!({
        "name": "svc", "id": SegmentId::new().to_string(), "trace_id": TraceId::new().to_string(),
        "start_time": t, "end_time": t + 0.01,
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_datagrams_are_counted_and_the_receiver_keeps_working() {
    let rx = LocalReceiver::builder()
        .quiet_period(Duration::from_millis(50))
        .max_datagram_bytes(4096)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut events = rx.subscribe();

    let good = datagram(&good_document());
    let truncated = good[..good.len() - 10].to_vec();
    let mut garbage: Vec<u8> = (0..512u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    garbage[0] = 0xff; // surely not UTF-8
    let big = datagram(&json!({"name": "x".repeat(8000)}).to_string());
    let bad: Vec<(RejectKind, Vec<u8>)> = vec![
        (RejectKind::NotUtf8, garbage),
        (RejectKind::NotUtf8, [HEADER.as_bytes(), b"{\"name\":\"\xc3\x28\"}"].concat()),
        (RejectKind::MissingHeader, good_document().into_bytes()),
        (RejectKind::MissingHeader, b"hello\nworld".to_vec()),
        (RejectKind::MissingHeader, Vec::new()),
        (RejectKind::BadHeader, [b"{\"format\":\"xml\",\"version\":1}\n".as_slice(), good_document().as_bytes()].concat()),
        (RejectKind::BadHeader, [b"{\"format\":\"json\",\"version\":2}\n".as_slice(), good_document().as_bytes()].concat()),
        (RejectKind::EmptyBody, HEADER.as_bytes().to_vec()),
        (RejectKind::TruncatedJson, truncated),
        (RejectKind::TruncatedJson, datagram("{\"name\": \"svc\", \"id\": ")),
        (RejectKind::MalformedJson, datagram("this is not json")),
        (RejectKind::MalformedJson, datagram(&format!("{}{}", good_document(), good_document()))),
        (RejectKind::InvalidDocument, datagram("{\"foo\": 1}")),
        (RejectKind::InvalidDocument, datagram(&json!({"name": "svc", "id": "zz", "trace_id": TraceId::new().to_string(), "start_time": 1.0}).to_string())),
        (RejectKind::Oversized, big),
    ];

    // Bad and good datagrams interleaved: every good one still makes a trace.
    for (_, d) in &bad {
        send_raw(rx.local_addr(), &[d, &datagram(&good_document())]);
    }
    let traces = rx
        .wait_for_traces(bad.len(), WAIT)
        .await
        .expect("every good document assembled");
    assert_eq!(traces.len(), bad.len());
    assert!(traces.iter().all(|t| t.is_complete()));

    let mut expected: BTreeMap<RejectKind, u64> = BTreeMap::new();
    for (kind, _) in &bad {
        *expected.entry(*kind).or_default() += 1;
    }
    assert!(eventually(|| rx.stats().rejected.total() == bad.len() as u64).await);
    let stats = rx.stats();
    for kind in RejectKind::ALL {
        assert_eq!(
            stats.rejected.get(kind),
            expected.get(&kind).copied().unwrap_or(0),
            "{kind:?}: {stats}"
        );
    }
    assert_eq!(stats.datagrams, 2 * bad.len() as u64);
    assert_eq!(stats.documents, bad.len() as u64);
    assert_eq!(stats.datagrams, stats.documents + stats.rejected.total());
    let text = stats.to_string();
    assert!(
        text.contains("15 rejected") && text.contains("2 truncated JSON"),
        "{text}"
    );
    let json = serde_json::to_value(stats).unwrap();
    assert_eq!(json["rejected"]["total"], 15);
    assert_eq!(json["rejected"]["oversized"], 1);

    // Subscribers saw each rejection, with its kind, sender and size.
    let mut seen: BTreeMap<RejectKind, u64> = BTreeMap::new();
    while let Some(event) = events.try_recv() {
        if let Event::Rejected(r) = event {
            assert_eq!(
                r.peer().map(|p| p.ip()),
                Some(std::net::Ipv4Addr::LOCALHOST.into())
            );
            if r.kind() == RejectKind::Oversized {
                assert!(r.bytes() > 4096 && r.detail().contains("4096"), "{r}");
            }
            *seen.entry(r.kind()).or_default() += 1;
        }
    }
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_that_only_partly_fit_the_model_are_repaired_not_lost() {
    let rx = support::receiver().await;
    let t = Timestamp::now().as_secs_f64();
    let trace_id = TraceId::new();
    // What other SDKs and the OpenTelemetry collector send: content_length as a string, an
    // exception id that is not hex, an annotation holding an object.
    let doc = json!({
        "name": "java-svc", "id": SegmentId::new().to_string(), "trace_id": trace_id.to_string(),
        "start_time": t, "end_time": t + 0.2, "fault": true,
        "http": {"request": {"method": "GET", "url": "http://svc/"}, "response": {"status": 502, "content_length": "12"}},
        "cause": {"exceptions": [{"id": "not-a-hex-id", "message": "upstream"}]},
        "annotations": {"ok": "yes", "nested": {"no": true}},
    });
    send_raw(rx.local_addr(), &[&datagram(&doc.to_string())]);
    let traces = rx.wait_for_traces(1, WAIT).await.unwrap();
    let root = &traces[0].roots()[0];
    assert_eq!(root.http_status(), Some(502));
    assert!(root.fault());
    assert_eq!(root.annotations().len(), 1);
    let stats = rx.stats();
    assert_eq!(
        (stats.documents, stats.repaired, stats.rejected.total()),
        (1, 1, 0)
    );
}
