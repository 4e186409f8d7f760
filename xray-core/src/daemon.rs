//! The daemon address: where segments (UDP) and sampling requests (TCP) go.
//!
//! `AWS_XRAY_DAEMON_ADDRESS` takes two forms, as in every official SDK:
//!
//! - `host:port` — both UDP and TCP, e.g. `127.0.0.1:2000` or `xray-daemon:2000`;
//! - `tcp:host:port udp:host:port` (either order, any whitespace between) — separate endpoints.
//!
//! Hosts may be IPv4 or IPv6 literals (IPv6 in brackets, `[::1]:2000`) or DNS names. The default
//! is `127.0.0.1:2000`.
//!
//! ```
//! use xray_core::daemon::DaemonAddress;
//!
//! let a: DaemonAddress = "tcp:127.0.0.1:2000 udp:127.0.0.2:2001".parse()?;
//! assert_eq!(a.udp().to_string(), "127.0.0.2:2001");
//! assert_eq!(a.tcp().to_string(), "127.0.0.1:2000");
//!
//! let err = "localhost".parse::<DaemonAddress>().unwrap_err();
//! assert!(err.to_string().contains("localhost"));
//! # Ok::<(), xray_core::daemon::DaemonAddressError>(())
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

/// The environment variable holding the daemon address.
pub const ENV_DAEMON_ADDRESS: &str = "AWS_XRAY_DAEMON_ADDRESS";

/// The UDP and TCP endpoints of the X-Ray daemon (or of anything that speaks its protocol).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DaemonAddress {
    udp: Endpoint,
    tcp: Endpoint,
}

impl DaemonAddress {
    /// Both protocols at one endpoint.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            udp: endpoint.clone(),
            tcp: endpoint,
        }
    }

    /// Separate endpoints.
    pub fn with_endpoints(udp: Endpoint, tcp: Endpoint) -> Self {
        Self { udp, tcp }
    }

    /// Where segment documents go.
    pub fn udp(&self) -> &Endpoint {
        &self.udp
    }

    /// Where sampling rules and targets are asked for.
    pub fn tcp(&self) -> &Endpoint {
        &self.tcp
    }

    /// Reads `AWS_XRAY_DAEMON_ADDRESS`.
    ///
    /// # Errors
    ///
    /// [`DaemonAddressError`] when the variable is set but malformed; `Ok(None)` when unset.
    pub fn from_env() -> Result<Option<Self>, DaemonAddressError> {
        match std::env::var(ENV_DAEMON_ADDRESS) {
            Ok(v) if !v.trim().is_empty() => v.parse().map(Some),
            _ => Ok(None),
        }
    }
}

impl Default for DaemonAddress {
    fn default() -> Self {
        Self::new(Endpoint::from(SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            2000,
        ))))
    }
}

impl fmt::Display for DaemonAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.udp == self.tcp {
            write!(f, "{}", self.udp)
        } else {
            write!(f, "tcp:{} udp:{}", self.tcp, self.udp)
        }
    }
}

impl FromStr for DaemonAddress {
    type Err = DaemonAddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &'static str| DaemonAddressError {
            value: s.chars().take(200).collect(),
            reason,
        };
        let trimmed = s.trim();
        let parts: Vec<&str> = trimmed.split_whitespace().collect();
        match parts.as_slice() {
            [single] => {
                if single.starts_with("tcp:") || single.starts_with("udp:") {
                    return Err(err("the `tcp:... udp:...` form needs both endpoints"));
                }
                Ok(Self::new(Endpoint::parse(single).map_err(err)?))
            }
            [a, b] => {
                let (mut udp, mut tcp) = (None, None);
                for p in [a, b] {
                    if let Some(rest) = p.strip_prefix("udp:") {
                        if udp.replace(Endpoint::parse(rest).map_err(err)?).is_some() {
                            return Err(err("`udp:` given twice"));
                        }
                    } else if let Some(rest) = p.strip_prefix("tcp:") {
                        if tcp.replace(Endpoint::parse(rest).map_err(err)?).is_some() {
                            return Err(err("`tcp:` given twice"));
                        }
                    } else {
                        return Err(err("expected `tcp:host:port udp:host:port`"));
                    }
                }
                match (udp, tcp) {
                    (Some(udp), Some(tcp)) => Ok(Self { udp, tcp }),
                    _ => Err(err("expected `tcp:host:port udp:host:port`")),
                }
            }
            [] => Err(err("empty address")),
            _ => Err(err("expected `host:port` or `tcp:host:port udp:host:port`")),
        }
    }
}

