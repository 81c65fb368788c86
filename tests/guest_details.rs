//! Titles and guest addresses in the domain list, from the test bed's real daemon: a title
//! set with `virsh` arrives through its metadata event, and a guest on a virtual network
//! shows the address its DHCP server leased.

mod common;

use std::time::Duration;

use hangar::backend::details::DomainDetails;
use hangar::backend::worker::{HostUpdate, WorkerOptions};

use common::network_guest::{self, NetworkGuest};

const PATIENCE: Duration = Duration::from_secs(30);

/// Waits for details of `uuid` that satisfy `wanted`.
fn details_of(
    updates: &async_channel::Receiver<HostUpdate>,
    uuid: &str,
    timeout: Duration,
    wanted: impl Fn(&DomainDetails) -> bool,
) -> DomainDetails {
    common::next_update(updates, timeout, |update| match update {
        HostUpdate::DomainDetails(changed) => changed
            .into_iter()
            .find(|details| details.uuid == uuid && wanted(details)),
        _ => None,
    })
}

/// Puts the guest's title back however the test ends.
struct TitleReset(String);

impl Drop for TitleReset {
    fn drop(&mut self) {
        let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").unwrap_or_default();
        let _ = std::process::Command::new("virsh")
            .args(["-c", &uri, "desc", &self.0, "--live", "--title", ""])
            .output();
    }
}

#[test]
fn a_title_set_outside_arrives_through_its_event() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let uuid = common::admin_virsh(&["domuuid", &guest]).trim().to_owned();
    // Refreshes every 10 minutes: the new title can only come through the event.
    let (_worker, updates) = common::connected_worker(&login, common::quick_options());
    details_of(&updates, &uuid, PATIENCE, |details| {
        details.title.is_empty()
    });

    let _reset = TitleReset(guest.clone());
    common::admin_virsh(&["desc", &guest, "--live", "--title", "Firmware console test"]);
    details_of(&updates, &uuid, PATIENCE, |details| {
        details.title == "Firmware console test"
    });
}

#[test]
fn a_guest_on_a_virtual_network_shows_its_leased_address() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = NetworkGuest::start();
    let leased = guest
        .leased_address(Duration::from_secs(90))
        .expect("the guest's firmware gets a DHCP lease");
    let options = WorkerOptions {
        refresh_interval: Duration::from_secs(1),
        ..common::quick_options()
    };
    let (_worker, updates) = common::connected_worker(&login, options);
    let details = details_of(&updates, &guest.uuid(), PATIENCE, |details| {
        !details.addresses.is_empty()
    });
    assert_eq!(details.addresses, [leased]);
    assert_eq!(details.title, network_guest::TITLE);
}
