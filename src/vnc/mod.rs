//! The VNC console: where a domain's console listens, the RFB session (on its own thread)
//! and the viewer widget.

pub mod target;
