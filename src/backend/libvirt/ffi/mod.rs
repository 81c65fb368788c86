//! The one place where Hangar calls libvirt through `unsafe` code.
//!
//! The `virt` crate has no usable wrapper for authenticated opens (its `open_auth` crashes on a
//! password prompt), bulk domain statistics (its version leaks the records), event and close
//! callbacks, DHCP leases, guest agent addresses (its version leaks the records) or the guest
//! agent's report. This module gives each of them a small safe API; everything else uses
//! `virt`'s own safe methods.

mod addresses;
mod connection;
mod domain_stats;
mod event_loop;
mod events;
mod guest_info;
mod node;

pub use addresses::*;
pub use connection::Connection;
pub use domain_stats::*;
pub use event_loop::{event_loop_status, EventLoopStatus, StartError};
pub use events::*;
pub use guest_info::*;
#[cfg(test)]
use node::field_name;
pub use node::*;

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Once;

use virt::sys;

use crate::backend::password::Password;

/// An error as libvirt reported it: its number (`virErrorNumber`), the part of libvirt that
/// raised it (`virErrorDomain`) and its own message, kept as detail only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibvirtError {
    pub code: i32,
    pub domain: i32,
    pub message: String,
}

impl LibvirtError {
    /// Reads the calling thread's last libvirt error.
    fn last() -> Self {
        // SAFETY: virGetLastError returns NULL or a pointer to this thread's error object, valid
        // until the next libvirt call on this thread; we copy what we need right away.
        unsafe {
            let error = sys::virGetLastError();
            if error.is_null() {
                return Self::unknown();
            }
            let message = if (*error).message.is_null() {
                String::new()
            } else {
                CStr::from_ptr((*error).message)
                    .to_string_lossy()
                    .into_owned()
            };
            Self {
                code: (*error).code,
                domain: (*error).domain,
                message,
            }
        }
    }

    fn unknown() -> Self {
        Self {
            code: sys::VIR_ERR_INTERNAL_ERROR as i32,
            domain: sys::VIR_FROM_NONE as i32,
            message: "an unknown libvirt error occurred".into(),
        }
    }
}

impl From<virt::error::Error> for LibvirtError {
    fn from(error: virt::error::Error) -> Self {
        Self {
            code: error.code().to_raw() as i32,
            domain: error.domain().to_raw() as i32,
            message: error.message().to_owned(),
        }
    }
}

impl std::fmt::Display for LibvirtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LibvirtError {}

static INIT: Once = Once::new();

/// Prepares libvirt for use from many threads: silences its default printing of errors to
/// stderr and runs an event loop for it on a thread of its own (see `event_loop`). Events, keepalive and close
/// callbacks only work when this ran before the connection was opened. Safe to call often.
pub fn init() {
    INIT.call_once(|| {
        virt::error::clear_error_callback();
        // SAFETY: a plain initialisation call without arguments; called once per process.
        unsafe { sys::virInitialize() };
        // Hangar works on without it (see `event_loop_status`); the reason goes to the log.
        if let Err(error) = event_loop::start() {
            eprintln!("hangar: {error}");
        }
    });
}

/// What libvirt asks for while opening a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// The user name (SASL `AUTHNAME`).
    Username,
    /// A secret that must not be shown (`PASSPHRASE`, `NOECHOPROMPT`).
    Password,
    /// Any other question, shown as typed.
    Text,
}

/// One question from libvirt's authentication callback.
#[derive(Debug, Clone)]
pub struct CredentialRequest {
    pub kind: CredentialKind,
    pub prompt: String,
    pub default: Option<String>,
}

/// An answer to one of libvirt's questions.
#[derive(Debug, Clone)]
pub enum CredentialAnswer {
    /// A user name or other text shown as typed.
    Text(String),
    /// A password: copied straight into libvirt's buffer, wiped when dropped.
    Secret(Password),
}

impl CredentialAnswer {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Secret(password) => password.expose().as_bytes(),
        }
    }
}

/// Answers libvirt's questions; `None` gives up and makes the open fail.
pub type CredentialProvider<'a> = dyn FnMut(&CredentialRequest) -> Option<CredentialAnswer> + 'a;

