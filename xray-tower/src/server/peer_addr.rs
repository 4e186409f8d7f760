//! The client's socket address, for servers that are not axum.

use std::net::SocketAddr;

/// The address of the peer that sent a request, as a request extension.
///
/// The server layer records `http.request.client_ip` from, in order: the first address in
/// `X-Forwarded-For` (marked `x_forwarded_for: true`, since a client can forge it), axum's
/// `ConnectInfo<SocketAddr>` (with the `axum` feature), or this extension. axum inserts
/// `ConnectInfo` when served with `into_make_service_with_connect_info::<SocketAddr>()`; with
/// plain hyper, insert a `PeerAddr` in your accept loop.
///
/// # Examples
///
/// ```
/// use std::net::SocketAddr;
/// use xray_tower::server::PeerAddr;
///
/// let peer: SocketAddr = "203.0.113.9:51234".parse().unwrap();
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(PeerAddr(peer));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);
