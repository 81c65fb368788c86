//! The user interface: one window or widget per file, each with its `.ui` template.

pub mod a11y;
mod connection_dialog;
mod console_page;
mod console_window;
mod creation;
mod credentials_dialog;
mod domain_actions;
mod domain_list;
mod domain_page;
mod domain_row;
mod host_row;
mod host_summary;
mod jobs_popover;
mod new_network_dialog;
mod new_pool_dialog;
mod new_vm_wizard;
pub(crate) mod password_entry;
mod usage_graph;
mod wait_spinner;
mod window;
mod wizard_form;

pub use connection_dialog::{ConnectionDialog, ConnectionResult};
pub use console_page::ConsolePage;
pub use console_window::ConsoleWindow;
pub use credentials_dialog::CredentialsDialog;
pub use domain_list::DomainList;
pub use domain_page::{present_for as present_domain_page, DomainPage};
pub use domain_row::DomainRow;
pub use host_row::HostRow;
pub use host_summary::HostSummaryPage;
pub use jobs_popover::JobsPopover;
pub use new_network_dialog::NewNetworkDialog;
pub use new_pool_dialog::NewPoolDialog;
pub use new_vm_wizard::NewVmWizard;
pub use usage_graph::UsageGraph;
pub use window::Window;
