//! Centralized sampling: `GetSamplingRules` and `SamplingTargets` response bodies, parsed and
//! applied as the poller does (manifest built, merged, decisions made). The first byte picks the
//! call; the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xray_core::fuzzing::{sampling_rules_response, sampling_targets_response};

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    if which & 1 == 0 {
        sampling_rules_response(body);
    } else {
        sampling_targets_response(body);
    }
});
