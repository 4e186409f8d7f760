//! Failing statements: a syntax error and a constraint violation fail as usual and are recorded as faults with the database error as cause.
#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

mod common;

per_database!(common::scenarios::errors);
