//! Access to libvirt: the `unsafe` wrappers and a connection session built on them.

pub mod ffi;
pub mod session;
