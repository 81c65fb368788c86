//! Bulk domain statistics: one call for every domain's figures.

use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr;

use virt::connect::Connect;
use virt::sys;

use super::{optional_string, LibvirtError};

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
    /// Field name and value, in libvirt's order. A record has a few dozen fields at most,
    /// so a linear search beats hashing them for every domain at every refresh.
    pub params: Vec<(String, TypedValue)>,
}

impl DomainStats {
    pub fn get(&self, key: &str) -> Option<&TypedValue> {
        self.params
            .iter()
            .find(|(field, _)| field == key)
            .map(|(_, value)| value)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(TypedValue::as_u64)
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
    let mut params = Vec::with_capacity(record.nparams.max(0) as usize);
    for index in 0..record.nparams.max(0) as usize {
        let param = &*record.params.add(index);
        if let Some(value) = read_typed_value(param) {
            let field = CStr::from_ptr(param.field.as_ptr())
                .to_string_lossy()
                .into_owned();
            params.push((field, value));
        }
    }
    DomainStats { name, uuid, params }
}

/// # Safety
/// `param` is a valid typed parameter whose `type_` says which union member is set.
pub(super) unsafe fn read_typed_value(param: &sys::virTypedParameter) -> Option<TypedValue> {
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
