//! Passwords do not leak: every type that holds one prints `<redacted>` in its `Debug`
//! output (plain and pretty), the new-VM wizard's XML review masks the VNC password, and a
//! password written into a connection address is refused by the form and taken out of
//! `connections.toml` when it is loaded.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use hangar::backend::connection_form::{ConnectionForm, Field, Transport};
use hangar::backend::console::{ConsoleEndpoint, ConsoleTarget};
use hangar::backend::libvirt::ffi::CredentialAnswer;
use hangar::backend::login::{LoginSettings, PromptAnswer, TypedPassword};
use hangar::backend::new_vm_form::NewVmForm;
use hangar::backend::password::{Password, REDACTED};
use hangar::backend::store::{new_connection_id, ConnectionStore, SavedConnection};
use hangar::backend::xml::domain::{
    domain_xml, review_xml, unmask_review_xml, ConsoleSpec, NewVmSpec, MASKED_PASSWORD,
};
use hangar::ui::ConnectionResult;

/// Known, and unlike anything else in the printed structures.
const SECRET: &str = "Tr0ub4dor&3-xyzzy";
/// VNC passwords are at most 8 characters.
const VNC_SECRET: &str = "Vn9&zq!7";

fn secret() -> Password {
    Password::from_text(SECRET)
}

fn saved_connection() -> SavedConnection {
    SavedConnection {
        id: new_connection_id(),
        name: "NAS".to_owned(),
        uri: "qemu+tcp://admin@nas.local/system".to_owned(),
        username: Some("admin".to_owned()),
        autoconnect: true,
        remember_password: true,
    }
}

fn vnc_spec() -> NewVmSpec {
    NewVmSpec {
        name: "web".to_owned(),
        console: ConsoleSpec {
            listen: "0.0.0.0".to_owned(),
            password: Some(Password::from_text(VNC_SECRET)),
        },
        ..NewVmSpec::default()
    }
}

/// Checks both `{:?}` and `{:#?}` of `value`, naming `what` on failure.
fn assert_redacted(what: &str, value: &dyn std::fmt::Debug, secret: &str) {
    for printed in [format!("{value:?}"), format!("{value:#?}")] {
        assert!(
            !printed.contains(secret),
            "{what} prints the password: {printed}"
        );
        assert!(
            printed.contains(REDACTED),
            "{what} does not say a password is there: {printed}"
        );
    }
}

#[test]
fn debug_output_of_every_password_holder_is_redacted() {
    let settings = LoginSettings {
        username: Some("admin".to_owned()),
        host_name: "nas".to_owned(),
        typed_password: secret().into(),
        ..Default::default()
    };
    let answer = PromptAnswer {
        username: "admin".to_owned(),
        password: secret(),
        remember: true,
    };
    let result = ConnectionResult {
        saved: saved_connection(),
        password: Some(secret()),
        remember_password: true,
    };
    let console = ConsoleTarget::Ready {
        endpoint: ConsoleEndpoint::Tcp {
            host: "127.0.0.1".to_owned(),
            port: 5900,
        },
        password: Some(Password::from_text(VNC_SECRET)),
        needs_password: true,
        warning: None,
    };
    let form = NewVmForm {
        vnc_password: Password::from_text(VNC_SECRET),
        ..NewVmForm::default()
    };
    let spec = vnc_spec();

    assert_redacted("Password", &secret(), SECRET);
    assert_redacted("TypedPassword", &TypedPassword::from(secret()), SECRET);
    assert_redacted("LoginSettings", &settings, SECRET);
    assert_redacted("PromptAnswer", &answer, SECRET);
    assert_redacted(
        "CredentialAnswer",
        &CredentialAnswer::Secret(secret()),
        SECRET,
    );
    assert_redacted("ConnectionResult", &result, SECRET);
    assert_redacted("ConsoleTarget", &console, VNC_SECRET);
    assert_redacted("ConsoleSpec", &spec.console, VNC_SECRET);
    assert_redacted("NewVmSpec", &spec, VNC_SECRET);
    assert_redacted("NewVmForm", &form, VNC_SECRET);
    assert_redacted("the form's spec", &form.spec(), VNC_SECRET);
}

