//! Behaviour tests at the use-case boundary, in-process: the app's functions called as the pages,
//! the API and the CLI call them, over a real database (SQLite; PostgreSQL when configured, and
//! in CI), with no HTTP in between. The HTTP suites (`crates/web/tests`) keep what only HTTP
//! has: the route × role matrix, the canary, security headers, sessions and the pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod bulk;
mod harness;
mod import;
mod lifecycle;
mod merge;
mod reports;
mod search;
mod stats;
