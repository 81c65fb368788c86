//! The backend against libvirt's in-process test driver: the demo fixture and bad input.

mod common;

use std::time::Duration;

use hangar::backend::domain::DomainState;
use hangar::backend::error::ErrorKind;
use hangar::backend::libvirt::session::HostSession;
use hangar::backend::login::LoginSettings;
use hangar::backend::worker::{HostCommand, HostUpdate, HostWorker, WorkerOptions};

fn no_credentials() -> impl FnMut(
    &hangar::backend::libvirt::ffi::CredentialRequest,
) -> Option<hangar::backend::libvirt::ffi::CredentialAnswer> {
    |_| None
}

#[test]
fn demo_fixture_has_a_realistic_mix_of_domains() {
    let session = HostSession::open(&common::demo_uri(), &mut no_credentials()).expect("open");
    let domains = session.domains().expect("domains");
    assert!(domains.len() >= 12, "only {} domains", domains.len());
    for state in [
        DomainState::Running,
        DomainState::Paused,
        DomainState::ShutOff,
    ] {
        assert!(
            domains.iter().any(|domain| domain.state == state),
            "no {state:?} domain in the demo"
        );
    }
    let sizes: std::collections::HashSet<u64> =
        domains.iter().map(|domain| domain.memory_kib).collect();
    assert!(sizes.len() >= 3, "domains should differ in size");
    assert!(domains
        .iter()
        .all(|domain| domain.vcpus >= 1 && !domain.uuid.is_empty()));
    let web = domains
        .iter()
        .find(|domain| domain.name == "web-frontend")
        .expect("web-frontend");
    assert_eq!(web.state, DomainState::Running);
}

#[test]
fn worker_reports_connection_and_domains_of_test_default() {
    let worker = HostWorker::start(
        "test:///default".into(),
        LoginSettings::default(),
        WorkerOptions::default(),
    );
    let updates = worker.updates();
    let info = common::next_update(&updates, Duration::from_secs(10), |update| match update {
        HostUpdate::Connected(info) => Some(info),
        _ => None,
    });
    assert_eq!(info.driver, "TEST");
    let Ok(HostUpdate::Domains(domains)) = updates.recv_blocking() else {
        panic!("expected the domain list");
    };
    let test = domains
        .iter()
        .find(|d| d.name == "test")
        .expect("domain test");
    assert_eq!(test.state, DomainState::Running);
    assert_eq!(test.vcpus, 2);
    // Titles and addresses follow the list in their own updates.
    let details = common::next_update(&updates, Duration::from_secs(10), |update| match update {
        HostUpdate::DomainDetails(details) => Some(details),
        _ => None,
    });
    assert!(details.iter().any(|details| details.uuid == test.uuid));
    worker.send(HostCommand::Refresh);
    common::next_update(&updates, Duration::from_secs(10), |update| {
        matches!(update, HostUpdate::Domains(_)).then_some(())
    });
    worker.send(HostCommand::Stop);
    common::next_update(&updates, Duration::from_secs(10), |update| {
        matches!(update, HostUpdate::Stopped).then_some(())
    });
}

fn open_error(uri: &str) -> hangar::backend::error::BackendError {
    match HostSession::open(uri, &mut no_credentials()) {
        Ok(_) => panic!("{uri} should not open"),
        Err(error) => error,
    }
}

#[test]
fn unknown_scheme_gets_a_clear_message() {
    let error = open_error("frobnicate:///system");
    assert_eq!(error.kind, ErrorKind::UnknownDriver);
    assert!(error
        .user_message()
        .contains("“frobnicate” is not a hypervisor"));
}

#[test]
fn unreachable_host_gets_a_clear_message() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let error = open_error("qemu+tcp://127.0.0.1:1/system");
    assert_eq!(error.kind, ErrorKind::Unreachable);
    assert!(error
        .user_message()
        .starts_with("Could not reach the host."));
    assert!(error.user_message().contains("Connection refused"));
}

