//! Without a daemon the centralized sampler stays quiet (one debug line, however many polls fail)
//! and samples by the local rules; a proxy answering garbage earns one warning, not one per poll.
#![cfg(feature = "centralized-sampling")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use xray_core::sampling::{CentralizedSampler, Sampler, SamplingRequest, SamplingRules};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn lines(&self, endpoint: &str, needle: &str) -> Vec<String> {
        String::from_utf8_lossy(
            &self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .lines()
        .filter(|l| l.contains(endpoint) && l.contains(needle))
        .map(str::to_owned)
        .collect()
    }
}

#[test]
fn no_daemon_is_one_debug_line_and_garbage_one_warning() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let sample_all = SamplingRules::builder()
        .default_rule(0, 1.0)
        .build()
        .unwrap();

    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sampler = CentralizedSampler::builder(closed.into())
        .local_rules(sample_all.clone())
        .rules_poll_interval(Duration::from_millis(20))
        .build();
    sampler.start();
    std::thread::sleep(Duration::from_millis(400)); // some 20 failed polls
    let d = sampler.decide(&SamplingRequest::new().url_path("/"));
    assert!(
        d.is_sampled() && d.rule_name().is_none(),
        "local rules decide"
    );
    sampler.shutdown();
    let endpoint = closed.to_string();
    let unreachable = capture.lines(&endpoint, "not reachable");
    assert_eq!(unreachable.len(), 1, "{unreachable:#?}");
    assert!(unreachable[0].contains("DEBUG"), "{}", unreachable[0]);
    assert!(capture.lines(&endpoint, "WARN").is_empty());

    // Something that answers, but not as X-Ray does.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let garbage = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "<html>not a daemon</html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let sampler = CentralizedSampler::builder(garbage.into())
        .local_rules(sample_all)
        .rules_poll_interval(Duration::from_millis(20))
        .build();
    sampler.start();
    std::thread::sleep(Duration::from_millis(400));
    assert!(sampler.decide(&SamplingRequest::new()).is_sampled());
    sampler.shutdown();
    let warnings = capture.lines(&garbage.to_string(), "unexpected answer");
    assert_eq!(warnings.len(), 1, "rate-limited: {warnings:#?}");
    assert!(warnings[0].contains("WARN") && warnings[0].contains("not a daemon"));
}
