//! A local stand-in for the X-Ray daemon: traces and a service graph without an AWS account.
//!
//! # Overview
//!
//! [`LocalReceiver`] listens on UDP exactly where the X-Ray daemon would (`127.0.0.1:2000` by
//! default), speaks the daemon protocol, and assembles the documents it receives into
//! [`Trace`]s: segments with their nested subsegments, streamed (independent) subsegments
//! reattached to their parents whatever the arrival order, in-progress documents replaced by
//! their completed versions, and downstream services' segments nested under the subsegments
//! that called them. From the traces it builds the [`ServiceGraph`], the way X-Ray builds its
//! service map. Traces and the graph render as readable text and serialize as JSON.
//!
//! Malformed datagrams (garbage, truncated JSON, no or a bad header line, non-UTF-8, oversized)
//! are counted by [`RejectKind`] in [`ReceiverStats`] and reported, never fatal. Documents from
//! other SDKs that do not quite fit the [`xray_core::model`] are accepted without the fields
//! that do not fit (counted as `repaired`).
//!
//! The crate is both a library, for tests and examples, and a binary:
//!
//! ```text
//! cargo run -p xray-local -- --listen 127.0.0.1:2000
//! ```
//!
//! prints every finished trace as an indented timeline and, every `--graph-every` seconds
//! (when something changed) and on Ctrl-C, the service graph. `--json` prints JSON lines
//! instead; `--help` lists every option.
//!
//! It also serves a local X-Ray console on `--ui` (default `127.0.0.1:2080`): the service map,
//! traces narrowed by [`Filter`] expressions and groups, and trace timelines in the browser,
//! with a JSON API shaped like X-Ray's (see [`Console`]).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use xray_core::Recorder;
//! use xray_local::LocalReceiver;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // An ephemeral port: tests and examples can run side by side.
//! let receiver = LocalReceiver::builder()
//!     .quiet_period(Duration::from_millis(50))
//!     .bind("127.0.0.1:0")
//!     .await?;
//!
//! // Real services would set AWS_XRAY_DAEMON_ADDRESS to receiver.local_addr().
//! let recorder = Recorder::builder()
//!     .daemon_address(receiver.daemon_address())
//!     .sample_all()
//!     .ignore_env()
//!     .build()?;
//! let segment = recorder.begin_segment("orders");
//! segment.annotate("customer", "c-42");
//! segment.begin_subsegment("load-order").end();
//! segment.end();
//!
//! let traces = receiver.wait_for_traces(1, Duration::from_secs(5)).await?;
//! assert_eq!(traces[0].roots()[0].children()[0].name(), "load-order");
//! println!("{}", traces[0]); // the timeline
//!
//! let graph = receiver.service_graph();
//! assert_eq!(graph.edge_between("client", "orders").unwrap().stats().requests(), 1);
//! println!("{graph}");
//! println!("{}", serde_json::to_string_pretty(&graph)?);
//! assert_eq!(receiver.stats().rejected.total(), 0);
//! # Ok(()) }
//! ```
//!
//! # When a trace is finished
//!
//! Documents of one trace arrive over time and in any order, from several services. A trace is
//! *complete* when every entity has ended, every independent subsegment's parent is there, and
//! every segment's caller (its `parent_id`) is there. It is *finished* when it is complete and
//! no document arrived for [`quiet_period`](ReceiverBuilder::quiet_period) (500 ms by default),
//! or when it stayed incomplete without news for
//! [`incomplete_timeout`](ReceiverBuilder::incomplete_timeout) (5 s by default; a Lambda
//! function's subsegments, for example, name a parent that Lambda records itself).
//! [`LocalReceiver::wait_for_traces`] and [`LocalReceiver::wait_until`] wait for finished
//! traces, [`LocalReceiver::subscribe`] delivers them as they finish, and
//! [`LocalReceiver::traces`] shows everything in its current state. A late document reopens a
//! finished trace, which then finishes again.
//!
//! # JSON output
//!
//! Field names are stable; new fields may be added. Durations are milliseconds with three
//! decimals (`*_ms`), timestamps epoch seconds as in segment documents; absent values are
//! `null`.
//!
//! A [`Trace`]:
//!
//! | Field | Meaning |
//! |---|---|
//! | `trace_id` | The trace id |
//! | `start_time`, `duration_ms` | Earliest start; earliest start to latest end |
//! | `complete`, `finished` | See above |
//! | `entities`, `documents` | Segments and subsegments held; documents received |
//! | `roots`, `orphans` | Trees of nodes (see [`Trace::roots`], [`Trace::orphans`]) |
//!
//! Each node: `id`, `name`, `kind` (`segment`/`subsegment`), `namespace` (`aws`, `remote`,
//! `local` or null), `origin`, `start_time`, `end_time`, `duration_ms`, `in_progress`,
//! `error`, `fault`, `throttle`, `http_method`, `http_url`, `http_status`, `aws_operation`,
//! `sql_query`, `annotations` (object), `children` (nodes).
//!
//! The [`ServiceGraph`]: `traces` (how many it was built from), `unattributed_calls`, `nodes`
//! and `edges`. Each node has `id` (e.g. `client`, `service:orders`, `aws:DynamoDB`,
//! `database:app@localhost`, `http:api.example.com`), `name`, `kind` (`client`, `service`,
//! `aws`, `database`, `http`, `remote`), `type` (X-Ray's node type: the service's `origin`,
//! `AWS::DynamoDB`, `Database::SQL`, `remote`, `client`) and `stats`; each edge has `from` and
//! `to` (node ids) and `stats`. `stats` holds `requests`, `ok`, `errors`, `faults`,
//! `throttles`, `error_rate`, `fault_rate`, `throttle_rate` (0 to 1), `avg_ms` and `p95_ms`.
//!
//! [`ReceiverStats`] serializes its counters under their field names, with `rejected` holding
//! `total` and one count per [`RejectKind::as_str`] name.
//!
//! # Feature flags
//!
//! - `daemon` (default): [`daemon`], the X-Ray daemon replacement behind `xray-local daemon`
//!   (uploads with `aws-sdk-xray`, signs sampling calls). Without it, the local receiver builds
//!   without the AWS SDK and TLS crates (`default-features = false`).
//!
//! Everything else above is always there. `fuzzing` exposes internals to the repository's fuzz
//! targets; it has no stable API and must not be enabled.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version follows the AWS SDK for Rust's (currently 1.94.1).

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The README's examples compile (and run, unless marked otherwise) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(feature = "daemon")]
#[cfg_attr(docsrs, doc(cfg(feature = "daemon")))]
pub mod daemon;
mod datagram;
mod document;
mod filter;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod graph;
mod log_limit;
mod receiver;
mod render;
mod stats;
mod store;
mod trace;
mod ui;

pub use datagram::{DEFAULT_MAX_DATAGRAM_BYTES, RejectKind, Rejection};
pub use filter::{Filter, FilterError};
pub use graph::{CallStats, GraphEdge, GraphNode, NodeKind, ServiceGraph};
pub use receiver::{Event, LocalReceiver, ReceiverBuilder, Subscription, WaitTimeout};
pub use render::Style;
pub use stats::{ReceiverStats, RejectCounts};
pub use store::assemble;
pub use trace::{EntityKind, Nodes, Trace, TraceNode};
pub use ui::{Console, ConsoleServer, DEFAULT_CONSOLE_ADDR};
