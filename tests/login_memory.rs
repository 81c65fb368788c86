//! A typed password is dropped once the host accepted it: no copy of the login settings
//! (the worker keeps one to start later logins) holds it afterwards, and when the user asked
//! to remember it, only the keyring has it.

mod common;

use hangar::backend::libvirt::ffi::{CredentialAnswer, CredentialKind, CredentialRequest};
use hangar::backend::login::{CredentialPrompt, Login, LoginSettings, LoginUi};
use hangar::backend::password::Password;
use hangar::backend::secrets;
use hangar::backend::store::new_connection_id;

const SECRET: &str = "typed-Pa55-for-login-memory";

/// Nobody to ask: a question is dismissed (the tests never need one).
struct NoUser;

impl LoginUi for NoUser {
    fn ask(&self, prompt: CredentialPrompt) {
        prompt.answer(None);
    }

    fn notice(&self, message: String) {
        panic!("unexpected notice: {message}");
    }
}

fn settings() -> LoginSettings {
    LoginSettings {
        username: Some("admin".to_owned()),
        host_name: "test host".to_owned(),
        typed_password: Password::from_text(SECRET).into(),
        ..Default::default()
    }
}

fn password_question() -> CredentialRequest {
    CredentialRequest {
        kind: CredentialKind::Password,
        prompt: "Password".to_owned(),
        default: None,
    }
}

/// Plays one login in which libvirt asks for the password and then accepts it.
fn accepted_login(settings: LoginSettings) -> Login {
    let mut login = Login::new(settings, Box::new(NoUser));
    login.begin_attempt();
    match login.answer(&password_question()) {
        Some(CredentialAnswer::Secret(password)) => assert_eq!(password.expose(), SECRET),
        other => panic!("expected the typed password, got {other:?}"),
    }
    login.succeeded();
    login
}

#[test]
fn typed_password_leaves_the_settings_once_accepted() {
    let settings = settings();
    // The worker's own copy, from which it starts every later login.
    let workers_copy = settings.clone();
    assert!(workers_copy.typed_password.is_set());

    let login = accepted_login(settings);
    assert!(
        !workers_copy.typed_password.is_set(),
        "the worker's copy of the settings still holds the typed password"
    );
    assert!(!login.holds_typed_password());
    assert!(!format!("{workers_copy:?}").contains(SECRET));
    // No keyring for this host: the one accepted copy stays in memory, to reconnect.
    assert!(login.holds_accepted_password());
}

#[test]
fn remembered_password_is_only_in_the_keyring_once_accepted() {
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let key = format!("test-{}", new_connection_id());
    let mut settings = settings();
    settings.keyring_key = Some(key.clone());
    settings.keyring_label = "Hangar: login memory test".to_owned();
    settings.remember_password = true;
    let workers_copy = settings.clone();

    let login = accepted_login(settings);
    assert!(!workers_copy.typed_password.is_set());
    assert!(!login.holds_typed_password());
    assert!(
        !login.holds_accepted_password(),
        "a password the keyring keeps is not kept in memory as well"
    );
    let stored = secrets::lookup_password(&key).expect("the test bed's keyring answers");
    assert_eq!(stored.as_ref().map(Password::expose), Some(SECRET));
    secrets::delete_password(&key).expect("clean up");
}
