//! The `xray-local` binary as a user runs it: it announces its address, prints finished traces
//! as they arrive, reports rejected datagrams, and on Ctrl-C (SIGINT) prints what is still
//! pending and the service graph, then exits successfully. Text and `--json` modes.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;
use xray_core::Recorder;
use xray_core::daemon::DaemonAddress;
use xray_core::model::Namespace;

const WAIT: Duration = Duration::from_secs(20);

struct Running {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    addr: SocketAddr,
}

fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collects lines until one satisfies `done` (returned last) or the wait runs out (panics).
fn until(rx: &Receiver<String>, what: &str, mut done: impl FnMut(&str) -> bool) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let stop = done(&line);
                seen.push(line);
                if stop {
                    return seen;
                }
            }
            Err(_) => panic!("waited for {what}; got:\n{}", seen.join("\n")),
        }
    }
}

fn start(extra: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xray-local"))
        .args(["--listen", "127.0.0.1:0", "--quiet-ms", "50"])
        .args(extra)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = lines(child.stdout.take().expect("piped"));
    let stderr = lines(child.stderr.take().expect("piped"));
    let banner = until(&stderr, "the banner", |l| l.contains("listening on udp://"));
    let banner = banner.last().expect("a line");
    let addr = banner
        .split("udp://")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));
    Running {
        child,
        stdout,
        stderr,
        addr,
    }
}

impl Running {
    fn recorder(&self) -> Recorder {
        Recorder::builder()
            .daemon_address(DaemonAddress::new(self.addr.into()))
            .sample_all()
            .ignore_env()
            .build()
            .expect("recorder")
    }

    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    fn exit_code(mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("the binary did not exit after SIGINT");
    }
}

fn send_trace(recorder: &Recorder, status: u16) -> String {
    let segment = recorder.begin_segment("frontend");
    let trace_id = segment.trace_id().expect("sampled").to_string();
    segment.annotate("customer", "c-42");
    let call = segment.begin_subsegment("DynamoDB");
    call.set_namespace(Namespace::Aws);
    call.update(|d| {
        d.aws_mut().operation = Some("PutItem".into());
        d.set_http_status(status);
    });
    call.end();
    segment.set_http_status(status);
    segment.end();
    trace_id
}

#[test]
fn prints_traces_rejections_and_the_graph_on_ctrl_c() {
    let bin = start(&["--graph-every", "0", "--color", "never"]);
    let recorder = bin.recorder();
    let trace_id = send_trace(&recorder, 500);

    let printed = until(&bin.stdout, "the trace", |l| l.contains("DynamoDB"));
    let header = printed
        .iter()
        .find(|l| l.starts_with("trace "))
        .expect("a trace header line");
    assert!(
        header.contains(&trace_id) && header.contains("[fault]"),
        "{header}"
    );
    let root = printed
        .iter()
        .find(|l| l.contains("frontend"))
        .expect("the segment line");
    assert!(
        root.contains("customer=c-42") && root.contains("→ 500"),
        "{root}"
    );
    assert!(printed.last().unwrap().contains("(aws)  PutItem"));

    // A malformed datagram is reported, and the receiver carries on.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(
            b"{\"format\": \"json\", \"version\": 1}\n{\"name\": ",
            bin.addr,
        )
        .unwrap();
    let errors = until(&bin.stderr, "the rejection", |l| {
        l.contains("rejected datagram")
    });
    assert!(
        errors.last().unwrap().contains("truncated JSON"),
        "{errors:?}"
    );

    // An in-progress segment is still pending at exit: it is printed, marked incomplete.
    let pending = recorder.begin_segment("slow-job");
    let pending_id = pending.trace_id().unwrap().to_string();
    let t = xray_core::model::Timestamp::now().as_secs_f64();
    let in_progress = format!(
        "{{\"format\": \"json\", \"version\": 1}}\n{{\"name\":\"slow-job\",\"id\":\"{}\",\"trace_id\":\"{pending_id}\",\"start_time\":{t},\"in_progress\":true}}",
        pending.id().unwrap()
    );
    socket.send_to(in_progress.as_bytes(), bin.addr).unwrap();
    std::thread::sleep(Duration::from_millis(300));

    bin.interrupt();
    let end = until(&bin.stdout, "the final report", |l| l.contains("receiver:"));
    let text = end.join("\n");
    assert!(
        text.contains(&pending_id) && text.contains("(incomplete)"),
        "{text}"
    );
    assert!(text.contains("[in progress]"), "{text}");
    assert!(text.contains("service graph  2 traces"), "{text}");
    for row in [
        "client → frontend",
        "frontend → DynamoDB",
        "client → slow-job",
    ] {
        let line = end.iter().find(|l| l.contains(row));
        // The pending segment has no duration yet, so it has a node but no edge.
        if row == "client → slow-job" {
            assert!(line.is_none(), "{text}");
        } else {
            let line = line.unwrap_or_else(|| panic!("{row} missing:\n{text}"));
            assert!(line.contains("1 (100%)"), "the fault is shown: {line}");
        }
    }
    assert!(text.contains("1 truncated JSON"), "{text}");
    assert!(!text.contains('\x1b'), "--color never");
    drop(pending);
    assert_eq!(bin.exit_code(), Some(0));
}

#[test]
fn json_lines_mode() {
    let bin = start(&["--json", "--graph-every", "1"]);
    let recorder = bin.recorder();
    let trace_id = send_trace(&recorder, 429);

    let parse = |line: &str| -> Value {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    };
    let first = until(&bin.stdout, "a trace line", |_| true);
    let trace = parse(&first[0]);
    assert_eq!(trace["type"], "trace");
    assert_eq!(trace["trace"]["trace_id"], trace_id.as_str());
    let root = &trace["trace"]["roots"][0];
    assert_eq!(root["name"], "frontend");
    assert_eq!(
        (root["error"].as_bool(), root["throttle"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(root["children"][0]["aws_operation"], "PutItem");

    // The periodic graph comes without Ctrl-C.
    let periodic = until(&bin.stdout, "a periodic graph", |l| {
        parse(l)["type"] == "graph"
    });
    let graph = parse(periodic.last().unwrap());
    assert_eq!(graph["final"], false);
    let edge = &graph["graph"]["edges"][0];
    assert_eq!(
        (edge["from"].as_str(), edge["to"].as_str()),
        (Some("client"), Some("service:frontend"))
    );
    assert_eq!(edge["stats"]["throttles"], 1);
    assert_eq!(edge["stats"]["throttle_rate"], 1.0);

    bin.interrupt();
    let end = until(&bin.stdout, "the final graph", |l| {
        parse(l)["final"] == true
    });
    let last = parse(end.last().unwrap());
    assert_eq!(last["stats"]["documents"], 1);
    assert_eq!(last["stats"]["rejected"]["total"], 0);
    assert_eq!(last["graph"]["nodes"][0]["id"], "client");
    assert_eq!(bin.exit_code(), Some(0));
}

#[test]
fn usage_errors_and_a_taken_port() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_xray-local"))
            .args(args)
            .output()
            .expect("runs")
    };
    let help = run(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--listen <ADDR>"));

    let bad = run(&["--bogus"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown argument"));

    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let busy = run(&["--listen", &addr]);
    assert_eq!(busy.status.code(), Some(1));
    let err = String::from_utf8_lossy(&busy.stderr);
    assert!(
        err.contains("cannot listen") && err.contains("AWS_XRAY_DAEMON_ADDRESS"),
        "{err}"
    );
}
