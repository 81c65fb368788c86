//! GObjects the UI binds to. They hold what the host workers last reported.

pub mod domain;
mod host;

pub use domain::Domain;
pub use host::{Host, HostStatus};
