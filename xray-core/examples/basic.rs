//! Sends one realistic segment to the X-Ray daemon and prints every datagram it sends.
//!
//! ```text
//! cargo run -p xray-core --example basic
//! AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000 cargo run -p xray-core --example basic
//! ```
//!
//! The segment has nested subsegments, annotations, metadata, an error with its cause chain, and
//! `http`, `aws` and `sql` blocks: everything a service map and the trace view show. Nothing needs
//! to listen at the daemon address; without a daemon the datagram simply goes nowhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt;

use xray_core::daemon::DaemonAddress;
use xray_core::emit::{Datagram, EmitError, Emitter, UdpEmitter};
use xray_core::model::Namespace;
use xray_core::{Recorder, XrayFutureExt};

/// Prints each datagram, then hands it to the UDP emitter.
struct PrintingEmitter(UdpEmitter);

impl fmt::Debug for PrintingEmitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PrintingEmitter").field(&self.0).finish()
    }
}

impl Emitter for PrintingEmitter {
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError> {
        let doc: serde_json::Value =
            serde_json::from_slice(datagram.document()).map_err(EmitError::other)?;
        println!(
            "--> {} bytes to {}\n{}",
            datagram.bytes().len(),
            self.0.target(),
            serde_json::to_string_pretty(&doc).map_err(EmitError::other)?
        );
        self.0.send(datagram)
    }

    // The UDP emitter buffers: a wrapper must pass these on, or `Recorder::flush` does nothing.
    fn flush(&self) {
        self.0.flush();
    }

    fn undelivered(&self) -> u64 {
        self.0.undelivered()
    }
}

#[derive(Debug)]
struct PaymentError(std::io::Error);

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("payment provider unavailable")
    }
}

impl std::error::Error for PaymentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "xray=debug".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    // Reads AWS_XRAY_DAEMON_ADDRESS (default 127.0.0.1:2000); a malformed value is an error here.
    let address = DaemonAddress::from_env()?.unwrap_or_default();
    let recorder = Recorder::builder()
        .service_name("basic-example")
        .service_version(env!("CARGO_PKG_VERSION"))
        .daemon_address(address.clone())
        .emitter(PrintingEmitter(UdpEmitter::new(&address)))
        .sample_all()
        .build()?;

    let segment = recorder.begin_segment(recorder.service_name().unwrap_or("basic-example"));
    segment.update(|d| {
        let req = d.http_request_mut();
        req.method = Some("POST".into());
        req.url = Some("https://orders.example.com/orders".into());
        req.client_ip = Some("203.0.113.7".into());
        req.user_agent = Some("curl/8.5.0".into());
        d.set_http_status(502);
        d.http_response_mut().content_length = Some(38);
    });
    segment.set_user("customer-42");
    segment.annotate("order_id", 1042);
    segment.annotate("express", true);
    segment.add_metadata(
        "cart",
        &serde_json::json!({"items": [{"sku": "A-1", "qty": 2}], "currency": "EUR"}),
    );

    async {
        let ddb = xray_core::begin_subsegment("DynamoDB");
        ddb.update(|d| {
            d.set_namespace(Namespace::Aws);
            let aws = d.aws_mut();
            aws.operation = Some("PutItem".into());
            aws.region = Some("eu-west-1".into());
            aws.request_id = Some("7KJ0RK9QUEH2JBNV3QMI3LG0KVVV4KQNSO5AEMVJF66Q9ASUAAJG".into());
            aws.retries = Some(0);
            aws.table_name = Some("orders".into());
            d.set_http_status(200);
        });
        ddb.end();

        let sql = xray_core::begin_subsegment("inventory@db.internal");
        sql.update(|d| {
            d.set_namespace(Namespace::Remote);
            let s = d.sql_mut();
            s.url = Some("postgres://db.internal:5432/inventory".into());
            s.sanitized_query = Some("UPDATE stock SET qty = qty - $1 WHERE sku = $2".into());
            s.database_type = Some("PostgreSQL".into());
            s.database_version = Some("15.4".into());
            s.driver_version = Some("sqlx-postgres 0.9".into());
            s.user = Some("app".into());
            s.preparation = Some("statement".into());
        });
        let lock = sql.begin_subsegment("row-lock");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        lock.end();
        sql.end();

        let payment = xray_core::begin_subsegment("payments.example.com");
        payment.update(|d| {
            d.set_namespace(Namespace::Remote);
            d.http_request_mut().method = Some("POST".into());
            d.http_request_mut().url = Some("https://payments.example.com/v1/charges".into());
            d.set_http_status(503);
        });
        let err = PaymentError(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timed out after 2s",
        ));
        payment.record_error(&err);
    }
    .in_entity(segment.entity().clone())
    .await;

    segment.end();
    // The UDP emitter sends from a background thread; send what it holds before exiting.
    recorder.flush();
    let stats = recorder.emit_stats();
    eprintln!("sent {} document(s), dropped {}", stats.sent, stats.dropped);
    Ok(())
}