const ASKED_CREDENTIALS: [c_int; 4] = [
    sys::VIR_CRED_AUTHNAME as c_int,
    sys::VIR_CRED_PASSPHRASE as c_int,
    sys::VIR_CRED_ECHOPROMPT as c_int,
    sys::VIR_CRED_NOECHOPROMPT as c_int,
];

/// Opens `uri`, answering any authentication questions through `provider`.
///
/// The provider runs on the calling thread, during this call only.
pub fn open_with_credentials(
    uri: &str,
    provider: &mut CredentialProvider<'_>,
) -> Result<Connection, LibvirtError> {
    init();
    let uri = CString::new(uri).map_err(|_| LibvirtError {
        code: sys::VIR_ERR_INVALID_ARG as i32,
        domain: sys::VIR_FROM_NONE as i32,
        message: "the connection address contains a NUL character".into(),
    })?;
    let mut credtypes = ASKED_CREDENTIALS;
    let mut provider_ref: &mut CredentialProvider<'_> = provider;
    let mut auth = sys::virConnectAuth {
        credtype: credtypes.as_mut_ptr(),
        ncredtype: credtypes.len() as c_uint,
        cb: Some(answer_credentials),
        cbdata: &mut provider_ref as *mut &mut CredentialProvider<'_> as *mut c_void,
    };
    // SAFETY: `auth`, the arrays and the provider it points to outlive the call, which is the
    // only time libvirt uses them.
    let conn = unsafe { sys::virConnectOpenAuth(uri.as_ptr(), &mut auth, 0) };
    if conn.is_null() {
        return Err(LibvirtError::last());
    }
    // SAFETY: a non-NULL result is a new connection reference that `Connection` now owns.
    Ok(unsafe { Connection::from_owned_ptr(conn) })
}

