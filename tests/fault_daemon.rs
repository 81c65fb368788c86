//! Faults of the host's daemon on the real test bed: libvirtd killed outright (SIGKILL) and
//! started again, and the SASL password changed on the server while Hangar is connected.
//!
//! The first test drives the hosts the window binds to (`model::Host`, on a GLib main
//! context of its own), so "rows" are the rows the list shows. Both tests stop the test
//! bed's libvirtd, so they take turns.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gio::prelude::*;
use hangar::backend::login::{CredentialPrompt, PromptAnswer};
use hangar::backend::password::Password;
use hangar::backend::secrets;
use hangar::backend::worker::{HostUpdate, HostWorker};
use hangar::model::{Domain, Host, HostStatus};

static DAEMON_TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    DAEMON_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

const PATIENCE: Duration = Duration::from_secs(60);

/// The UUIDs of a host's rows, in list order (duplicates kept, to be found).
fn row_uuids(host: &Host) -> Vec<String> {
    let store = host.domain_store();
    (0..store.n_items())
        .filter_map(|position| store.item(position).and_downcast::<Domain>())
        .map(|domain| domain.uuid())
        .collect()
}

fn unique(uuids: &[String]) -> BTreeSet<String> {
    uuids.iter().cloned().collect()
}

/// Runs `context` until `done` holds, checking `invariant` after every step; false on timeout.
fn run_until(
    context: &glib::MainContext,
    timeout: Duration,
    invariant: &dyn Fn(),
    done: &dyn Fn() -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        while context.iteration(false) {
            invariant();
        }
        invariant();
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Every domain the test bed's daemon has, asked through its admin socket.
fn daemon_uuids() -> BTreeSet<String> {
    common::admin_virsh(&["list", "--all", "--uuid"])
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn killed_daemon_comes_back_with_the_same_rows_and_other_hosts_carry_on() {
    let _turn = turn();
    let Some(login) = common::sasl_login() else {
        return;
    };
    let context = glib::MainContext::new();
    context
        .with_thread_default(|| killed_daemon_scenario(&context, &login))
        .expect("own the test's main context");
}

fn killed_daemon_scenario(context: &glib::MainContext, login: &common::SaslLogin) {
    // The user name in the address, the password as if just typed: nothing saved.
    let uri = login.uri.replacen("://", &format!("://{}@", login.user), 1);
    let testbed = Host::new(&uri);
    testbed.set_typed_password(Some(Password::from_text(&login.password)));
    let demo = Host::new(&common::demo_uri());
    let prompts = Rc::new(Cell::new(0));
    testbed.connect_credentials_needed({
        let prompts = prompts.clone();
        move |host| {
            prompts.set(prompts.get() + 1);
            if let Some(prompt) = host.take_prompt() {
                prompt.answer(None);
            }
        }
    });
    let demo_changes = Rc::new(RefCell::new(Vec::new()));
    demo.connect_notify_local(Some("status"), {
        let demo_changes = demo_changes.clone();
        move |host, _| demo_changes.borrow_mut().push(host.status())
    });
    // No row twice, ever, on either host.
    let no_duplicates = || {
        for host in [&testbed, &demo] {
            let uuids = row_uuids(host);
            assert_eq!(
                unique(&uuids).len(),
                uuids.len(),
                "{} lists a domain twice: {uuids:?}",
                host.uri()
            );
        }
    };

    testbed.connect_to_host();
    demo.connect_to_host();
    let both_listed = || {
        [&testbed, &demo]
            .iter()
            .all(|host| host.status() == HostStatus::Connected && host.domain_store().n_items() > 0)
    };
    assert!(
        run_until(context, PATIENCE, &no_duplicates, &both_listed),
        "not connected: test bed {:?} ({}), demo {:?}",
        testbed.status(),
        testbed.error_message(),
        demo.status()
    );
    let rows_before = unique(&row_uuids(&testbed));
    assert_eq!(
        rows_before,
        daemon_uuids(),
        "the rows are the daemon's domains"
    );
    let demo_rows = row_uuids(&demo);
    demo_changes.borrow_mut().clear();

    let killed_at = Instant::now();
    common::testbed_libvirtd("crash");
    let noticed = run_until(context, PATIENCE, &no_duplicates, &|| {
        testbed.status() != HostStatus::Connected
    });
    assert!(noticed, "Hangar did not notice that libvirtd died");
    eprintln!(
        "the loss was noticed {} ms after the kill: {:?}, “{}”",
        killed_at.elapsed().as_millis(),
        testbed.status(),
        testbed.error_message()
    );

    // While the daemon is down the demo host answers at once.
    let refreshed = Rc::new(Cell::new(false));
    let handler = demo.connect_local("domains-updated", false, {
        let refreshed = refreshed.clone();
        move |_| {
            refreshed.set(true);
            None
        }
    });
    let asked = Instant::now();
    demo.refresh();
    assert!(
        run_until(context, Duration::from_secs(5), &no_duplicates, &|| {
            refreshed.get()
        }),
        "the demo host did not refresh while the other host was down"
    );
    eprintln!(
        "the demo host refreshed in {} ms while libvirtd was down",
        asked.elapsed().as_millis()
    );
    demo.disconnect(handler);

    common::testbed_libvirtd("launch");
    let launched_at = Instant::now();
    let back = run_until(context, PATIENCE, &no_duplicates, &|| {
        testbed.status() == HostStatus::Connected && unique(&row_uuids(&testbed)) == rows_before
    });
    assert!(
        back,
        "no reconnect: {:?} “{}” {:?}, rows {:?}",
        testbed.status(),
        testbed.error_message(),
        testbed.phase(),
        row_uuids(&testbed)
    );
    eprintln!(
        "reconnected with the same {} rows {} ms after libvirtd was running again",
        rows_before.len(),
        launched_at.elapsed().as_millis()
    );
    // Let a refresh or two arrive, then compare again.
    run_until(context, Duration::from_secs(3), &no_duplicates, &|| false);
    assert_eq!(row_uuids(&testbed).len(), rows_before.len());
    assert_eq!(unique(&row_uuids(&testbed)), daemon_uuids());
    assert_eq!(prompts.get(), 0, "Hangar asked the user to reconnect");
    assert_eq!(row_uuids(&demo), demo_rows, "the demo host's rows changed");
    assert!(
        demo_changes.borrow().is_empty(),
        "the demo host's status changed: {:?}",
        demo_changes.borrow()
    );
    assert_eq!(demo.status(), HostStatus::Connected);
    testbed.disconnect_from_host();
    demo.disconnect_from_host();
}

/// Sets the SASL password of the test bed's user on the server (its sasldb), and in the test
/// bed's own files (which `libvirtd.sh launch` logs in with to check the daemon).
fn set_server_password(password: &str) {
    let dir = PathBuf::from(common::testbed_var("TESTBED_DIR").expect("TESTBED_DIR"));
    let user = common::testbed_var("HANGAR_TEST_SASL_USER").expect("user");
    let database = dir.join("libvirt/sasl/passwd.db");
    let mut child = Command::new("saslpasswd2")
        .args(["-p", "-a", "libvirt", "-f"])
        .arg(&database)
        .arg(&user)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run saslpasswd2");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("saslpasswd2's stdin");
        stdin
            .write_all(password.as_bytes())
            .expect("give saslpasswd2 the password");
    }
    assert!(
        child.wait().expect("saslpasswd2").success(),
        "saslpasswd2 failed"
    );
    // Both files are 0600 already; writing keeps their mode.
    let password_file = common::testbed_var("HANGAR_TEST_SASL_PASSWORD_FILE").expect("file");
    std::fs::write(password_file, password).expect("write the password file");
    let auth_file = common::testbed_var("HANGAR_TEST_AUTH_FILE").expect("auth file");
    let auth = std::fs::read_to_string(&auth_file).expect("read auth.conf");
    let auth: String = auth
        .lines()
        .map(|line| match line.starts_with("password=") {
            true => format!("password={password}\n"),
            false => format!("{line}\n"),
        })
        .collect();
    std::fs::write(&auth_file, auth).expect("write auth.conf");
}

/// Puts the test bed's own password back, also when the test fails.
struct RestorePassword(String);

impl Drop for RestorePassword {
    fn drop(&mut self) {
        set_server_password(&self.0);
    }
}

fn next_prompt(updates: &async_channel::Receiver<HostUpdate>) -> CredentialPrompt {
    common::next_update(updates, PATIENCE, |update| match update {
        HostUpdate::CredentialsNeeded(prompt) => Some(prompt),
        _ => None,
    })
}

#[test]
fn changed_password_is_asked_once_and_saved_only_after_it_worked() {
    let _turn = turn();
    let Some(login) = common::sasl_login() else {
        return;
    };
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let key = "fault-daemon-changed-password";
    let label = secrets::connection_label(Some(&login.user), Some("127.0.0.1"));
    secrets::store_password(key, &label, &Password::from_text(&login.password))
        .expect("seed the keyring");
    let mut settings = common::login_settings(&login);
    settings.keyring_key = Some(key.to_owned());
    settings.keyring_label = label;
    settings.remember_password = true;
    let worker = HostWorker::start(login.uri.clone(), settings, common::quick_options());
    let updates = worker.updates();
    // The saved password logs in without a question.
    common::wait_for_guest(&updates, PATIENCE, &guest);

    let _restore = RestorePassword(login.password.clone());
    let new_password = format!("changed-{}", std::process::id());
    set_server_password(&new_password);
    // The daemon restarts (as after an update): the saved password no longer works.
    common::testbed_libvirtd("restart");
    let prompt = next_prompt(&updates);
    let reason = prompt
        .reason
        .clone()
        .expect("the question says why it is asked");
    eprintln!("asked after the password changed, with the reason: {reason}");
    assert!(reason.contains("did not accept"), "{reason}");
    assert_eq!(
        secrets::lookup_password(key)
            .expect("lookup")
            .as_ref()
            .map(Password::expose),
        Some(login.password.as_str()),
        "the saved password is kept until a new one worked"
    );
    prompt.answer(Some(PromptAnswer {
        username: login.user.clone(),
        password: Password::from_text(&new_password),
        remember: true,
    }));
    common::wait_for_guest(&updates, PATIENCE, &guest);
    assert_eq!(
        secrets::lookup_password(key).expect("lookup"),
        Some(Password::from_text(&new_password)),
        "the new password replaced the old one once it worked"
    );
    // Asked once: nothing more in the next refreshes.
    std::thread::sleep(Duration::from_secs(2));
    while let Ok(update) = updates.try_recv() {
        assert!(
            !matches!(update, HostUpdate::CredentialsNeeded(_)),
            "asked a second time"
        );
    }
    drop(worker);
    secrets::delete_password(key).expect("clean up the keyring");
}
