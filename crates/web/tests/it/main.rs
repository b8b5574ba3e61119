//! The web's integration tests, one binary: each module links axum, sqlx, reqwest and
//! fantoccini once instead of once per file. The canary (`tests/canary.rs`) keeps its own
//! binary because it installs a global tracing subscriber to count queries.
//!
//! Run one file's tests with a filter on its module: `cargo test -p tsunagu-web --test it trust::`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod account;
mod admin;
mod attachments;
mod browser;
mod caseload;
mod confidentiality;
mod corrections;
mod employment;
mod import;
mod lifecycle;
mod matrix;
mod meetings;
mod persons;
mod plans;
mod roles;
mod search;
mod security;
mod trust;
