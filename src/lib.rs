//! Hangar: run virtual machines on your own hosts.
//!
//! `backend` talks to libvirt and never touches GTK; `model` holds the GObjects the UI binds
//! to; `ui` has one window or widget per file; `vnc` is the console client.

pub mod application;
pub mod backend;
pub mod config;
pub mod diagnostics;
pub mod i18n;
pub mod model;
pub mod ui;
pub mod vnc;
