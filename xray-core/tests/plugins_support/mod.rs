//! Shared by the plugin tests: a real HTTP/1.1 server on loopback that answers like a metadata
//! endpoint (IMDS, the ECS task metadata endpoint), records what it was asked, and can hang.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use xray_core::Recorder;
use xray_core::emit::MemoryEmitter;
use xray_core::model::Document;

/// One request as the server saw it (header names lower-cased).
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
}

/// What to answer.
pub enum Answer {
    /// Status and JSON/text body.
    Reply(u16, String),
    /// Accept the request and never answer.
    Hang,
}

type Handler = dyn Fn(&Seen) -> Answer + Send + Sync;

pub struct MetadataServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl MetadataServer {
    pub fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = Arc::clone(&seen);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let handler = Arc::clone(&handler);
                let log = Arc::clone(&log);
                thread::spawn(move || serve(stream, &*handler, &log));
            }
        });
        Self { addr, seen }
    }

    /// A server that accepts connections and never answers.
    pub fn hanging() -> Self {
        Self::start(|_| Answer::Hang)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let request = Seen {
        method,
        path,
        headers,
    };
    log.lock().unwrap().push(request.clone());
    match handler(&request) {
        Answer::Reply(status, body) => {
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        Answer::Hang => {
            // Keep the connection open, silent, longer than any probe deadline.
            thread::sleep(Duration::from_secs(30));
            drop(stream);
        }
    }
}

/// A recorder that keeps documents in memory, reads variables only from `env`, and has the
/// given plugins registered by `configure`.
pub fn recorder_with(
    env: &[(&str, &str)],
    configure: impl FnOnce(xray_core::RecorderBuilder) -> xray_core::RecorderBuilder,
) -> (Recorder, MemoryEmitter) {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let emitter = MemoryEmitter::new();
    let builder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .env_lookup(move |k| env.get(k).cloned());
    (configure(builder).build().unwrap(), emitter)
}

/// Sends one segment and returns its document.
pub fn one_segment(recorder: &Recorder, emitter: &MemoryEmitter) -> Document {
    recorder.begin_segment("probe-test").end();
    let mut docs = emitter.take();
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "xray-plugins-{tag}-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// The host name as the kernel reports it, which the ECS and EKS plugins record.
pub fn kernel_hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
}

/// A 64-hex-digit container id.
pub const CONTAINER_ID: &str = "3c8e6f1a2b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";

/// A cgroup v1 file of a Kubernetes container under the systemd driver.
pub fn cgroup_file() -> String {
    format!(
        "12:hugetlb:/\n11:memory:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7f.slice/cri-containerd-{CONTAINER_ID}.scope\n0::/\n"
    )
}
