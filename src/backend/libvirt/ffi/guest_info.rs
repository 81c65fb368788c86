//! What the guest agent reports about the guest (`virDomainGetGuestInfo`), as typed
//! parameters; freed with libvirt's own `virTypedParamsFree`.

use std::ffi::CStr;
use std::os::raw::c_int;
use std::ptr;

use virt::domain::Domain;
use virt::sys;

use super::domain_stats::read_typed_value;
use super::{LibvirtError, TypedValue};

/// The groups the details page shows: OS, hostname, time zone, users and file systems.
pub const GUEST_INFO_GROUPS: u32 = sys::VIR_DOMAIN_GUEST_INFO_OS
    | sys::VIR_DOMAIN_GUEST_INFO_HOSTNAME
    | sys::VIR_DOMAIN_GUEST_INFO_TIMEZONE
    | sys::VIR_DOMAIN_GUEST_INFO_USERS
    | sys::VIR_DOMAIN_GUEST_INFO_FILESYSTEM;

/// The guest agent's report as (field, value) pairs, in libvirt's order (one call, which
/// waits for the agent's answer).
pub fn guest_info_params(
    domain: &Domain,
    groups: u32,
) -> Result<Vec<(String, TypedValue)>, LibvirtError> {
    let mut params: sys::virTypedParameterPtr = ptr::null_mut();
    let mut count: c_int = 0;
    // SAFETY: libvirt allocates `count` parameters on success; they are freed below.
    let result =
        unsafe { sys::virDomainGetGuestInfo(domain.as_ptr(), groups, &mut params, &mut count, 0) };
    if result < 0 {
        return Err(LibvirtError::last());
    }
    let mut found = Vec::with_capacity(count.max(0) as usize);
    // SAFETY: `params` holds `count` valid parameters until virTypedParamsFree.
    unsafe {
        for index in 0..count.max(0) as usize {
            let param = &*params.add(index);
            if let Some(value) = read_typed_value(param) {
                let field = CStr::from_ptr(param.field.as_ptr())
                    .to_string_lossy()
                    .into_owned();
                found.push((field, value));
            }
        }
        sys::virTypedParamsFree(params, count);
    }
    Ok(found)
}
