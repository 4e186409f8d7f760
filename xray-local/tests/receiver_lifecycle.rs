//! The receiver's task lives as long as its handle: dropping the handle stops it, closes
//! subscriptions and frees the port. The public types can move across tasks and threads.

use std::net::UdpSocket;
use std::time::Duration;

use xray_local::{Event, LocalReceiver, ServiceGraph, Subscription, Trace};

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>(_: &T) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_stops_the_task_and_frees_the_port() {
    let rx = LocalReceiver::bind("127.0.0.1:0").await.unwrap();
    let addr = rx.local_addr();
    assert!(
        UdpSocket::bind(addr).is_err(),
        "the receiver holds the port"
    );
    let mut events = rx.subscribe();
    drop(rx);
    let closed = tokio::time::timeout(Duration::from_secs(5), events.recv()).await;
    assert!(
        matches!(closed, Ok(None)),
        "the subscription ends with the receiver"
    );
    UdpSocket::bind(addr).expect("the port is free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handles_and_futures_cross_threads() {
    assert_send_sync::<LocalReceiver>();
    assert_send_sync::<Trace>();
    assert_send_sync::<ServiceGraph>();
    assert_send_sync::<Event>();
    assert_send_sync::<Subscription>();
    let rx = LocalReceiver::bind("127.0.0.1:0").await.unwrap();
    let wait = rx.wait_for_traces(1, Duration::from_millis(1));
    assert_send(&wait);
    drop(wait);
    let mut events = rx.subscribe();
    let next = events.recv();
    assert_send(&next);
    drop(next);
    // Waiting from another task works, and a timeout reports what there was.
    let rx = std::sync::Arc::new(rx);
    let waiter = tokio::spawn({
        let rx = rx.clone();
        async move { rx.wait_for_traces(1, Duration::from_millis(50)).await }
    });
    let err = waiter.await.unwrap().unwrap_err();
    assert_eq!((err.finished_traces(), err.open_traces()), (0, 0));
    assert!(err.to_string().contains("0 finished"), "{err}");
}
