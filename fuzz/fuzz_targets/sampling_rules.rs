//! Local sampling-rules documents: never panic; accepted rules rebuild identically through the
//! builder and decide without panicking on any request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xray_core::sampling::{LocalSampler, Sampler, SamplingRequest, SamplingRules};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let rules = match SamplingRules::from_json(text) {
        Ok(rules) => rules,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let mut builder =
        SamplingRules::builder().default_rule(rules.default_fixed_target(), rules.default_rate());
    for rule in rules.rules() {
        builder = builder.rule(rule.clone());
    }
    match builder.build() {
        Ok(rebuilt) => assert_eq!(rebuilt, rules, "the builder disagrees with the parser"),
        Err(e) => panic!("the builder rejects what the parser accepted: {e}"),
    }
    for rule in rules.rules() {
        assert!((0.0..=1.0).contains(&rule.rate()));
    }

    let sampler = LocalSampler::new(rules);
    // Request attributes taken from the input too, so patterns meet matching text.
    let words: Vec<&str> = text.split(['"', ' ', ',']).take(16).collect();
    for w in &words {
        let request = SamplingRequest::new().host(w).method(w).url_path(w);
        let _ = sampler.decide(&request);
    }
    let _ = sampler.decide(&SamplingRequest::new());
    let _ = sampler.decide(
        &SamplingRequest::new()
            .host("api.example.com")
            .method("GET")
            .url_path("/a/b"),
    );
});
