//! Entry points for the fuzz targets in `fuzz/`: the centralized sampler's response parsing and
//! what the poller does with a parsed response, without a network.

use super::rule::{Manifest, catch_all_rule as rule};
use super::wire::{self, GetSamplingRulesOutput, GetSamplingTargetsOutput, SamplingRule};
use crate::sampling::SamplingRequest;

/// The requests every fuzzed manifest is asked about: empty, typical and odd attributes.
const REQUESTS: [(&str, &str, &str, &str); 4] = [
    ("", "", "", ""),
    ("api.example.com", "GET", "/orders/7", "orders"),
    ("*", "*", "*", "*"),
    ("ä?", "pöst", "/a/b/../c?x=1", "s\u{0}"),
];

fn exercise(manifest: &Manifest, now: u64) {
    for (host, method, path, service) in REQUESTS {
        let request = SamplingRequest::new()
            .host(host)
            .method(method)
            .url_path(path)
            .service_name(service)
            .service_type("AWS::EC2::Instance")
            .resource_arn("arn:aws:lambda:eu-west-1:1:function:f");
        for _ in 0..3 {
            let _ = manifest.decide(&request, now);
        }
        let _ = manifest.decide(&SamplingRequest::new(), now);
    }
    let _ = manifest.snapshots(now.saturating_add(3600), "0123456789abcdef01234567");
    let _ = manifest.is_fresh(now);
}

/// Parses a `GetSamplingRules` response as the poller does, builds the manifest (twice, the
/// second time merging with the first as a refresh does) and makes decisions with it.
pub fn sampling_rules_response(body: &[u8]) {
    let Ok(out) = serde_json::from_slice::<GetSamplingRulesOutput>(body) else {
        return;
    };
    let rules: Vec<SamplingRule> = out
        .sampling_rule_records
        .into_iter()
        .filter_map(|r| r.sampling_rule)
        .collect();
    let (first, _) = Manifest::build(rules.iter().cloned(), None, 1_700_000_000);
    exercise(&first, 1_700_000_000);
    let (second, _) = Manifest::build(rules, Some(&first), 1_700_000_010);
    exercise(&second, 1_700_000_010);
}

/// Parses a `GetSamplingTargets` response as the poller does and applies it to a manifest of a
/// few fixed rules, then makes decisions with it.
pub fn sampling_targets_response(body: &[u8]) {
    let Ok(out) = serde_json::from_slice::<GetSamplingTargetsOutput>(body) else {
        return;
    };
    let (manifest, _) = Manifest::build(
        [
            rule("Default", 10_000, 0.05, 1),
            rule("a", 1, 0.5, 10),
            rule("b", 2, 0.0, 0),
        ],
        None,
        1_700_000_000,
    );
    exercise(&manifest, 1_700_000_000);
    let now = 1_700_000_020;
    let _ = manifest.apply_targets(&out.sampling_target_documents, now);
    for u in out.unprocessed_statistics.iter().flatten() {
        let _ = u.error_code.as_deref().is_some_and(|c| c.starts_with('4'));
    }
    let _ = out.last_rule_modification.map(wire::epoch_secs);
    exercise(&manifest, now);
    exercise(&manifest, u64::MAX);
}
