//! Domain event and connection close callbacks, delivered on libvirt's event loop.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use virt::sys;

use super::{init, optional_string, Connection, LibvirtError};

/// What happened to a domain, as libvirt's event callbacks report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEventKind {
    /// `VIR_DOMAIN_EVENT_*` with its detail code.
    Lifecycle {
        event: i32,
        detail: i32,
    },
    Reboot,
    /// The title, description or a metadata element changed.
    Metadata,
    /// A device was hot-plugged or removed (e.g. a network card).
    Device,
    /// The guest agent connected (true) or went away (false).
    Agent {
        connected: bool,
    },
}

impl DomainEventKind {
    /// Whether the domain's XML may now read differently: a new saved config (`virsh
    /// define`, `setmaxmem --config`), new metadata or a device plugged in or out.
    pub fn changes_definition(&self) -> bool {
        match self {
            Self::Lifecycle { event, .. } => *event == lifecycle::DEFINED,
            Self::Metadata | Self::Device => true,
            Self::Reboot | Self::Agent { .. } => false,
        }
    }
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
    conn: Connection,
    callback_ids: Vec<c_int>,
    close_registered: bool,
}

impl ConnectionWatch {
    /// Registers `on_domain_event` for lifecycle, reboot, metadata, device and guest agent
    /// events of every domain and `on_close` for the connection's unexpected end.
    pub fn register(
        conn: &Connection,
        on_domain_event: impl Fn(DomainEvent) + Send + Sync + 'static,
        on_close: impl Fn(CloseReason) + Send + Sync + 'static,
    ) -> Result<Self, LibvirtError> {
        init();
        let mut watch = Self {
            conn: conn.try_clone()?,
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
            handler.clone(),
        )?;
        // Title and network cards feed the list's titles and addresses; drivers without these
        // events still give lifecycle ones.
        let optional = [
            (
                sys::VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                metadata_trampoline_ptr(),
            ),
            (
                sys::VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                device_trampoline_ptr(),
            ),
            (
                sys::VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                device_trampoline_ptr(),
            ),
            (
                sys::VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
                agent_trampoline_ptr(),
            ),
        ];
        for (event_id, callback) in optional {
            let _ = watch.register_domain_event(event_id, callback, handler.clone());
        }
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

fn metadata_trampoline_ptr() -> sys::virConnectDomainEventGenericCallback {
    type MetadataFn = unsafe extern "C" fn(
        sys::virConnectPtr,
        sys::virDomainPtr,
        c_int,
        *const c_char,
        *mut c_void,
    );
    let callback: MetadataFn = metadata_trampoline;
    // SAFETY: as for lifecycle events: the metadata registration calls exactly this signature.
    Some(unsafe { std::mem::transmute::<MetadataFn, GenericFn>(callback) })
}

fn device_trampoline_ptr() -> sys::virConnectDomainEventGenericCallback {
    type DeviceFn =
        unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *const c_char, *mut c_void);
    let callback: DeviceFn = device_trampoline;
    // SAFETY: device added and removed registrations call exactly this signature.
    Some(unsafe { std::mem::transmute::<DeviceFn, GenericFn>(callback) })
}

fn agent_trampoline_ptr() -> sys::virConnectDomainEventGenericCallback {
    type AgentFn =
        unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, c_int, c_int, *mut c_void);
    let callback: AgentFn = agent_trampoline;
    // SAFETY: the agent lifecycle registration calls exactly this signature.
    Some(unsafe { std::mem::transmute::<AgentFn, GenericFn>(callback) })
}

type GenericFn = unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *mut c_void);

unsafe extern "C" fn metadata_trampoline(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    _kind: c_int,
    _namespace: *const c_char,
    opaque: *mut c_void,
) {
    deliver_domain_event(dom, opaque, DomainEventKind::Metadata);
}

unsafe extern "C" fn device_trampoline(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    _alias: *const c_char,
    opaque: *mut c_void,
) {
    deliver_domain_event(dom, opaque, DomainEventKind::Device);
}

unsafe extern "C" fn agent_trampoline(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    state: c_int,
    _reason: c_int,
    opaque: *mut c_void,
) {
    let connected = state == sys::VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED as c_int;
    deliver_domain_event(dom, opaque, DomainEventKind::Agent { connected });
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
