//! xray-local's receiver input: up to 8 datagrams (split at `\0\0`), each parsed as the receiver
//! does; the accepted documents are assembled into traces, rendered, serialized and turned into
//! a service graph — whatever their ids and parent links (cycles included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use xray_local::{ServiceGraph, Style};

fuzz_target!(|data: &[u8]| {
    let mut docs = Vec::new();
    let mut rest = data;
    for _ in 0..8 {
        let (datagram, tail) = match rest.windows(2).position(|w| w == b"\0\0") {
            Some(i) => (&rest[..i], &rest[i + 2..]),
            None => (rest, &[][..]),
        };
        match xray_local::fuzzing::parse_datagram(datagram, xray_local::DEFAULT_MAX_DATAGRAM_BYTES)
        {
            Ok((doc, _repaired)) => docs.push(doc),
            Err(rejection) => {
                let _ = rejection.to_string();
            }
        }
        if tail.is_empty() {
            break;
        }
        rest = tail;
    }
    if docs.is_empty() {
        return;
    }
    let traces = xray_local::assemble(docs);
    for trace in &traces {
        let _ = trace.to_string();
        let _ = serde_json::to_string(trace).expect("a trace serializes");
    }
    let graph = ServiceGraph::from_traces(&traces);
    let _ = graph.render(Style::Plain);
    let _ = graph.to_json();
});
