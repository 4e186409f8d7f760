//! Ordinary statements through a traced pool: one SQL subsegment each, with the `sql` block.
#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

mod common;

per_database!(common::scenarios::success);