#[test]
fn xml_review_masks_the_vnc_password_and_creation_keeps_it() {
    let spec = vnc_spec();
    let review = review_xml(&spec).expect("valid spec");
    assert!(!review.contains(VNC_SECRET), "{review}");
    assert!(
        review.contains(&format!("passwd=\"{MASKED_PASSWORD}\"")),
        "{review}"
    );
    assert_eq!(MASKED_PASSWORD, "••••••");

    // What libvirt gets still carries the password (escaped as XML).
    let real = domain_xml(&spec).expect("valid spec");
    assert!(real.contains("passwd=\"Vn9&amp;zq!7\""), "{real}");
    // Edited in the review without touching the mask: the real password goes back in.
    assert_eq!(*unmask_review_xml(&review, &spec), real);
    // A password the user typed over the mask is theirs.
    let retyped = review.replace(MASKED_PASSWORD, "mine");
    assert!(unmask_review_xml(&retyped, &spec).contains("passwd=\"mine\""));

    // No password, no attribute and nothing to mask.
    let mut open = spec.clone();
    open.console.password = None;
    assert!(!review_xml(&open).expect("valid").contains("passwd"));
    // A password too long for VNC is still reported, though its mask would fit.
    let mut long = spec;
    long.console.password = Some(Password::from_text("much-too-long"));
    assert!(review_xml(&long).is_err());
}

#[test]
fn connection_form_refuses_a_password_in_the_address() {
    let form = ConnectionForm {
        transport: Transport::Custom,
        custom_uri: format!("qemu+tcp://admin:{SECRET}@nas.local/system"),
        ..ConnectionForm::default()
    };
    let errors = form.errors();
    let error = errors
        .iter()
        .find(|error| error.field == Field::CustomUri)
        .expect("the address is refused");
    assert!(
        error.message.contains("user:password@"),
        "{}",
        error.message
    );
    assert!(!error.message.contains(SECRET), "{}", error.message);
    assert!(form.to_saved(new_connection_id()).is_err());
    assert_redacted("ConnectionForm", &form, SECRET);
}

/// A private directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("hangar-secrets-{}", new_connection_id()));
        fs::create_dir(&path).expect("create temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_password_in_a_saved_address_is_taken_out_with_a_notice() {
    let dir = TempDir::new();
    let path = dir.0.join("connections.toml");
    fs::write(
        &path,
        format!(
            "version = 1\n\n[[connection]]\nid = \"a1\"\nname = \"NAS\"\n\
             uri = \"qemu+tcp://admin:{SECRET}@nas.local/system\"\nautoconnect = true\n\n\
             [[connection]]\nid = \"b2\"\nname = \"Laptop\"\nuri = \"qemu:///system\"\n"
        ),
    )
    .expect("write a hand-edited file");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");

    let report = ConnectionStore::at(&path).load();
    assert!(report.problem.is_none(), "{:?}", report.problem);
    let uris: Vec<&str> = report.connections.iter().map(|c| c.uri.as_str()).collect();
    assert_eq!(
        uris,
        ["qemu+tcp://admin@nas.local/system", "qemu:///system"]
    );
    assert_eq!(report.notices.len(), 1, "{:?}", report.notices);
    assert!(report.notices[0].contains("“NAS”"), "{}", report.notices[0]);
    assert!(!report.notices[0].contains(SECRET), "{}", report.notices[0]);

    let on_disk = fs::read_to_string(&path).expect("read back");
    assert!(!on_disk.contains(SECRET), "still on disk:\n{on_disk}");
    assert!(
        on_disk.contains("qemu+tcp://admin@nas.local/system"),
        "{on_disk}"
    );
    // Loading again finds nothing more to say.
    let again = ConnectionStore::at(&path).load();
    assert!(again.notices.is_empty(), "{:?}", again.notices);
    assert_eq!(again.connections, report.connections);
}
