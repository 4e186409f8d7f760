//! `fetch` streams end their subsegment when read to the end, dropped early, or never polled.
#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

mod common;

per_database!(common::scenarios::streams);
