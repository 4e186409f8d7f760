//! Shared code of the examples, so that tests and other examples can run them in-process.
//!
//! - [`server`]: the example service of `cargo run -p examples --example server`.

#![deny(missing_docs)]

pub mod server;
