//! The one enforcement point lives in the use cases (`tsunagu_app::access`); the web reaches it
//! under its old name.

pub use tsunagu_app::access::*;
