//! Lifecycle actions from Hangar's backend on the test bed's real guest, and domains that
//! appear and vanish because of `virsh` run outside Hangar.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use hangar::backend::actions::DomainAction;
use hangar::backend::domain::DomainState;
use hangar::backend::worker::{HostCommand, HostUpdate};

const PATIENCE: Duration = Duration::from_secs(30);

/// The guest is shared; tests that change it take turns.
static GUEST_TURN: Mutex<()> = Mutex::new(());

fn state_of(updates: &async_channel::Receiver<HostUpdate>, name: &str, wanted: DomainState) {
    common::next_update(updates, PATIENCE, |update| match update {
        HostUpdate::DomainChanged(summary) if summary.name == name && summary.state == wanted => {
            Some(())
        }
        HostUpdate::ActionFailed { error, .. } => panic!("action failed: {error}"),
        _ => None,
    });
}

fn uuid_of(name: &str) -> String {
    common::admin_virsh(&["domuuid", name]).trim().to_owned()
}

#[test]
fn pause_resume_force_off_and_start_the_guest() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let _turn = GUEST_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // A long refresh interval: changes must come from actions and events, not polling.
    let (worker, updates) = common::connected_worker(&login, common::quick_options());
    let uuids = vec![uuid_of(&guest)];
    let act = |action| {
        worker.send(HostCommand::Domains {
            uuids: uuids.clone(),
            action,
        })
    };
    act(DomainAction::Pause);
    state_of(&updates, &guest, DomainState::Paused);
    act(DomainAction::Resume);
    state_of(&updates, &guest, DomainState::Running);
    act(DomainAction::ForceOff);
    state_of(&updates, &guest, DomainState::ShutOff);
    act(DomainAction::Start);
    state_of(&updates, &guest, DomainState::Running);
}

#[test]
fn failures_come_back_with_the_reason() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let _turn = GUEST_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // A long refresh interval: changes must come from actions and events, not polling.
    let (worker, updates) = common::connected_worker(&login, common::quick_options());
    // Resuming a running guest is refused by libvirt.
    worker.send(HostCommand::Domains {
        uuids: vec![uuid_of(&guest)],
        action: DomainAction::Resume,
    });
    let (domain, error) = common::next_update(&updates, PATIENCE, |update| match update {
        HostUpdate::ActionFailed { domain, error, .. } => Some((domain, error)),
        _ => None,
    });
    assert_eq!(domain, guest);
    assert!(
        error.user_message().contains("already running"),
        "{}",
        error.user_message()
    );
}

#[test]
fn a_domain_created_and_destroyed_outside_shows_up_and_goes() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    // A long refresh interval: changes must come from actions and events, not polling.
    let (_worker, updates) = common::connected_worker(&login, common::quick_options());
    let dir = common::testbed_var("TESTBED_DIR").expect("TESTBED_DIR");
    let xml = std::path::Path::new(&dir).join("outsider.xml");
    std::fs::write(
        &xml,
        "<domain type='qemu'><name>outsider</name><memory unit='MiB'>32</memory>\
         <os><type arch='x86_64'>hvm</type></os><devices/></domain>",
    )
    .expect("write domain XML");
    common::admin_virsh(&["create", &xml.to_string_lossy()]);
    state_of(&updates, "outsider", DomainState::Running);
    common::admin_virsh(&["destroy", "outsider"]);
    let uuid = common::next_update(&updates, PATIENCE, |update| match update {
        HostUpdate::DomainRemoved(uuid) => Some(uuid),
        _ => None,
    });
    assert_eq!(uuid.len(), 36);
}
