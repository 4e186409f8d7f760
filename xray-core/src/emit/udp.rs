use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{Datagram, EmitError, Emitter};
use crate::daemon::{DaemonAddress, Endpoint};

/// Sends datagrams to the daemon over UDP.
///
/// The socket is non-blocking and connected to the daemon address, so a send costs one system
/// call and never waits: when the socket buffer is full the document is dropped and counted.
/// A daemon address given as a host name is resolved on a background thread (retrying until it
/// resolves, so a daemon whose DNS name appears after the application starts is found); until
/// then documents are dropped and counted.
///
/// # Examples
///
/// ```no_run
/// use xray_core::{Recorder, daemon::DaemonAddress, emit::UdpEmitter};
///
/// let emitter = UdpEmitter::new(&"127.0.0.1:2000".parse::<DaemonAddress>()?);
/// let recorder = Recorder::builder().emitter(emitter).build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct UdpEmitter {
    inner: Arc<Inner>,
}

struct Inner {
    target: Endpoint,
    socket: OnceLock<UdpSocket>,
}

impl UdpEmitter {
    /// Creates an emitter for the UDP endpoint of `address`.
    ///
    /// This never fails: problems (an unresolvable name, no network) are logged and the emitter
    /// drops documents until they are resolved.
    pub fn new(address: &DaemonAddress) -> Self {
        let inner = Arc::new(Inner {
            target: address.udp().clone(),
            socket: OnceLock::new(),
        });
        match inner.target.socket_addr() {
            Some(addr) => inner.connect(addr),
            None => {
                let weak = Arc::downgrade(&inner);
                let spawned = std::thread::Builder::new()
                    .name("xray-resolve".into())
                    .spawn(move || resolve_loop(weak));
                if let Err(err) = spawned {
                    tracing::error!(target: "xray", error = %err, "could not start the daemon address resolver");
                }
            }
        }
        Self { inner }
    }

    /// The configured daemon endpoint.
    pub fn target(&self) -> &Endpoint {
        &self.inner.target
    }

    /// The resolved socket address of the daemon, once known.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.socket.get().and_then(|s| s.peer_addr().ok())
    }
}

impl Inner {
    fn connect(&self, addr: SocketAddr) {
        let bind: SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(bind)
            .and_then(|s| s.connect(addr).map(|()| s))
            .and_then(|s| s.set_nonblocking(true).map(|()| s));
        match socket {
            Ok(s) => {
                let _ = self.socket.set(s);
                tracing::debug!(target: "xray", daemon = %addr, "UDP emitter ready");
            }
            Err(err) => {
                tracing::error!(target: "xray", daemon = %addr, error = %err, "could not open the UDP socket for the X-Ray daemon; segments will be dropped");
            }
        }
    }
}

fn resolve_loop(weak: std::sync::Weak<Inner>) {
    let mut delay = Duration::from_millis(500);
    let mut logged = false;
    loop {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let target = format!("{}:{}", inner.target.host(), inner.target.port());
        match target.to_socket_addrs().map(|mut it| it.next()) {
            Ok(Some(addr)) => {
                inner.connect(addr);
                return;
            }
            Ok(None) | Err(_) if !logged => {
                tracing::warn!(target: "xray", daemon = %target, "cannot resolve the X-Ray daemon address yet; segments are dropped until it resolves (retrying)");
                logged = true;
            }
            _ => {}
        }
        drop(inner);
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

impl Emitter for UdpEmitter {
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError> {
        let socket = self
            .inner
            .socket
            .get()
            .ok_or(EmitError::not_ready("daemon address not resolved yet"))?;
        match socket.send(datagram.bytes()) {
            Ok(_) => Ok(()),
            Err(err) => Err(EmitError::io(err)),
        }
    }
}

impl fmt::Debug for UdpEmitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpEmitter")
            .field("target", &self.inner.target)
            .field("ready", &self.inner.socket.get().is_some())
            .finish()
    }
}
