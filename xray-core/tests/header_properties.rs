//! Property tests of the `X-Amzn-Trace-Id` parser: nothing panics, and formatting then parsing
//! gives back the same header.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use xray_core::header::{MAX_EXTRA_LEN, Sampled, TraceHeader};
use xray_core::{SegmentId, TraceId};

fn sampled() -> impl Strategy<Value = Option<Sampled>> {
    prop_oneof![
        Just(None),
        Just(Some(Sampled::Yes)),
        Just(Some(Sampled::No)),
        Just(Some(Sampled::Requested)),
    ]
}

fn header() -> impl Strategy<Value = TraceHeader> {
    (
        any::<u32>(),
        any::<[u8; 12]>(),
        proptest::option::of(any::<u64>()),
        sampled(),
        proptest::collection::vec(
            ("[A-Za-z][A-Za-z0-9_-]{0,15}", "[A-Za-z0-9:|._-]{0,30}"),
            0..6,
        ),
    )
        .prop_map(|(epoch, random, parent, sampled, extras)| {
            let mut h = TraceHeader::new(TraceId::from_parts(epoch, random)).with_sampled(sampled);
            if let Some(p) = parent {
                h = h.with_parent(SegmentId::from_u64(p));
            }
            for (k, v) in extras {
                // Reserved keys and overflow are refused; the rest is kept.
                if let Ok(next) = h.clone().with_extra(&k, &v) {
                    h = next;
                }
            }
            h
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = TraceHeader::parse_bytes(&bytes);
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        if let Ok(h) = TraceHeader::parse(&text) {
            // Whatever is accepted can be sent on.
            prop_assert!(h.to_header_value().to_str().is_ok());
            let extra: usize = h.extra().map(|(k, v)| k.len() + v.len() + 2).sum();
            prop_assert!(extra <= MAX_EXTRA_LEN + 1);
        }
    }

    #[test]
    fn header_shaped_noise_never_panics(
        parts in proptest::collection::vec(
            ("(Root|root|Parent|PARENT|Sampled|Self|Lineage|[A-Za-z]{1,5}| )", "[ =;0-9a-fA-F?-]{0,40}"),
            0..10,
        )
    ) {
        let text: String = parts.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";");
        let _ = TraceHeader::parse(&text);
    }

    #[test]
    fn format_then_parse_is_identity(h in header()) {
        let text = h.to_string();
        let back = TraceHeader::parse(&text).unwrap();
        prop_assert_eq!(&back, &h);
        prop_assert_eq!(back.to_string(), text);
    }

    #[test]
    fn whitespace_and_case_do_not_matter(h in header()) {
        let text = h.to_string();
        let noisy: String = text
            .split(';')
            .map(|part| {
                let (k, v) = part.split_once('=').unwrap();
                let k = if matches!(k, "Root" | "Parent" | "Sampled") { k.to_ascii_lowercase() } else { k.to_owned() };
                format!("  {k} = {v} ")
            })
            .collect::<Vec<_>>()
            .join(";");
        prop_assert_eq!(TraceHeader::parse(&noisy).unwrap(), h);
    }
}
