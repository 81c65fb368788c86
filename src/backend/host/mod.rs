//! What a host offers a domain's new devices (pools, networks, interfaces, USB and PCI
//! devices) and adding one, creating its volume first when asked.

pub mod choices;
pub mod new_device;
