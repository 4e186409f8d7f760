//! Shared code of the examples, so that tests and other examples can run them in-process.
//!
//! - [`server`]: the example service of `cargo run -p examples --example server`.
//! - [`db`]: its `GET /db` route, a query through a SQLite pool traced by `xray-sqlx`.
//! - [`aws`]: its `GET /aws` route, an AWS SDK call traced by `xray-aws-sdk`.
//! - [`quickstart`]: the quickstart's flow (a local receiver, the service, requests, traces).

#![deny(missing_docs)]

pub mod aws;
pub mod db;
pub mod quickstart;
pub mod server;
