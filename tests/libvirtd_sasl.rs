//! The backend against the test bed's real libvirtd over TCP with SASL (DIGEST-MD5).

mod common;

use std::time::Duration;

use hangar::backend::domain::DomainState;
use hangar::backend::error::ErrorKind;
use hangar::backend::libvirt::ffi::{CredentialAnswer, CredentialKind, CredentialRequest};
use hangar::backend::libvirt::session::HostSession;
use hangar::backend::worker::{HostUpdate, HostWorker};

#[test]
fn sasl_login_lists_the_running_guest() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest name");
    let mut asked = Vec::new();
    let mut answer = |request: &CredentialRequest| {
        asked.push(request.kind);
        match request.kind {
            CredentialKind::Username => Some(CredentialAnswer::Text(login.user.clone())),
            CredentialKind::Password => {
                Some(CredentialAnswer::Secret(login.password.as_str().into()))
            }
            CredentialKind::Text => None,
        }
    };
    let session = HostSession::open(&login.uri, &mut answer).expect("SASL login");
    assert_eq!(asked, [CredentialKind::Username, CredentialKind::Password]);
    let info = session.host_info().expect("host info");
    assert_eq!(info.driver, "QEMU");
    let domains = session.domains().expect("domains");
    let guest = domains
        .iter()
        .find(|domain| domain.name == guest)
        .expect("the guest is listed");
    assert_eq!(guest.state, DomainState::Running);
    assert_eq!(guest.vcpus, 1);
    assert_eq!(guest.max_memory_kib, 65_536);
}

#[test]
fn wrong_password_is_an_authentication_failure() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let mut answer = |request: &CredentialRequest| match request.kind {
        CredentialKind::Username => Some(CredentialAnswer::Text(login.user.clone())),
        _ => Some(CredentialAnswer::Secret("not-the-password".into())),
    };
    let error = match HostSession::open(&login.uri, &mut answer) {
        Ok(_) => panic!("a wrong password must not log in"),
        Err(error) => error,
    };
    assert_eq!(error.kind, ErrorKind::AuthFailed);
    assert!(!error.user_message().contains("not-the-password"));
}

#[test]
fn guest_paused_from_outside_changes_through_an_event() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest name");
    // The refresh interval is long: only an event can deliver the change in time.
    let mut settings = common::login_settings(&login);
    settings.typed_password =
        hangar::backend::password::Password::from_text(&login.password).into();
    let worker = HostWorker::start(login.uri.clone(), settings, common::quick_options());
    let updates = worker.updates();
    let initial = common::next_update(&updates, Duration::from_secs(30), |update| match update {
        HostUpdate::Domains(list) => Some(list),
        HostUpdate::Failed(error) => panic!("connect failed: {error}"),
        _ => None,
    });
    assert!(initial.iter().any(|domain| domain.name == guest));

    common::admin_virsh(&["suspend", &guest]);
    let paused = next_change_of(&updates, &guest);
    common::admin_virsh(&["resume", &guest]);
    let resumed = next_change_of(&updates, &guest);
    assert_eq!(paused, DomainState::Paused);
    assert_eq!(resumed, DomainState::Running);
}

fn next_change_of(updates: &async_channel::Receiver<HostUpdate>, name: &str) -> DomainState {
    common::next_update(updates, Duration::from_secs(20), |update| match update {
        HostUpdate::DomainChanged(summary) if summary.name == name => Some(summary.state),
        _ => None,
    })
}
