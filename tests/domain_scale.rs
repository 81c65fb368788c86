//! The domain list costs the same number of libvirt calls at 100 and at 5,000 domains.

mod common;

use hangar::backend::libvirt::session::HostSession;

/// Calls made by a refresh after the first (which may learn each domain's size once).
fn calls_per_refresh(count: usize) -> (u64, usize) {
    let path = common::fixtures::many_domains(count);
    let session =
        HostSession::open(&format!("test://{}", path.display()), &mut |_| None).expect("open");
    let first = session.domains().expect("first list");
    assert_eq!(first.len(), count);
    let before = session.libvirt_calls();
    let listed = session.domains().expect("refresh").len();
    (session.libvirt_calls() - before, listed)
}

#[test]
fn calls_per_refresh_do_not_grow_with_the_domain_count() {
    let (small, small_listed) = calls_per_refresh(100);
    let (large, large_listed) = calls_per_refresh(5_000);
    assert_eq!((small_listed, large_listed), (100, 5_000));
    assert_eq!(small, large, "a refresh must not make one call per domain");
    assert_eq!(large, 1, "one bulk statistics call per refresh");
}

#[test]
fn calls_per_refresh_over_the_real_daemon_are_one() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let mut answer = |request: &hangar::backend::libvirt::ffi::CredentialRequest| {
        use hangar::backend::libvirt::ffi::{CredentialAnswer, CredentialKind};
        match request.kind {
            CredentialKind::Username => Some(CredentialAnswer::Text(login.user.clone())),
            _ => Some(CredentialAnswer::Secret(login.password.as_str().into())),
        }
    };
    let session = HostSession::open(&login.uri, &mut answer).expect("open");
    session.domains().expect("first list");
    let before = session.libvirt_calls();
    session.domains().expect("refresh");
    assert_eq!(session.libvirt_calls() - before, 1);
}
