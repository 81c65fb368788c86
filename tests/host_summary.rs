//! The host summary against the demo host (test driver) and the test bed's real libvirtd.

mod common;

use hangar::backend::domain::DomainState;
use hangar::backend::libvirt::ffi::{CredentialAnswer, CredentialKind, CredentialRequest};
use hangar::backend::libvirt::session::HostSession;
use hangar::backend::summary::{self, HostSummary, SummarySampler};

const GIB_IN_KIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * 1024 * 1024;

fn demo_summary() -> HostSummary {
    let session = HostSession::open(&common::demo_uri(), &mut |_| None).expect("open demo");
    summary::collect(&session, &mut SummarySampler::default()).expect("summary")
}

#[test]
fn demo_host_hardware_and_software() {
    let summary = demo_summary();
    assert!(!summary.hostname.is_empty());
    assert!(!summary.libvirt_version.is_empty());
    assert!(
        summary.hypervisor.starts_with("TEST"),
        "{}",
        summary.hypervisor
    );
    assert!(!summary.cpu_model.is_empty());
    assert_eq!(summary.cpus, 16);
    assert_eq!(
        (
            summary.sockets,
            summary.cores_per_socket,
            summary.threads_per_core
        ),
        (1, 8, 2)
    );
    assert_eq!(summary.cpu_mhz, 3400);
    assert_eq!(summary.memory_total_kib, 128 * GIB_IN_KIB);
}

#[test]
fn demo_host_counts_domains_by_state() {
    let summary = demo_summary();
    assert_eq!(summary.domain_count(DomainState::Running), 10);
    assert_eq!(summary.domain_count(DomainState::Paused), 3);
    assert_eq!(summary.domain_count(DomainState::ShutOff), 5);
}

#[test]
fn demo_host_pools_have_capacity() {
    let summary = demo_summary();
    let names: Vec<&str> = summary
        .pools
        .iter()
        .map(|pool| pool.name.as_str())
        .collect();
    assert_eq!(names, ["default", "iso-library"]);
    for pool in &summary.pools {
        assert!(pool.active, "{pool:?}");
        assert_eq!(pool.capacity_bytes, 100 * GIB, "{pool:?}");
        assert!(pool.allocation_bytes > 0, "{pool:?}");
        assert!(pool.allocation_bytes <= pool.capacity_bytes, "{pool:?}");
    }
}

#[test]
fn demo_host_networks_have_forward_modes() {
    let summary = demo_summary();
    let default = &summary.networks[0];
    assert_eq!(default.name, "default");
    assert!(default.active);
    assert_eq!(default.forward_mode, "nat");
    assert_eq!(default.bridge.as_deref(), Some("virbr0"));
    assert_eq!(default.ipv4.as_deref(), Some("192.168.122.1/24"));
    let lab = &summary.networks[1];
    assert_eq!(lab.name, "lab-internal");
    assert_eq!(lab.forward_mode, "isolated");
    assert_eq!(lab.ipv4.as_deref(), Some("10.77.0.1/24"));
    assert_eq!(summary.networks.len(), 2);
}

#[test]
fn real_host_reports_qemu_and_the_running_guest() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let mut answer = |request: &CredentialRequest| match request.kind {
        CredentialKind::Username => Some(CredentialAnswer::Text(login.user.clone())),
        CredentialKind::Password => Some(CredentialAnswer::Secret(login.password.as_str().into())),
        CredentialKind::Text => None,
    };
    let session = HostSession::open(&login.uri, &mut answer).expect("SASL login");
    let mut sampler = SummarySampler::default();
    let first = summary::collect(&session, &mut sampler).expect("first summary");
    assert!(
        first.hypervisor.starts_with("QEMU "),
        "{}",
        first.hypervisor
    );
    assert!(
        first.hypervisor.chars().any(|c| c.is_ascii_digit()),
        "{}",
        first.hypervisor
    );
    assert!(first.domain_count(DomainState::Running) >= 1, "{first:?}");
    assert!(first.cpus > 0);
    assert!(first.memory_total_kib > 0);
    let free = first
        .memory_free_kib
        .expect("a real host says what is free");
    assert!(free <= first.memory_total_kib);
    assert!(!first.cpu_model.is_empty());
    assert_eq!(first.cpu_usage, None, "usage needs two samples");

    // Usage is a share of the CPU time that passed between two samples: sample until the
    // host's counters have moved.
    let usage = common::wait_for(std::time::Duration::from_secs(10), || {
        let second = summary::collect(&session, &mut sampler).expect("second summary");
        second.cpu_usage
    })
    .expect("usage from two samples");
    assert!((0.0..=1.0).contains(&usage), "{usage}");
}
