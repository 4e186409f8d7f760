//! How the recorder uses its sampler: upstream decisions, local rules from files, the rule name
//! of centralized decisions, and configuration errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;

use xray_core::emit::MemoryEmitter;
use xray_core::header::Sampled;
use xray_core::sampling::{
    AlwaysSample, NeverSample, Sampler, SamplingDecision, SamplingRequest, SamplingRules,
};
use xray_core::{Recorder, TraceHeader};

const ROOT: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8";

fn recorder(sampler: impl Sampler) -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sampler(sampler)
        .ignore_env()
        .build()
        .unwrap();
    (recorder, emitter)
}

fn header(sampled: &str) -> TraceHeader {
    format!("{ROOT}{sampled}").parse().unwrap()
}

#[test]
fn upstream_decisions_are_obeyed_and_requests_ask_the_sampler() {
    let (never, _) = recorder(NeverSample);
    let (always, _) = recorder(AlwaysSample);

    let yes = header(";Sampled=1");
    assert!(
        never
            .segment("a")
            .trace_header(Some(&yes))
            .begin()
            .is_sampled()
    );
    let no = header(";Sampled=0");
    assert!(
        !always
            .segment("a")
            .trace_header(Some(&no))
            .begin()
            .is_sampled()
    );

    for (h, asked) in [(header(";Sampled=?"), true), (header(""), false)] {
        let s = always.segment("a").trace_header(Some(&h)).begin();
        assert!(s.is_sampled());
        let n = never.segment("a").trace_header(Some(&h)).begin();
        assert!(!n.is_sampled());
        // The response reports the decision only when it was asked for with `Sampled=?`.
        let response = TraceHeader::for_response(h.root(), Some(&h), s.is_sampled());
        assert_eq!(response.sampled(), asked.then_some(Sampled::Yes));
        let response = TraceHeader::for_response(h.root(), Some(&h), n.is_sampled());
        assert_eq!(response.sampled(), asked.then_some(Sampled::No));
    }
    assert!(!never.begin_segment("no header").is_sampled());
}

/// Samples what the path says, naming a rule, and remembers what it was asked.
#[derive(Debug, Default)]
struct ByPath {
    seen: std::sync::Mutex<Vec<String>>,
}

impl Sampler for ByPath {
    fn decide(&self, r: &SamplingRequest<'_>) -> SamplingDecision {
        self.seen.lock().unwrap().push(format!(
            "{:?} {:?} {:?} {:?} {:?}",
            r.host, r.method, r.url_path, r.service_name, r.service_type
        ));
        if r.url_path == Some("/traced") {
            SamplingDecision::sampled_by_rule("orders-rule".into())
        } else {
            SamplingDecision::not_sampled()
        }
    }
}

#[test]
fn a_custom_sampler_sees_the_request_and_its_rule_is_recorded() {
    let sampler = std::sync::Arc::new(ByPath::default());
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sampler(sampler.clone())
        .origin("AWS::EC2::Instance")
        .ignore_env()
        .build()
        .unwrap();
    let req = SamplingRequest::new()
        .host("shop.example.com")
        .method("GET");
    recorder
        .segment("orders")
        .sampling_request(req.url_path("/traced"))
        .begin()
        .end();
    let skipped = recorder
        .segment("orders")
        .sampling_request(req.url_path("/other"))
        .begin();
    assert!(!skipped.is_sampled());
    assert_eq!(
        *sampler.seen.lock().unwrap(),
        [
            "Some(\"shop.example.com\") Some(\"GET\") Some(\"/traced\") Some(\"orders\") Some(\"AWS::EC2::Instance\")",
            "Some(\"shop.example.com\") Some(\"GET\") Some(\"/other\") Some(\"orders\") Some(\"AWS::EC2::Instance\")",
        ]
    );
    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    let json = serde_json::to_value(&docs[0]).unwrap();
    assert_eq!(json["aws"]["xray"]["sampling_rule_name"], "orders-rule");
}

#[test]
fn rules_files_are_loaded_and_bad_ones_fail_the_build_naming_file_rule_and_field() {
    let dir = std::env::temp_dir().join(format!("xray-sampling-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let good = dir.join("good.json");
    std::fs::File::create(&good)
        .unwrap()
        .write_all(
            br#"{"version": 1, "default": {"fixed_target": 0, "rate": 0},
                 "rules": [{"description": "checkout", "id": "1", "service_name": "shop.*",
                            "http_method": "*", "url_path": "/checkout", "fixed_target": 0, "rate": 1}]}"#,
        )
        .unwrap();
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sampling_rules_file(&good)
        .local_sampling_only()
        .ignore_env()
        .build()
        .unwrap();
    // Version 1 `service_name` is matched against the Host header.
    let checkout = SamplingRequest::new()
        .host("shop.example.com")
        .url_path("/checkout");
    assert!(
        recorder
            .segment("web")
            .sampling_request(checkout)
            .begin()
            .is_sampled()
    );
    let elsewhere = SamplingRequest::new()
        .host("admin.example.com")
        .url_path("/checkout");
    assert!(
        !recorder
            .segment("web")
            .sampling_request(elsewhere)
            .begin()
            .is_sampled()
    );

    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05},
            "rules": [{"description": "checkout", "host": "*", "http_method": "*",
                       "url_path": "/checkout", "fixed_target": 1, "rate": 1.5}]}"#,
    )
    .unwrap();
    let err = Recorder::builder()
        .emitter(MemoryEmitter::new())
        .sampling_rules_file(&bad)
        .ignore_env()
        .build()
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&bad.display().to_string()), "{msg}");
    assert!(msg.contains("rules[0] (\"checkout\")"), "{msg}");
    assert!(msg.contains("`rate`") && msg.contains("1.5"), "{msg}");

    let missing = dir.join("missing.json");
    let err = Recorder::builder()
        .sampling_rules_file(&missing)
        .ignore_env()
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("missing.json"), "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the io error is the source"
    );

    // The same document from a string gives the typed error.
    let e = SamplingRules::from_file(&bad).unwrap_err();
    assert_eq!((e.rule_index(), e.field()), (Some(0), Some("rate")));
    assert_eq!(e.file(), Some(bad.as_path()));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_disabled_recorder_needs_no_sampler() {
    let r = Recorder::builder()
        .enabled(false)
        .sampling_rules_file("/nonexistent/rules.json")
        .ignore_env()
        .build()
        .unwrap();
    assert!(!r.begin_segment("x").is_sampled());
    r.shutdown();
}
