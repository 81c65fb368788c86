//! GObjects the UI binds to. They hold what the host workers last reported.

pub mod domain;
pub mod domain_history;
mod host;
pub mod jobs;

pub use domain::Domain;
pub use host::{Host, HostStatus};
pub use jobs::{JobItem, JobList, JobOutcome};
