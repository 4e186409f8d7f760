//! `tracing` integration for AWS X-Ray (work in progress).
#![deny(missing_docs)]
