//! The domain list shows a guest's title and the address its virtual network leased, and the
//! search finds the guest by either, in the real app on the test bed's daemon.

mod common;

use std::time::Duration;

use common::network_guest::{self, NetworkGuest};
use common::RunningApp;

#[test]
fn search_finds_a_guest_by_its_address_and_by_its_title() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let other_guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let guest = NetworkGuest::start();
    let leased = guest
        .leased_address(Duration::from_secs(90))
        .expect("the guest's firmware gets a DHCP lease");
    let Some((app, _turn)) = RunningApp::start(&["--connect", &uri]) else {
        return;
    };
    let pid = app.pid().to_string();
    let still_listed =
        |name: &str| common::run_atspi(&["wait-names", "--pid", &pid, "Hangar", "1", name]).is_ok();

    app.wait_for_names(60, &[network_guest::GUEST, network_guest::TITLE, &leased])
        .expect("the row shows the guest's title and address");
    app.screenshot("guest-address-row");

    common::run_atspi(&["key", "ctrl+f"]).expect("open search");
    common::run_atspi(&["type", &leased]).expect("type the address");
    let found = app.wait_for_names(20, &[network_guest::GUEST, "1 virtual machine"]);
    app.screenshot("search-by-address");
    found.expect("the search finds the guest by its address");
    assert!(!still_listed(&other_guest), "the other guest is hidden");

    common::run_atspi(&["key", "ctrl+a"]).expect("select the query");
    common::run_atspi(&["type", "web server"]).expect("type part of the title");
    app.wait_for_names(20, &[network_guest::GUEST, "1 virtual machine"])
        .expect("the search finds the guest by its title");
    assert!(!still_listed(&other_guest), "the other guest is hidden");
}