/// One `host:port` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    host: Host,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Endpoint {
    /// The host: an IP literal or a DNS name.
    pub fn host(&self) -> String {
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
            Host::Ip(ip) => ip.to_string(),
            Host::Name(n) => n.clone(),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The socket address when the host is an IP literal (no resolution needed).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Ip(ip) => Some(SocketAddr::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }

    fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() {
            return Err("empty endpoint");
        }
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(addr.into());
        }
        let (host, port) = s.rsplit_once(':').ok_or("missing `:port`")?;
        if host.is_empty() {
            return Err("missing host");
        }
        // `u16::from_str` also takes a leading `+`, which is no port.
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err("the port is not a number from 1 to 65535");
        }
        let port: u16 = port
            .parse()
            .map_err(|_| "the port is not a number from 1 to 65535")?;
        if port == 0 {
            return Err("the port is not a number from 1 to 65535");
        }
        if host.contains(':') || host.contains('[') || host.contains(']') {
            return Err("IPv6 hosts must be written in brackets, e.g. `[::1]:2000`");
        }
        let valid_name = host.len() <= 253
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !valid_name {
            return Err("the host is not a valid IP address or DNS name");
        }
        // An IPv4 literal that `SocketAddr` refused (it has a port `SocketAddr` does not take,
        // such as `007`) is still an IP address, not a name to resolve.
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Self {
                host: Host::Ip(ip),
                port,
            });
        }
        Ok(Self {
            host: Host::Name(host.to_owned()),
            port,
        })
    }
}

impl From<SocketAddr> for Endpoint {
    fn from(addr: SocketAddr) -> Self {
        Self {
            host: Host::Ip(addr.ip()),
            port: addr.port(),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host(), self.port)
    }
}

/// A malformed daemon address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonAddressError {
    value: String,
    reason: &'static str,
}

impl fmt::Display for DaemonAddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid X-Ray daemon address {:?}: {}",
            self.value, self.reason
        )
    }
}

impl std::error::Error for DaemonAddressError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_forms() {
        let a: DaemonAddress = "127.0.0.1:2000".parse().unwrap();
        assert_eq!(a.udp(), a.tcp());
        assert_eq!(a.udp().socket_addr().unwrap().port(), 2000);
        let n: DaemonAddress = "xray-daemon.default.svc:2000".parse().unwrap();
        assert!(n.udp().socket_addr().is_none());
        assert_eq!(n.udp().host(), "xray-daemon.default.svc");
        let v6: DaemonAddress = "[::1]:2000".parse().unwrap();
        assert_eq!(v6.udp().to_string(), "[::1]:2000");
        assert_eq!(
            " 10.0.0.1:2000\n"
                .parse::<DaemonAddress>()
                .unwrap()
                .to_string(),
            "10.0.0.1:2000"
        );
    }

    #[test]
    fn double_forms() {
        for s in [
            "tcp:127.0.0.1:2000 udp:127.0.0.2:2001",
            "udp:127.0.0.2:2001 tcp:127.0.0.1:2000",
            "udp:127.0.0.2:2001\t  tcp:127.0.0.1:2000",
        ] {
            let a: DaemonAddress = s.parse().unwrap();
            assert_eq!(a.udp().to_string(), "127.0.0.2:2001");
            assert_eq!(a.tcp().to_string(), "127.0.0.1:2000");
            assert_eq!(a.to_string(), "tcp:127.0.0.1:2000 udp:127.0.0.2:2001");
        }
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "localhost",
            "localhost:",
            ":2000",
            "localhost:0",
            "localhost:70000",
            "localhost:abc",
            "udp:127.0.0.1:2000",
            "tcp:127.0.0.1:2000 tcp:127.0.0.1:2001",
            "udp:127.0.0.1:2000 foo:1",
            "a:1 b:2 c:3",
            "::1:2000",
            "bad host:2000",
            "exa mple:1",
            "ex$ample:1",
            "localhost:+2000",
            "tcp:10.0.0.1:+5535 udp:c:1",
        ] {
            let e = bad.parse::<DaemonAddress>();
            assert!(e.is_err(), "{bad:?} parsed as {e:?}");
        }
        let e = "localhost"
            .parse::<DaemonAddress>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"localhost\"") && e.contains("port"), "{e}");
    }

    #[test]
    fn ip_literals_with_unusual_ports_are_still_ips() {
        // Found by the `daemon_address` fuzz target: formatting and parsing again must agree.
        let a: DaemonAddress = "10.0.0.1:02000".parse().unwrap();
        assert_eq!(a.udp().socket_addr(), Some(([10, 0, 0, 1], 2000).into()));
        assert_eq!(a.to_string().parse::<DaemonAddress>().unwrap(), a);
    }
}
