//! Concurrent statements from several tasks under one segment land under the right parent.
#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

mod common;

per_database!(common::scenarios::concurrent);