unsafe extern "C" fn answer_credentials(
    creds: sys::virConnectCredentialPtr,
    ncred: c_uint,
    cbdata: *mut c_void,
) -> c_int {
    // SAFETY: cbdata is the `&mut &mut CredentialProvider` set up by open_with_credentials.
    let provider = &mut *(cbdata as *mut &mut CredentialProvider<'_>);
    for index in 0..ncred as usize {
        let cred = &mut *creds.add(index);
        let request = CredentialRequest {
            kind: credential_kind(cred.type_),
            prompt: optional_string(cred.prompt).unwrap_or_default(),
            default: optional_string(cred.defresult),
        };
        // A panic must not unwind into libvirt's C frames.
        let answer = catch_unwind(AssertUnwindSafe(|| provider(&request)));
        let Ok(Some(answer)) = answer else {
            return -1;
        };
        let Some(buffer) = malloc_copy(answer.as_bytes()) else {
            return -1;
        };
        cred.result = buffer;
        cred.resultlen = answer.as_bytes().len() as c_uint;
        // Dropping the answer wipes a password: libvirt's buffer is the only copy left.
        drop(answer);
    }
    0
}

/// A NUL-terminated copy of `bytes` from malloc(), as libvirt frees the result with free().
/// The only copy made: no intermediate `String` or `CString` is left behind.
fn malloc_copy(bytes: &[u8]) -> Option<*mut c_char> {
    // SAFETY: a plain allocation of bytes.len() + 1 bytes, checked for NULL below.
    let buffer = unsafe { libc::malloc(bytes.len() + 1) } as *mut u8;
    if buffer.is_null() {
        return None;
    }
    // SAFETY: `buffer` has room for the bytes and the terminating NUL.
    unsafe {
        ptr::copy_nonoverlapping(bytes.as_ptr(), buffer, bytes.len());
        *buffer.add(bytes.len()) = 0;
    }
    Some(buffer as *mut c_char)
}

fn credential_kind(raw: c_int) -> CredentialKind {
    match raw as u32 {
        sys::VIR_CRED_AUTHNAME | sys::VIR_CRED_USERNAME => CredentialKind::Username,
        sys::VIR_CRED_PASSPHRASE | sys::VIR_CRED_NOECHOPROMPT => CredentialKind::Password,
        _ => CredentialKind::Text,
    }
}

/// # Safety
/// `text` is NULL or a valid NUL-terminated string.
pub(super) unsafe fn optional_string(text: *const c_char) -> Option<String> {
    (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
}

/// A socket connected straight to the domain's first graphics console, skipping its password
/// (local connections only: the fd is passed over the unix socket).
pub fn open_graphics_fd(
    domain: &virt::domain::Domain,
) -> Result<std::os::fd::OwnedFd, LibvirtError> {
    use std::os::fd::FromRawFd;
    let fd = domain
        .open_graphics_fd(0, sys::VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH)
        .map_err(LibvirtError::from)?;
    let fd = i32::try_from(fd).map_err(|_| LibvirtError::unknown())?;
    // SAFETY: libvirt hands over a new descriptor that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    fn never_asked(_: &CredentialRequest) -> Option<CredentialAnswer> {
        panic!("the test driver never asks for credentials")
    }

    #[test]
    fn opens_the_test_driver_without_questions() {
        let conn = open_with_credentials("test:///default", &mut never_asked).expect("open");
        let stats =
            all_domain_stats(&conn, stats::STATE | stats::VCPU | stats::BALLOON, 0).expect("stats");
        let test = stats
            .iter()
            .find(|record| record.name == "test")
            .expect("domain test");
        assert_eq!(test.uuid.len(), 36);
        assert_eq!(test.get_u64("state.state"), Some(1), "test is running");
    }

    #[test]
    fn unknown_scheme_is_an_error_not_a_crash() {
        let error =
            open_with_credentials("nosuchdriver:///x", &mut never_asked).expect_err("must fail");
        assert!(!error.message.is_empty());
    }

    #[test]
    fn nul_in_uri_is_rejected() {
        let error =
            open_with_credentials("test:///def\0ault", &mut never_asked).expect_err("must fail");
        assert_eq!(error.code, sys::VIR_ERR_INVALID_ARG as i32);
    }

    #[test]
    fn lifecycle_events_reach_the_handler() {
        // A fixture file gives this connection private state; test:///default is shared by
        // every connection of the process, so other tests would see the suspend.
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/demo-host.xml");
        let conn =
            open_with_credentials(&format!("test://{fixture}"), &mut never_asked).expect("open");
        let (sender, receiver) = mpsc::channel();
        let sender = std::sync::Mutex::new(sender);
        let _watch = ConnectionWatch::register(
            &conn,
            move |event| {
                let _ = sender.lock().map(|sender| sender.send(event));
            },
            |_| {},
        )
        .expect("register");
        let domain = conn.lookup_domain_by_name("web-frontend").expect("lookup");
        domain.suspend().expect("suspend");
        let event = receiver
            .recv_timeout(Duration::from_secs(5))
            .expect("event");
        assert_eq!(event.name, "web-frontend");
        assert!(matches!(
            event.kind,
            DomainEventKind::Lifecycle {
                event: lifecycle::SUSPENDED,
                ..
            }
        ));
    }

    #[test]
    fn typed_values_convert_to_u64_only_when_meaningful() {
        assert_eq!(TypedValue::Int(-1).as_u64(), None);
        assert_eq!(TypedValue::UInt(7).as_u64(), Some(7));
        assert_eq!(TypedValue::String("x".into()).as_u64(), None);
    }

    #[test]
    fn node_cpu_stats_come_from_the_test_driver() {
        let conn = open_with_credentials("test:///default", &mut never_asked).expect("open");
        let times = node_cpu_stats(&conn).expect("CPU stats");
        assert!(times.contains_key("idle"), "{times:?}");
        assert!(times.contains_key("user"), "{times:?}");
    }

    #[test]
    fn missing_node_memory_stats_are_an_error_not_a_crash() {
        let conn = open_with_credentials("test:///default", &mut never_asked).expect("open");
        let error = node_memory_stats(&conn).expect_err("the test driver has no memory stats");
        assert_eq!(error.code, sys::VIR_ERR_NO_SUPPORT as i32);
    }

    #[test]
    fn field_names_stop_at_the_terminator_or_the_end() {
        let mut field = [0 as c_char; 8];
        for (slot, byte) in field.iter_mut().zip(b"idle") {
            *slot = *byte as c_char;
        }
        assert_eq!(field_name(&field), "idle");
        assert_eq!(field_name(&[b'a' as c_char, b'b' as c_char]), "ab");
    }
}
