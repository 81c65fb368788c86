//! GObjects the UI binds to. They hold what the host workers last reported.

pub mod domain;
pub mod domain_history;
mod host;

pub use domain::Domain;
pub use host::{Host, HostStatus};
