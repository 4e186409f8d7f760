//! `xray-local daemon` end to end against the moto server's X-Ray API: documents from this
//! workspace's SDK and from the official Python SDK (`aws-xray-sdk` from PyPI) go through the
//! real daemon binary, and every one of them is read back from moto exactly once.
//!
//! Needs `AWS_ENDPOINT_URL` (`source scripts/services.sh && start_moto`); without it the test
//! prints a skip line, unless `XRAY_REQUIRE_SERVICES=1`. The Python SDK is installed into a
//! virtualenv under the target directory on first use.

#![cfg(feature = "daemon")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_xray::config::{BehaviorVersion, Credentials, Region};
use xray_core::Recorder;
use xray_core::daemon::DaemonAddress;

const OURS: usize = 180;
const PYTHON: usize = 70;

fn required() -> bool {
    std::env::var("XRAY_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

fn free_port() -> u16 {
    // A port free for both UDP and TCP, as the daemon binds both.
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The daemon binary, killed with SIGTERM (a clean flush) at the end of the test.
struct DaemonProcess(Child);

impl DaemonProcess {
    fn terminate(mut self) -> String {
        let pid = self.0.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let output = std::mem::replace(&mut self.0, Command::new("true").spawn().unwrap())
            .wait_with_output()
            .unwrap();
        assert!(output.status.success(), "daemon exit: {:?}", output.status);
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python_sdk() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("xray-python-sdk");
    let python = venv.join("bin/python");
    let ready = |p: &Path| {
        Command::new(p)
            .args(["-c", "import aws_xray_sdk"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready(&python) {
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status();
        let installed = made.is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "aws-xray-sdk==2.*"])
                .status()
                .is_ok_and(|s| s.success());
        if !installed || !ready(&python) {
            return None;
        }
    }
    Some(python)
}

const PYTHON_SCRIPT: &str = r#"
import json, sys
from aws_xray_sdk.core import xray_recorder
xray_recorder.configure(service="python-svc", daemon_address=sys.argv[1], sampling=False,
                        context_missing="LOG_ERROR", plugins=())
sent = []
for i in range(int(sys.argv[2])):
    segment = xray_recorder.begin_segment("python-svc")
    segment.put_annotation("i", i)
    xray_recorder.begin_subsegment("work")
    xray_recorder.end_subsegment()
    sent.append([segment.trace_id, segment.id])
    xray_recorder.end_segment()
print(json.dumps(sent))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_document_from_both_sdks_reaches_moto_once() {
    let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") else {
        assert!(
            !required(),
            "AWS_ENDPOINT_URL not set and XRAY_REQUIRE_SERVICES=1"
        );
        println!("skipped: AWS_ENDPOINT_URL not set (source scripts/services.sh && start_moto)");
        return;
    };
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_xray-local"))
        .args(["daemon", "-b", &address, "-t", &address, "-n", "us-east-1"])
        .args([
            "--endpoint-url",
            &endpoint,
            "--log-level",
            "info",
            "--metrics-every",
            "1",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut daemon = DaemonProcess(child);
    // The banner on stderr says the sockets are bound.
    let mut stderr = BufReader::new(daemon.0.stderr.take().unwrap());
    let mut log = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "daemon exited: {log}"
        );
        log.push_str(&line);
        if line.contains("listening on udp://") {
            break;
        }
    }
    let log_reader = std::thread::spawn(move || {
        let mut rest = String::new();
        for line in stderr.lines() {
            rest.push_str(&line.unwrap());
            rest.push('\n');
        }
        rest
    });

    // Our SDK: segments with nested subsegments, one document each.
    let addr: SocketAddr = address.parse().unwrap();
    let recorder = Recorder::builder()
        .daemon_address(DaemonAddress::new(addr.into()))
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    let mut sent: Vec<(String, String)> = Vec::new();
    for i in 0..OURS {
        let segment = recorder.begin_segment("rust-svc");
        segment.annotate("i", i as u64);
        let sub = segment.begin_subsegment("work");
        sub.begin_subsegment("io").end();
        sub.end();
        sent.push((
            segment.trace_id().unwrap().to_string(),
            segment.id().unwrap().to_string(),
        ));
        segment.end();
        if i % 40 == 39 {
            recorder.flush();
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    recorder.flush();

    // The official Python SDK.
    match python_sdk() {
        Some(python) => {
            let out = Command::new(python)
                .args(["-c", PYTHON_SCRIPT, &address, &PYTHON.to_string()])
                .env("AWS_XRAY_DAEMON_ADDRESS", &address)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let ids: Vec<(String, String)> = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(ids.len(), PYTHON);
            sent.extend(ids);
        }
        None => {
            assert!(!required(), "cannot install aws-xray-sdk from PyPI");
            println!("skipped the Python SDK part: cannot install aws-xray-sdk from PyPI");
        }
    }

    // A document the official daemon forwards (its header is valid) but X-Ray refuses: moto
    // returns it in UnprocessedTraceSegments without an id; it is counted, not retried.
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(b"{\"format\":\"json\",\"version\":1}\nnot a document", addr)
        .unwrap();

    // SIGTERM: the daemon flushes everything before it exits.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let exit_log = daemon.terminate();
    let log = format!("{log}{exit_log}{}", log_reader.join().unwrap());
    let last = log
        .lines()
        .rfind(|l| l.contains("xray-local daemon stopped:"))
        .unwrap_or_else(|| panic!("no final metrics line in {log}"));
    let number = |what: &str| -> u64 {
        last.split(&format!("{what} "))
            .nth(1)
            .unwrap()
            .split([',', ' ', ')'])
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(number("received"), sent.len() as u64 + 1, "{last}");
    assert_eq!(number("unprocessed"), 1, "{last}");
    assert_eq!(number("uploaded"), sent.len() as u64, "{last}");
    assert_eq!(number("rejected"), 0, "{last}");
    assert_eq!(number("failed"), 0, "{last}");
    let batches: u64 = last
        .split("uploaded ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().nth(2))
        .unwrap()
        .parse()
        .unwrap();
    assert!(batches >= (sent.len() as u64).div_ceil(50), "{last}");
    assert!(number("(largest") <= 50, "{last}");

    // Read everything back from moto.
    let config = aws_sdk_xray::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let xray = aws_sdk_xray::Client::from_conf(config);
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    for (trace, id) in &sent {
        expected.entry(trace.clone()).or_default().push(id.clone());
    }
    let trace_ids: Vec<String> = expected.keys().cloned().collect();
    let mut found: HashMap<String, Vec<String>> = HashMap::new();
    let start = Instant::now();
    for chunk in trace_ids.chunks(5) {
        let out = xray
            .batch_get_traces()
            .set_trace_ids(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        for trace in out.traces() {
            let ids = found.entry(trace.id().unwrap().to_owned()).or_default();
            ids.extend(trace.segments().iter().map(|s| s.id().unwrap().to_owned()));
        }
    }
    for ids in found.values_mut().chain(expected.values_mut()) {
        ids.sort();
    }
    assert_eq!(found.len(), expected.len(), "every trace is in moto");
    assert_eq!(found, expected, "every document exactly once");
    println!(
        "{} documents ({} from the Python SDK) read back from moto in {:?}; {last}",
        sent.len(),
        sent.len() - OURS,
        start.elapsed()
    );
}
