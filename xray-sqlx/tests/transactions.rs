//! Traced transactions (commit, rollback, savepoint, on an acquired connection) behave as sqlx's and record BEGIN/COMMIT/ROLLBACK.
#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

mod common;

per_database!(common::scenarios::transactions);
