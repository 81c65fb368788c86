//! The one place where Hangar calls libvirt through `unsafe` code.
//!
//! The `virt` crate has no usable wrapper for authenticated opens (its `open_auth` crashes on a
//! password prompt), bulk domain statistics (its version leaks the records) or event and close
//! callbacks. This module gives each of them a small safe API; everything else uses `virt`'s own
//! safe methods.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::{Arc, Once};

use virt::connect::Connect;
use virt::sys;

/// An error as libvirt reported it: its numeric code and its own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibvirtError {
    pub code: i32,
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
                message,
            }
        }
    }

    fn unknown() -> Self {
        Self {
            code: sys::VIR_ERR_INTERNAL_ERROR as i32,
            message: "an unknown libvirt error occurred".into(),
        }
    }
}

impl From<virt::error::Error> for LibvirtError {
    fn from(error: virt::error::Error) -> Self {
        Self {
            code: error.code().to_raw() as i32,
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
/// stderr and runs its default event loop on a thread of its own. Events, keepalive and close
/// callbacks only work when this ran before the connection was opened. Safe to call often.
pub fn init() {
    INIT.call_once(|| {
        virt::error::clear_error_callback();
        // SAFETY: plain initialisation calls without arguments; called once per process.
        let registered = unsafe {
            sys::virInitialize();
            sys::virEventRegisterDefaultImpl()
        };
        if registered == 0 {
            let spawned = std::thread::Builder::new()
                .name("libvirt-events".into())
                .spawn(|| loop {
                    // SAFETY: the default implementation was registered above.
                    if unsafe { sys::virEventRunDefaultImpl() } < 0 {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                });
            if let Err(error) = spawned {
                eprintln!("hangar: cannot start the libvirt event thread: {error}");
            }
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

/// Answers libvirt's questions; `None` gives up and makes the open fail.
pub type CredentialProvider<'a> = dyn FnMut(&CredentialRequest) -> Option<String> + 'a;

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
) -> Result<Connect, LibvirtError> {
    init();
    let uri = CString::new(uri).map_err(|_| LibvirtError {
        code: sys::VIR_ERR_INVALID_ARG as i32,
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
    // SAFETY: a non-NULL result is a new connection reference that `Connect` now owns.
    Ok(unsafe { Connect::from_ptr(conn) })
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
        let mut bytes = answer.into_bytes();
        // libvirt frees the result with free(), so it must come from malloc().
        let buffer = libc::malloc(bytes.len() + 1) as *mut u8;
        if buffer.is_null() {
            return -1;
        }
        ptr::copy_nonoverlapping(bytes.as_ptr(), buffer, bytes.len());
        *buffer.add(bytes.len()) = 0;
        cred.result = buffer as *mut c_char;
        cred.resultlen = bytes.len() as c_uint;
        bytes.iter_mut().for_each(|byte| *byte = 0);
    }
    0
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
unsafe fn optional_string(text: *const c_char) -> Option<String> {
    (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
}

/// One value of a libvirt typed parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    Int(i64),
    UInt(u64),
    Double(f64),
    Bool(bool),
    String(String),
}

impl TypedValue {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            TypedValue::Int(value) => u64::try_from(value).ok(),
            TypedValue::UInt(value) => Some(value),
            TypedValue::Double(value) if value >= 0.0 => Some(value as u64),
            TypedValue::Bool(value) => Some(value.into()),
            _ => None,
        }
    }
}

/// The statistics record of one domain from a bulk statistics call.
#[derive(Debug, Clone)]
pub struct DomainStats {
    pub name: String,
    pub uuid: String,
    pub params: HashMap<String, TypedValue>,
}

impl DomainStats {
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.params.get(key).and_then(TypedValue::as_u64)
    }
}

/// Statistics groups to ask for (`VIR_DOMAIN_STATS_*`).
pub mod stats {
    use virt::sys;
    pub const STATE: u32 = sys::VIR_DOMAIN_STATS_STATE;
    pub const CPU_TOTAL: u32 = sys::VIR_DOMAIN_STATS_CPU_TOTAL;
    pub const BALLOON: u32 = sys::VIR_DOMAIN_STATS_BALLOON;
    pub const VCPU: u32 = sys::VIR_DOMAIN_STATS_VCPU;
    pub const INTERFACE: u32 = sys::VIR_DOMAIN_STATS_INTERFACE;
    pub const BLOCK: u32 = sys::VIR_DOMAIN_STATS_BLOCK;
    /// Don't wait for a domain whose job holds it; report what is at hand.
    pub const FLAG_NOWAIT: u32 = sys::VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;
}

/// Fetches the statistics of every domain on the connection in one call.
pub fn all_domain_stats(
    conn: &Connect,
    groups: u32,
    flags: u32,
) -> Result<Vec<DomainStats>, LibvirtError> {
    let mut records: *mut sys::virDomainStatsRecordPtr = ptr::null_mut();
    // SAFETY: conn is a live connection; libvirt allocates a NULL-terminated record list.
    let count =
        unsafe { sys::virConnectGetAllDomainStats(conn.as_ptr(), groups, &mut records, flags) };
    if count < 0 {
        return Err(LibvirtError::last());
    }
    let mut result = Vec::with_capacity(count as usize);
    // SAFETY: `records` holds `count` valid record pointers until the list is freed below.
    unsafe {
        for index in 0..count as usize {
            result.push(read_stats_record(&**records.add(index)));
        }
        sys::virDomainStatsRecordListFree(records);
    }
    Ok(result)
}

/// # Safety
/// `record` comes from a live record list.
unsafe fn read_stats_record(record: &sys::virDomainStatsRecord) -> DomainStats {
    let name = optional_string(sys::virDomainGetName(record.dom)).unwrap_or_default();
    let mut uuid_buffer = [0 as c_char; sys::VIR_UUID_STRING_BUFLEN as usize];
    let uuid = if sys::virDomainGetUUIDString(record.dom, uuid_buffer.as_mut_ptr()) == 0 {
        CStr::from_ptr(uuid_buffer.as_ptr())
            .to_string_lossy()
            .into_owned()
    } else {
        String::new()
    };
    let mut params = HashMap::with_capacity(record.nparams.max(0) as usize);
    for index in 0..record.nparams.max(0) as usize {
        let param = &*record.params.add(index);
        if let Some(value) = read_typed_value(param) {
            let field = CStr::from_ptr(param.field.as_ptr())
                .to_string_lossy()
                .into_owned();
            params.insert(field, value);
        }
    }
    DomainStats { name, uuid, params }
}

/// # Safety
/// `param` is a valid typed parameter whose `type_` says which union member is set.
unsafe fn read_typed_value(param: &sys::virTypedParameter) -> Option<TypedValue> {
    let value = match param.type_ as u32 {
        sys::VIR_TYPED_PARAM_INT => TypedValue::Int(param.value.i.into()),
        sys::VIR_TYPED_PARAM_UINT => TypedValue::UInt(param.value.ui.into()),
        sys::VIR_TYPED_PARAM_LLONG => TypedValue::Int(param.value.l),
        sys::VIR_TYPED_PARAM_ULLONG => TypedValue::UInt(param.value.ul),
        sys::VIR_TYPED_PARAM_DOUBLE => TypedValue::Double(param.value.d),
        sys::VIR_TYPED_PARAM_BOOLEAN => TypedValue::Bool(param.value.b != 0),
        sys::VIR_TYPED_PARAM_STRING => TypedValue::String(optional_string(param.value.s)?),
        _ => return None,
    };
    Some(value)
}

/// What happened to a domain, as libvirt's event callbacks report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEventKind {
    /// `VIR_DOMAIN_EVENT_*` with its detail code.
    Lifecycle {
        event: i32,
        detail: i32,
    },
    Reboot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainEvent {
    pub name: String,
    pub uuid: String,
    pub kind: DomainEventKind,
}

/// Lifecycle event codes (`virDomainEventType`).
pub mod lifecycle {
    use virt::sys;
    pub const DEFINED: i32 = sys::VIR_DOMAIN_EVENT_DEFINED as i32;
    pub const UNDEFINED: i32 = sys::VIR_DOMAIN_EVENT_UNDEFINED as i32;
    pub const STARTED: i32 = sys::VIR_DOMAIN_EVENT_STARTED as i32;
    pub const SUSPENDED: i32 = sys::VIR_DOMAIN_EVENT_SUSPENDED as i32;
    pub const RESUMED: i32 = sys::VIR_DOMAIN_EVENT_RESUMED as i32;
    pub const STOPPED: i32 = sys::VIR_DOMAIN_EVENT_STOPPED as i32;
}

/// Why libvirt closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    Error,
    EndOfFile,
    KeepaliveTimeout,
    ClientRequest,
}

type DomainEventHandler = dyn Fn(DomainEvent) + Send + Sync;
type CloseHandler = dyn Fn(CloseReason) + Send + Sync;

/// Domain event callbacks and the close callback registered on one connection; dropping it
/// deregisters them (they run on the libvirt event thread).
pub struct ConnectionWatch {
    conn: Connect,
    callback_ids: Vec<c_int>,
    close_registered: bool,
}

impl ConnectionWatch {
    /// Registers `on_domain_event` for lifecycle and reboot events of every domain and
    /// `on_close` for the connection's unexpected end.
    pub fn register(
        conn: &Connect,
        on_domain_event: impl Fn(DomainEvent) + Send + Sync + 'static,
        on_close: impl Fn(CloseReason) + Send + Sync + 'static,
    ) -> Result<Self, LibvirtError> {
        init();
        let mut watch = Self {
            conn: conn.clone(),
            callback_ids: Vec::new(),
            close_registered: false,
        };
        let handler: Arc<DomainEventHandler> = Arc::new(on_domain_event);
        watch.register_domain_event(
            sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            lifecycle_trampoline_ptr(),
            handler.clone(),
        )?;
        watch.register_domain_event(
            sys::VIR_DOMAIN_EVENT_ID_REBOOT,
            reboot_trampoline_ptr(),
            handler,
        )?;
        watch.register_close(Arc::new(on_close))?;
        Ok(watch)
    }

    fn register_domain_event(
        &mut self,
        event_id: u32,
        callback: sys::virConnectDomainEventGenericCallback,
        handler: Arc<DomainEventHandler>,
    ) -> Result<(), LibvirtError> {
        let opaque = Box::into_raw(Box::new(handler)) as *mut c_void;
        // SAFETY: `opaque` is a leaked Box<Arc<handler>> that `free_domain_handler` reclaims
        // exactly once, when libvirt drops the registration.
        let id = unsafe {
            sys::virConnectDomainEventRegisterAny(
                self.conn.as_ptr(),
                ptr::null_mut(),
                event_id as c_int,
                callback,
                opaque,
                Some(free_domain_handler),
            )
        };
        if id < 0 {
            let error = LibvirtError::last();
            // SAFETY: registration failed, so libvirt did not take ownership of `opaque`.
            unsafe { free_domain_handler(opaque) };
            return Err(error);
        }
        self.callback_ids.push(id);
        Ok(())
    }

    fn register_close(&mut self, handler: Arc<CloseHandler>) -> Result<(), LibvirtError> {
        let opaque = Box::into_raw(Box::new(handler)) as *mut c_void;
        // SAFETY: as for domain events; `free_close_handler` reclaims `opaque`.
        let result = unsafe {
            sys::virConnectRegisterCloseCallback(
                self.conn.as_ptr(),
                Some(close_trampoline),
                opaque,
                Some(free_close_handler),
            )
        };
        if result < 0 {
            let error = LibvirtError::last();
            // SAFETY: registration failed, so libvirt did not take ownership of `opaque`.
            unsafe { free_close_handler(opaque) };
            // Drivers without a close callback (the in-process test driver) still work.
            if error.code != sys::VIR_ERR_NO_SUPPORT as i32 {
                return Err(error);
            }
            return Ok(());
        }
        self.close_registered = true;
        Ok(())
    }
}

impl Drop for ConnectionWatch {
    fn drop(&mut self) {
        // SAFETY: the ids and the close callback were registered on this live connection.
        unsafe {
            for id in self.callback_ids.drain(..) {
                sys::virConnectDomainEventDeregisterAny(self.conn.as_ptr(), id);
            }
            if self.close_registered {
                sys::virConnectUnregisterCloseCallback(self.conn.as_ptr(), Some(close_trampoline));
            }
        }
    }
}

fn lifecycle_trampoline_ptr() -> sys::virConnectDomainEventGenericCallback {
    type LifecycleFn = unsafe extern "C" fn(
        sys::virConnectPtr,
        sys::virDomainPtr,
        c_int,
        c_int,
        *mut c_void,
    ) -> c_int;
    let callback: LifecycleFn = lifecycle_trampoline;
    // SAFETY: libvirt calls a lifecycle registration with exactly this signature; the generic
    // type in the API is only a placeholder that callers cast from, as its documentation says.
    Some(unsafe {
        std::mem::transmute::<
            LifecycleFn,
            unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *mut c_void),
        >(callback)
    })
}

fn reboot_trampoline_ptr() -> sys::virConnectDomainEventGenericCallback {
    Some(reboot_trampoline)
}

unsafe extern "C" fn lifecycle_trampoline(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    event: c_int,
    detail: c_int,
    opaque: *mut c_void,
) -> c_int {
    deliver_domain_event(dom, opaque, DomainEventKind::Lifecycle { event, detail });
    0
}

unsafe extern "C" fn reboot_trampoline(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    opaque: *mut c_void,
) {
    deliver_domain_event(dom, opaque, DomainEventKind::Reboot);
}

/// # Safety
/// `dom` is the event's domain and `opaque` the Box<Arc<handler>> given at registration.
unsafe fn deliver_domain_event(dom: sys::virDomainPtr, opaque: *mut c_void, kind: DomainEventKind) {
    let handler = &*(opaque as *const Arc<DomainEventHandler>);
    let mut uuid_buffer = [0 as c_char; sys::VIR_UUID_STRING_BUFLEN as usize];
    let uuid = if sys::virDomainGetUUIDString(dom, uuid_buffer.as_mut_ptr()) == 0 {
        CStr::from_ptr(uuid_buffer.as_ptr())
            .to_string_lossy()
            .into_owned()
    } else {
        String::new()
    };
    let event = DomainEvent {
        name: optional_string(sys::virDomainGetName(dom)).unwrap_or_default(),
        uuid,
        kind,
    };
    let _ = catch_unwind(AssertUnwindSafe(|| handler(event)));
}

unsafe extern "C" fn free_domain_handler(opaque: *mut c_void) {
    drop(Box::from_raw(opaque as *mut Arc<DomainEventHandler>));
}

unsafe extern "C" fn close_trampoline(
    _conn: sys::virConnectPtr,
    reason: c_int,
    opaque: *mut c_void,
) {
    let handler = &*(opaque as *const Arc<CloseHandler>);
    let reason = match reason as u32 {
        sys::VIR_CONNECT_CLOSE_REASON_EOF => CloseReason::EndOfFile,
        sys::VIR_CONNECT_CLOSE_REASON_KEEPALIVE => CloseReason::KeepaliveTimeout,
        sys::VIR_CONNECT_CLOSE_REASON_CLIENT => CloseReason::ClientRequest,
        _ => CloseReason::Error,
    };
    let _ = catch_unwind(AssertUnwindSafe(|| handler(reason)));
}

unsafe extern "C" fn free_close_handler(opaque: *mut c_void) {
    drop(Box::from_raw(opaque as *mut Arc<CloseHandler>));
}

/// Host-wide CPU times in nanoseconds, by libvirt's field name ("kernel", "user", "idle",
/// "iowait"; some drivers give "utilization" in percent instead).
pub fn node_cpu_stats(conn: &Connect) -> Result<HashMap<String, u64>, LibvirtError> {
    let all = sys::VIR_NODE_CPU_STATS_ALL_CPUS;
    let mut count: c_int = 0;
    // SAFETY: with NULL params libvirt only writes how many fields there are to `count`.
    let status =
        unsafe { sys::virNodeGetCPUStats(conn.as_ptr(), all, ptr::null_mut(), &mut count, 0) };
    if status < 0 {
        return Err(LibvirtError::last());
    }
    let empty = sys::virNodeCPUStats {
        field: [0; 80],
        value: 0,
    };
    let mut params = vec![empty; count.max(0) as usize];
    if params.is_empty() {
        return Ok(HashMap::new());
    }
    // SAFETY: `params` has room for `count` entries; libvirt fills at most that many.
    let status =
        unsafe { sys::virNodeGetCPUStats(conn.as_ptr(), all, params.as_mut_ptr(), &mut count, 0) };
    if status < 0 {
        return Err(LibvirtError::last());
    }
    params.truncate(count.max(0) as usize);
    Ok(params
        .iter()
        .map(|param| (field_name(&param.field), param.value))
        .collect())
}

/// Host-wide memory figures in KiB, by libvirt's field name ("total", "free", "buffers",
/// "cached").
pub fn node_memory_stats(conn: &Connect) -> Result<HashMap<String, u64>, LibvirtError> {
    let all = sys::VIR_NODE_MEMORY_STATS_ALL_CELLS;
    let mut count: c_int = 0;
    // SAFETY: with NULL params libvirt only writes how many fields there are to `count`.
    let status =
        unsafe { sys::virNodeGetMemoryStats(conn.as_ptr(), all, ptr::null_mut(), &mut count, 0) };
    if status < 0 {
        return Err(LibvirtError::last());
    }
    let empty = sys::virNodeMemoryStats {
        field: [0; 80],
        value: 0,
    };
    let mut params = vec![empty; count.max(0) as usize];
    if params.is_empty() {
        return Ok(HashMap::new());
    }
    // SAFETY: `params` has room for `count` entries; libvirt fills at most that many.
    let status = unsafe {
        sys::virNodeGetMemoryStats(conn.as_ptr(), all, params.as_mut_ptr(), &mut count, 0)
    };
    if status < 0 {
        return Err(LibvirtError::last());
    }
    params.truncate(count.max(0) as usize);
    Ok(params
        .iter()
        .map(|param| (field_name(&param.field), param.value))
        .collect())
}

/// A fixed-size, NUL-terminated field name, read without trusting the terminator.
fn field_name(field: &[c_char]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .take_while(|&&byte| byte != 0)
        .map(|&byte| byte as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
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

    fn never_asked(_: &CredentialRequest) -> Option<String> {
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
