//! The VNC console: where a domain's console listens, the RFB session (on its own thread)
//! and the viewer widget.

pub mod framebuffer;
mod handshake;
pub mod keysyms;
pub mod session;
pub mod target;
pub mod viewer;

pub use keysyms::KeyCombo;
pub use session::{VncEvent, VncSession, VncStream};
pub use viewer::{ConsoleStatus, ScaleMode, VncViewer};
