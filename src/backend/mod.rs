//! Everything that talks to libvirt or stores connections. Never imports GTK, so it can be
//! tested without a display.

pub mod actions;
pub mod connection_form;
pub mod console;
pub mod create;
pub mod details;
pub mod domain;
pub mod error;
pub mod host;
pub mod jobs;
pub mod libvirt;
pub mod login;
pub mod network_form;
pub mod new_vm_form;
pub mod osinfo;
pub mod password;
pub mod pool_form;
pub mod secrets;
pub mod storage;
pub mod store;
pub mod summary;
pub mod uri;
pub mod worker;
pub mod xml;
