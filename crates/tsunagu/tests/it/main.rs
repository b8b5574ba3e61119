//! The command line's integration tests, one binary: `cli` (the commands on real databases) and
//! `crash` (SIGKILL under writes, restart, every acknowledged write checked).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod crash;
