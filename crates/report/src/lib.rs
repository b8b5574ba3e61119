//! The files Tsunagu exchanges with spreadsheets. Pure: bytes in, bytes out, no I/O.

pub mod chart;
pub mod csv;
pub mod sheet;
pub mod xlsx;
