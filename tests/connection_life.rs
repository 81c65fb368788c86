//! A host's connection through its life against the real test bed: logging in with what is
//! saved or typed, wrong passwords, a daemon that goes away and comes back, a host that hangs.
//!
//! These tests stop and start the test bed's libvirtd, so they take turns.

mod common;

use std::net::TcpListener;
use std::sync::Mutex;
use std::time::Duration;

use hangar::backend::error::ErrorKind;
use hangar::backend::login::{CredentialPrompt, PromptAnswer};
use hangar::backend::password::Password;
use hangar::backend::secrets;
use hangar::backend::worker::{HostCommand, HostUpdate, HostWorker};

static DAEMON_TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    DAEMON_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

const PATIENCE: Duration = Duration::from_secs(30);

fn next_prompt(updates: &async_channel::Receiver<HostUpdate>) -> CredentialPrompt {
    common::next_update(updates, PATIENCE, |update| match update {
        HostUpdate::CredentialsNeeded(prompt) => Some(prompt),
        HostUpdate::Domains(_) => panic!("connected without asking"),
        _ => None,
    })
}

fn answer(prompt: CredentialPrompt, user: &str, password: &str) {
    prompt.answer(Some(PromptAnswer {
        username: user.to_owned(),
        password: Password::from_text(password),
        remember: false,
    }));
}

#[test]
fn wrong_password_asks_again_with_the_reason() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let _turn = turn();
    let worker = HostWorker::start(
        login.uri.clone(),
        common::login_settings(&login),
        common::quick_options(),
    );
    let updates = worker.updates();
    let first = next_prompt(&updates);
    assert_eq!(first.username.as_deref(), Some(login.user.as_str()));
    assert!(first.reason.is_none(), "the first question has no reason");
    answer(first, &login.user, "wrong-password");
    let second = next_prompt(&updates);
    let reason = second.reason.clone().expect("asked again with a reason");
    assert!(reason.contains("did not accept"), "{reason}");
    assert!(!reason.contains("wrong-password"));
    answer(second, &login.user, &login.password);
    common::wait_for_guest(&updates, PATIENCE, &guest);
}

#[test]
fn cancelling_the_question_stops_until_retry() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let _turn = turn();
    let worker = HostWorker::start(
        login.uri.clone(),
        common::login_settings(&login),
        common::quick_options(),
    );
    let updates = worker.updates();
    next_prompt(&updates).answer(None);
    let error = common::next_update(&updates, PATIENCE, |update| match update {
        HostUpdate::Failed(error) => Some(error),
        _ => None,
    });
    assert_eq!(error.kind, ErrorKind::AuthCancelled);
    // Over more than twice the first back-off (300 ms), nothing may come; then the worker,
    // alive, asks again as soon as the user retries.
    common::assert_no_update_within(
        &updates,
        Duration::from_millis(800),
        |update| {
            matches!(
                update,
                HostUpdate::Retrying(_) | HostUpdate::CredentialsNeeded(_)
            )
        },
        "a cancelled login must wait for the user",
    );
    worker.send(HostCommand::Retry);
    next_prompt(&updates).answer(None);
}

#[test]
fn host_down_at_start_connects_once_it_is_up() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let _turn = turn();
    common::testbed_libvirtd("stop");
    let mut settings = common::login_settings(&login);
    settings.typed_password = Password::from_text(&login.password).into();
    let worker = HostWorker::start(login.uri.clone(), settings, common::quick_options());
    let updates = worker.updates();
    let error = common::next_update(&updates, PATIENCE, |update| match update {
        HostUpdate::Failed(error) => Some(error),
        _ => None,
    });
    // A demo host meanwhile works: one slow host never holds up another.
    let other = HostWorker::start(
        format!("test://{}", common::demo_fixture().display()),
        Default::default(),
        common::quick_options(),
    );
    common::next_update(&other.updates(), PATIENCE, |update| match update {
        HostUpdate::Domains(list) => (!list.is_empty()).then_some(()),
        _ => None,
    });
    common::testbed_libvirtd("launch");
    assert_eq!(error.kind, ErrorKind::Unreachable);
    common::wait_for_guest(&updates, PATIENCE, &guest);
}

#[test]
fn daemon_restart_while_connected_reconnects_by_itself() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let _turn = turn();
    let mut settings = common::login_settings(&login);
    settings.typed_password = Password::from_text(&login.password).into();
    let worker = HostWorker::start(login.uri.clone(), settings, common::quick_options());
    let updates = worker.updates();
    common::wait_for_guest(&updates, PATIENCE, &guest);
    common::testbed_libvirtd("restart");
    let error = common::next_update(&updates, PATIENCE, |update| match update {
        HostUpdate::Failed(error) => Some(error),
        _ => None,
    });
    assert!(
        matches!(
            error.kind,
            ErrorKind::ConnectionLost | ErrorKind::Unreachable
        ),
        "{error:?}"
    );
    common::wait_for_guest(&updates, PATIENCE, &guest);
}

#[test]
fn host_that_never_answers_times_out_with_a_message() {
    // Accepts the TCP connection, then says nothing, like a wedged daemon.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
    let port = listener.local_addr().expect("address").port();
    let held = common::SilentServer::hold(listener, 1);
    let mut options = common::quick_options();
    options.connect_timeout = Duration::from_secs(2);
    let started = std::time::Instant::now();
    let worker = HostWorker::start(
        format!("qemu+tcp://127.0.0.1:{port}/system"),
        Default::default(),
        options,
    );
    let error = common::next_update(&worker.updates(), PATIENCE, |update| match update {
        HostUpdate::Failed(error) => Some(error),
        _ => None,
    });
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        error
            .user_message()
            .contains("did not answer within 2 seconds"),
        "{}",
        error.user_message()
    );
    drop(worker);
    drop(held);
}

#[test]
fn wrong_saved_password_is_replaced_only_after_a_successful_login() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let _turn = turn();
    let key = "connection-life-stale";
    let label = secrets::connection_label(Some(&login.user), Some("127.0.0.1"));
    secrets::store_password(key, &label, &Password::from_text("stale-password"))
        .expect("seed the keyring");
    let mut settings = common::login_settings(&login);
    settings.keyring_key = Some(key.to_owned());
    settings.keyring_label = label;
    settings.remember_password = true;
    let worker = HostWorker::start(login.uri.clone(), settings, common::quick_options());
    let updates = worker.updates();

    // The saved password is tried first, rejected, and the user is asked with the reason.
    let prompt = next_prompt(&updates);
    assert!(
        prompt.reason.is_some(),
        "the user learns why they are asked"
    );
    assert_eq!(
        secrets::lookup_password(key)
            .expect("lookup")
            .as_ref()
            .map(Password::expose),
        Some("stale-password"),
        "nothing is replaced before a login succeeds"
    );
    prompt.answer(Some(PromptAnswer {
        username: login.user.clone(),
        password: Password::from_text(&login.password),
        remember: true,
    }));
    common::wait_for_guest(&updates, PATIENCE, &guest);
    assert_eq!(
        secrets::lookup_password(key).expect("lookup"),
        Some(Password::from_text(&login.password)),
        "the working password replaced the stale one"
    );
    secrets::delete_password(key).expect("clean up");
}
