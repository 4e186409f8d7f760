//! Compile-time checks: the layers, services, futures and bodies can be used from any thread.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tower::{Layer, Service, service_fn};
use xray_tower::client::{XrayClientLayer, XrayClientService};
use xray_tower::server::{DynamicName, ResponseBody, XrayLayer, XrayService};

fn assert_send<T: Send>(_: &T) {}
fn assert_send_sync<T: Send + Sync>(_: &T) {}
fn assert_send_type<T: Send>() {}

#[test]
fn server_types_are_send() {
    let layer = XrayLayer::new("svc");
    assert_send_sync(&layer);
    assert_send_sync(&XrayLayer::dynamic("fb", "*"));
    assert_send_sync(&DynamicName::new("fb", "*"));
    let hooked = XrayLayer::new("svc")
        .on_request(|_: &Request<Body>, _: &xray_core::Entity| {})
        .on_response(|_: &Response<Body>, _: &xray_core::Entity| {});
    assert_send_sync(&hooked);

    // An explicit recorder: the test must not build the global one.
    let mut service: XrayService<Router> = layer
        .recorder(xray_core::Recorder::disabled())
        .layer(Router::new());
    assert_send_sync(&service);
    let future = service.call(Request::new(Body::empty()));
    assert_send(&future);
    assert_send_type::<ResponseBody<Body>>();

    // Works as a layer of a Router, which requires all of the above.
    let _: Router = Router::new().layer(hooked);
}

#[test]
fn client_types_are_send() {
    let layer = XrayClientLayer::new();
    assert_send_sync(&layer);
    let mut service: XrayClientService<_> =
        layer.layer(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        }));
    assert_send_sync(&service);
    let future = service.call(Request::new(Full::default()));
    assert_send(&future);
}
