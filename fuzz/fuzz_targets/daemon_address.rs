//! `AWS_XRAY_DAEMON_ADDRESS` parsing: never panics, and every accepted value formats to a string
//! that parses to the same address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xray_core::daemon::DaemonAddress;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.parse::<DaemonAddress>() {
        Ok(address) => {
            let formatted = address.to_string();
            let again: DaemonAddress = formatted
                .parse()
                .unwrap_or_else(|e| panic!("{formatted:?} (from {text:?}) does not parse: {e}"));
            assert_eq!(again, address, "{text:?} -> {formatted:?}");
            for endpoint in [address.udp(), address.tcp()] {
                if let Some(addr) = endpoint.socket_addr() {
                    assert_eq!(addr.port(), endpoint.port());
                } else {
                    // A DNS name: resolved later, so it must be a plausible one.
                    let host = endpoint.host();
                    assert!(!host.is_empty() && host.len() <= 253, "{host:?}");
                    assert!(endpoint.port() != 0);
                }
            }
        }
        Err(e) => {
            // The message quotes the value, cut to a bounded length.
            assert!(e.to_string().len() < 2048, "unbounded error message");
        }
    }
});
