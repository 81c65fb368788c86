//! Host-wide CPU and memory statistics.

use std::collections::HashMap;
use std::os::raw::{c_char, c_int};
use std::ptr;

use virt::connect::Connect;
use virt::sys;

use super::LibvirtError;

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
pub(super) fn field_name(field: &[c_char]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .take_while(|&&byte| byte != 0)
        .map(|&byte| byte as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}