#[test]
fn missing_and_malformed_fixtures_get_clear_messages() {
    let error = open_error("test:///nonexistent/fixture.xml");
    assert!(error.user_message().contains("does not exist"));

    let dir = std::env::temp_dir().join(format!("hangar-bad-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("broken.xml");
    std::fs::write(&path, "<node><domain type='test'><name>half").expect("write");
    let error = open_error(&format!("test://{}", path.display()));
    assert!(!error.user_message().is_empty());
    assert!(error.user_message().len() < 400, "{}", error.user_message());
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn worker_reports_failure_and_tries_again() {
    let worker = HostWorker::start(
        "qemu+tcp://127.0.0.1:1/system".into(),
        LoginSettings::default(),
        common::quick_options(),
    );
    let updates = worker.updates();
    let error = common::next_update(&updates, Duration::from_secs(10), |update| match update {
        HostUpdate::Failed(error) => Some(error),
        _ => None,
    });
    assert_eq!(error.kind, ErrorKind::Unreachable);
    common::next_update(&updates, Duration::from_secs(5), |update| match update {
        HostUpdate::Retrying(pause) => Some(pause),
        _ => None,
    });
}

#[test]
fn bad_addresses_wait_for_the_user_instead_of_retrying() {
    let worker = HostWorker::start(
        "frobnicate:///system".into(),
        LoginSettings::default(),
        common::quick_options(),
    );
    let updates = worker.updates();
    common::next_update(&updates, Duration::from_secs(10), |update| match update {
        HostUpdate::Failed(error) => Some(error),
        _ => None,
    });
    // More than twice the first back-off (300 ms): a retry would have come by then.
    common::assert_no_update_within(
        &updates,
        Duration::from_millis(700),
        |update| matches!(update, HostUpdate::Retrying(_)),
        "must not retry a bad address",
    );
}

#[test]
fn polling_pauses_while_nobody_looks_and_catches_up_after() {
    let options = WorkerOptions {
        refresh_interval: Duration::from_millis(100),
        ..WorkerOptions::default()
    };
    let worker = HostWorker::start(common::demo_uri(), LoginSettings::default(), options);
    let updates = worker.updates();
    common::next_update(&updates, Duration::from_secs(10), |update| match update {
        HostUpdate::Domains(_) => Some(()),
        _ => None,
    });
    worker.send(HostCommand::SetPolling(false));
    // A refresh already under way may still arrive: let two intervals pass (the time is the
    // point), then six more intervals must bring none.
    common::assert_no_update_within(
        &updates,
        Duration::from_millis(200),
        |_| false,
        "the worker lives",
    );
    common::assert_no_update_within(
        &updates,
        Duration::from_millis(600),
        |update| matches!(update, HostUpdate::Domains(_)),
        "no refresh while polling is paused",
    );
    worker.send(HostCommand::SetPolling(true));
    common::next_update(
        &updates,
        Duration::from_millis(500),
        |update| match update {
            HostUpdate::Domains(_) => Some(()),
            _ => None,
        },
    );
}

/// libvirt's callbacks run on Hangar's own event thread, never on the thread that made the
/// call (in the app, the GTK main thread must never run libvirt code).
#[test]
fn domain_events_arrive_on_the_libvirt_event_thread() {
    // As in the app, where GTK's main loop owns GLib's default context: libvirt's default
    // event loop would wait for it forever and never deliver an event.
    let context = glib::MainContext::default();
    let _owned = context.acquire().expect("own the default main context");
    // A fixture of its own: test:///default is one state shared by every connection of the
    // process, and the other tests here read its `test` domain as running.
    let session = HostSession::open(&common::demo_uri(), &mut no_credentials()).expect("open");
    let (sender, receiver) = std::sync::mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let _watch = session
        .watch(
            move |event| {
                let thread = std::thread::current().name().map(str::to_owned);
                if let Ok(sender) = sender.lock() {
                    let _ = sender.send((event.name, thread));
                }
            },
            |_| {},
        )
        .expect("watch events");
    let domain = session
        .connection()
        .lookup_domain_by_name("web-frontend")
        .expect("domain web-frontend");
    domain.suspend().expect("pause web-frontend");
    let (name, thread) = receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("a lifecycle event");
    assert_eq!(name, "web-frontend");
    assert_eq!(thread.as_deref(), Some("libvirt-events"));
}

/// Titles and network cards of a whole host cost one XML read per domain (plus one call for
/// every handle), once; not a lookup and a read each.
#[test]
fn reading_every_domains_details_costs_one_call_each() {
    use hangar::backend::details::DetailsTracker;

    let uri = format!("test://{}", common::fixtures::many_domains(100).display());
    let session = HostSession::open(&uri, &mut no_credentials()).expect("open");
    let domains = session.domains().expect("list");
    let mut tracker = DetailsTracker::default();
    tracker.note_domains(&domains);
    let before = session.libvirt_calls();
    let mut read = Vec::new();
    while tracker.has_pending() {
        read.extend(tracker.read_some(&session, 25));
    }
    assert_eq!(read.len(), domains.len());
    assert_eq!(session.libvirt_calls() - before, 1 + domains.len() as u64);
}
