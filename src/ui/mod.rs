//! The user interface: one window or widget per file, each with its `.ui` template.

mod domain_row;
mod host_row;
mod window;

pub use domain_row::DomainRow;
pub use host_row::HostRow;
pub use window::Window;
