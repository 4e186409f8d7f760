//! The console end to end in a real headless browser: the `xray-local` binary with `--ui`, the
//! `server` example (examples/examples/server.rs) sending its segments to it while requests
//! run, and `node xray-local/tests/browser/e2e.mjs` driving Debian's chromium through
//! playwright-core. Screenshots land in `target/ui-e2e/`.
//!
//! Needs `/usr/bin/chromium` (or `CHROMIUM`), `node`, and `npm ci --prefix
//! xray-local/tests/browser` (scripts/services.sh `install_browser` does both); without them
//! the test prints a "skipped" line, unless `XRAY_REQUIRE_SERVICES=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// Every route of the example, with a client error, a throttle and faults.
const REQUESTS: [&str; 11] = [
    "/hello",
    "/hello",
    "/status/404",
    "/status/429",
    "/status/500",
    "/status/503",
    "/chain",
    "/chain",
    "/db?name=alice",
    "/db?name=bob",
    "/db?name=nobody",
];

/// Kills the child when the test ends, whichever way.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Why the browser test cannot run here, if it cannot.
fn missing_prerequisite(chromium: &Path, browser_dir: &Path) -> Option<String> {
    if !chromium.exists() {
        return Some(format!(
            "{} not found (apt-get install chromium)",
            chromium.display()
        ));
    }
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("node not found".to_owned());
    }
    if !browser_dir.join("node_modules/playwright-core").exists() {
        return Some(format!(
            "playwright-core not installed (npm ci --prefix {})",
            browser_dir.display()
        ));
    }
    None
}

fn lines(stream: impl Read + Send + 'static) -> Receiver<String> {
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

/// Reads lines until `find` extracts something from one; panics with what was seen otherwise.
fn wait_line<T>(rx: &Receiver<String>, what: &str, find: impl Fn(&str) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(v) = find(&line) {
                    return v;
                }
                seen.push(line);
            }
            Err(_) => break,
        }
    }
    panic!("no {what} in:\n{}", seen.join("\n"));
}

fn addr_after(line: &str, marker: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(marker)? + marker.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// A plain HTTP/1.0 GET (the example's own client would be traced: this one is the outside
/// caller). Returns the status.
fn http_get(addr: SocketAddr, path: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The `server` example's binary: built with the workspace's tests (cargo builds examples for
/// `cargo test`/nextest), else built now.
fn server_example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/ui_browser-<hash> → target/<profile>/examples/server
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("examples").join("server");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args(["build", "-p", "examples", "--example", "server"])
            .current_dir(workspace())
            .status()
            .unwrap();
        assert!(status.success(), "building the server example failed");
    }
    path
}

#[test]
fn console_in_a_headless_browser() {
    let root = workspace();
    let browser_dir = root.join("xray-local/tests/browser");
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if let Some(why) = missing_prerequisite(&chromium, &browser_dir) {
        if std::env::var("XRAY_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!("XRAY_REQUIRE_SERVICES=1 but the browser test cannot run: {why}");
        }
        eprintln!("skipped: {why}");
        return;
    }
    let out_dir = root.join("target/ui-e2e");
    std::fs::create_dir_all(&out_dir).unwrap();

    // The receiver with its console, on ephemeral ports it announces on stderr.
    let mut receiver = Command::new(env!("CARGO_BIN_EXE_xray-local"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--ui",
            "127.0.0.1:0",
            "--quiet-ms",
            "100",
        ])
        .args(["--group", "faults=fault", "--graph-every", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let receiver_err = lines(receiver.stderr.take().unwrap());
    let receiver = Proc(receiver);
    let ui = wait_line(&receiver_err, "console address", |l| {
        addr_after(l, "console on http://")
    });
    let udp = wait_line(&receiver_err, "receiver address", |l| {
        addr_after(l, "udp://")
    });

    // The example service, tracing every request (a local sampling rule at 100%) into it.
    let rules = out_dir.join("sample-everything.json");
    std::fs::write(
        &rules,
        r#"{"version": 2, "rules": [], "default": {"fixed_target": 0, "rate": 1.0}}"#,
    )
    .unwrap();
    let mut server = Command::new(server_example())
        .env("AWS_XRAY_DAEMON_ADDRESS", udp.to_string())
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("XRAY_SAMPLING_RULES", &rules)
        .env("RUST_LOG", "info")
        .env_remove("AWS_ENDPOINT_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .current_dir(&out_dir)
        .spawn()
        .unwrap();
    let server_err = lines(server.stderr.take().unwrap());
    let server = Proc(server);
    let app = wait_line(&server_err, "server address", |l| {
        addr_after(l, "try http://")
    });

    let statuses: Vec<u16> = REQUESTS.iter().map(|p| http_get(app, p)).collect();
    assert_eq!(
        &statuses[..6],
        [200, 200, 404, 429, 500, 503],
        "{statuses:?}"
    );

    // More traffic while the browser looks: the page refreshes by itself.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) && sent < 200 {
                http_get(
                    app,
                    if sent % 2 == 0 {
                        "/hello"
                    } else {
                        "/status/404"
                    },
                );
                sent += 1;
                std::thread::sleep(Duration::from_millis(250));
            }
            sent
        })
    };

    let output = Command::new("node")
        .arg("e2e.mjs")
        .current_dir(&browser_dir)
        .env("XRAY_UI_URL", format!("http://{ui}/"))
        .env("XRAY_UI_SCREENSHOTS", &out_dir)
        .env("XRAY_UI_MIN_TRACES", REQUESTS.len().to_string())
        .env("XRAY_UI_SERVICE", "example-server")
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let sent = traffic.join().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "the browser test failed (screenshot in {}):\n{stdout}\n{stderr}",
        out_dir.join("failure.png").display()
    );
    assert!(stdout.contains("passed, 0 failed"), "{stdout}");
    assert!(sent > 0);
    for shot in ["console.png", "trace.png"] {
        let meta = std::fs::metadata(out_dir.join(shot)).unwrap();
        assert!(meta.len() > 10_000, "{shot} is {} bytes", meta.len());
    }
    drop(server);
    drop(receiver);
}
