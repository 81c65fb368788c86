//! An owned libvirt connection whose release can fail without panicking.
//!
//! `virt::connect::Connect`'s `Drop` panics when `virConnectClose` reports an error (and its
//! `Clone` panics when `virConnectRef` does). A panic in a worker's drop would take the host's
//! thread down with it, so Hangar never lets that `Drop` run: `Connection` keeps the
//! `Connect` in a `ManuallyDrop`, releases the reference itself and logs a failure.

use std::mem::ManuallyDrop;
use std::ops::Deref;

use virt::connect::Connect;
use virt::sys;

use super::LibvirtError;

/// One reference to an open connection; dropping it releases the reference, never panicking.
pub struct Connection {
    conn: ManuallyDrop<Connect>,
}

impl Connection {
    /// # Safety
    /// `ptr` is a connection reference that the new value owns (from an open or a ref).
    pub(super) unsafe fn from_owned_ptr(ptr: sys::virConnectPtr) -> Self {
        Self {
            conn: ManuallyDrop::new(Connect::from_ptr(ptr)),
        }
    }

    /// Another reference to the same connection; `None` when libvirt refused one.
    pub fn try_clone(&self) -> Result<Self, LibvirtError> {
        // SAFETY: the pointer is valid while `self` holds its reference.
        let ptr = unsafe { self.conn.as_ptr() };
        // SAFETY: virConnectRef takes a valid connection and adds a reference we then own.
        if unsafe { sys::virConnectRef(ptr) } < 0 {
            return Err(LibvirtError::last());
        }
        // SAFETY: the reference added above now belongs to the new value.
        Ok(unsafe { Self::from_owned_ptr(ptr) })
    }

    /// Releases this reference now, saying whether libvirt could.
    pub fn close(self) -> Result<(), LibvirtError> {
        let mut this = ManuallyDrop::new(self);
        this.release()
    }

    fn release(&mut self) -> Result<(), LibvirtError> {
        // SAFETY: called once (from `close` or `drop`), while the reference is still ours;
        // the inner `Connect` is never dropped, so it cannot close the reference again.
        let result = unsafe { sys::virConnectClose(self.conn.as_ptr()) };
        if result < 0 {
            Err(LibvirtError::last())
        } else {
            Ok(())
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connection")
    }
}

impl Deref for Connection {
    type Target = Connect;

    fn deref(&self) -> &Connect {
        &self.conn
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Err(error) = self.release() {
            // Nothing can be done about it here; the process goes on.
            eprintln!("hangar: closing a libvirt connection failed: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{init, open_with_credentials};
    use super::*;

    fn never_asked(_: &super::super::CredentialRequest) -> Option<super::super::CredentialAnswer> {
        None
    }

    #[test]
    fn clones_and_closes_each_reference_once() {
        let conn = open_with_credentials("test:///default", &mut never_asked).expect("open");
        let other = conn.try_clone().expect("ref");
        conn.close().expect("close the first reference");
        // The second reference still works after the first was closed.
        assert!(other.hostname().is_ok());
        drop(other);
    }

    #[test]
    fn a_failing_close_is_an_error_not_a_panic() {
        init();
        // libvirt refuses to close a NULL connection: the one failure that is safe to cause.
        // SAFETY: the value is only closed and dropped, never used as a connection.
        let broken = unsafe { Connection::from_owned_ptr(std::ptr::null_mut()) };
        let error = broken.close().expect_err("closing NULL fails");
        assert_eq!(error.code, sys::VIR_ERR_INVALID_CONN as i32);
        // SAFETY: as above.
        drop(unsafe { Connection::from_owned_ptr(std::ptr::null_mut()) });
    }
}
