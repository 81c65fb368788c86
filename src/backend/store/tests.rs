//! Tests of `store`.

use super::*;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

/// A private directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("hangar-store-{}", random_hex(8)));
        fs::create_dir(&path).unwrap();
        Self(path)
    }

    fn store(&self) -> ConnectionStore {
        ConnectionStore::at(self.0.join("hangar").join(FILE_NAME))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn connection(id: &str, name: &str) -> SavedConnection {
    SavedConnection {
        id: id.to_owned(),
        name: name.to_owned(),
        uri: format!("qemu+tcp://{name}/system"),
        username: Some("admin".to_owned()),
        autoconnect: true,
        remember_password: false,
    }
}

fn write_raw(store: &ConnectionStore, text: &str) {
    fs::create_dir_all(store.path().parent().unwrap()).unwrap();
    fs::write(store.path(), text).unwrap();
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// 2026-11-26 12:34:56 UTC.
fn fixed_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_696_496)
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn saved_connections_load_back_unchanged() {
    let dir = TempDir::new();
    let store = dir.store();
    let mut local = connection("0123456789abcdef", "nas.local");
    local.username = None;
    let saved = vec![local, connection("fedcba9876543210", "lab")];
    store.save(&saved).unwrap();
    let report = store.load();
    assert_eq!(report.connections, saved);
    assert!(report.problem.is_none());
    let text = fs::read_to_string(store.path()).unwrap();
    assert!(text.starts_with("version = 1\n"), "{text}");
    assert!(text.contains("[[connection]]"), "{text}");
}

#[test]
fn an_empty_list_loads_back_empty() {
    let dir = TempDir::new();
    let store = dir.store();
    store.save(&[]).unwrap();
    let report = store.load();
    assert!(report.connections.is_empty());
    assert!(report.problem.is_none());
}

#[test]
fn saved_file_is_private_and_no_temp_file_remains() {
    let dir = TempDir::new();
    let store = dir.store();
    store.save(&[connection("a1", "nas")]).unwrap();
    store.save(&[connection("a1", "nas")]).unwrap();
    assert_eq!(mode(store.path()), 0o600);
    assert_eq!(mode(store.path().parent().unwrap()), 0o700);
    let names: Vec<_> = fs::read_dir(store.path().parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![OsString::from(FILE_NAME)]);
}

#[test]
fn missing_file_is_an_empty_list() {
    let dir = TempDir::new();
    let report = dir.store().load();
    assert!(report.connections.is_empty());
    assert!(report.problem.is_none());
}

#[test]
fn unknown_fields_are_ignored() {
    let dir = TempDir::new();
    let store = dir.store();
    write_raw(
        &store,
        "version = 1\n[[connection]]\nid = \"a1\"\nname = \"nas\"\nuri = \"qemu:///system\"\ncolour = \"red\"\n",
    );
    let report = store.load();
    assert!(report.problem.is_none());
    assert_eq!(report.connections.len(), 1);
    assert!(!report.connections[0].autoconnect);
}

#[test]
fn damaged_file_is_kept_aside_with_its_bytes() {
    let dir = TempDir::new();
    let store = dir.store();
    let original = "version = 1\n[[connection]\nid = \"a1\"\n";
    write_raw(&store, original);
    let problem = store.load_at(fixed_time()).problem.unwrap();
    assert_eq!(problem.outcome, ProblemOutcome::SetAside);
    assert_eq!(
        file_name(&problem.kept_as),
        "connections.toml.damaged-20261126-123456"
    );
    assert_eq!(fs::read_to_string(&problem.kept_as).unwrap(), original);
    assert!(problem.reason.contains("line 2"), "{}", problem.reason);
    assert!(problem.user_message().contains("kept as"));
    assert!(!store.path().exists());
    assert!(store.load().problem.is_none(), "reported only once");
}

#[test]
fn wrong_types_and_duplicate_ids_count_as_damage() {
    let connection_table = "[[connection]]\nid = \"a1\"\nname = \"n\"\nuri = \"test:///default\"\n";
    let cases = [
        format!("version = 1\n{connection_table}autoconnect = \"yes\"\n"),
        format!("version = 1\n{connection_table}{connection_table}"),
        format!("version = \"1\"\n{connection_table}"),
        connection_table.to_owned(),
    ];
    for text in cases {
        let dir = TempDir::new();
        let store = dir.store();
        write_raw(&store, &text);
        let problem = store.load().problem.expect(&text);
        assert_eq!(problem.outcome, ProblemOutcome::SetAside, "{text}");
        assert!(!problem.reason.is_empty());
    }
}

#[test]
fn duplicate_id_is_named_in_the_reason() {
    let dir = TempDir::new();
    let store = dir.store();
    let table = "[[connection]]\nid = \"same\"\nname = \"n\"\nuri = \"test:///default\"\n";
    write_raw(&store, &format!("version = 1\n{table}{table}"));
    let problem = store.load().problem.unwrap();
    assert!(problem.reason.contains("“same”"), "{}", problem.reason);
}

#[test]
fn unknown_version_is_kept_aside() {
    let dir = TempDir::new();
    let store = dir.store();
    let original = "version = 2\n[[host]]\naddress = \"nas\"\n";
    write_raw(&store, original);
    let report = store.load_at(fixed_time());
    assert!(report.connections.is_empty());
    let problem = report.problem.unwrap();
    assert_eq!(problem.outcome, ProblemOutcome::UnknownVersion(2));
    assert_eq!(
        file_name(&problem.kept_as),
        "connections.toml.unknown-version-2-20261126-123456"
    );
    assert_eq!(fs::read_to_string(&problem.kept_as).unwrap(), original);
    assert!(!store.path().exists());
    store.save(&[connection("a1", "nas")]).unwrap();
}

#[test]
fn set_aside_never_replaces_an_existing_file() {
    let dir = TempDir::new();
    let store = dir.store();
    write_raw(&store, "not toml at all [");
    let taken = set_aside_name(store.path(), "damaged", "20261126-123456", 1);
    fs::write(&taken, "older copy").unwrap();
    let problem = store.load_at(fixed_time()).problem.unwrap();
    assert_eq!(
        file_name(&problem.kept_as),
        "connections.toml.damaged-20261126-123456-2"
    );
    assert_eq!(fs::read_to_string(&taken).unwrap(), "older copy");
    assert_eq!(
        fs::read_to_string(&problem.kept_as).unwrap(),
        "not toml at all ["
    );
}

#[test]
fn save_refuses_after_a_failed_set_aside() {
    let dir = TempDir::new();
    let store = dir.store();
    let original = "version = 1\n[[connection]\n";
    write_raw(&store, original);
    // Every name for the kept copy is taken: the only failure a root test run can force.
    for attempt in 1..=SET_ASIDE_ATTEMPTS {
        let name = set_aside_name(store.path(), "damaged", "20261126-123456", attempt);
        fs::write(name, "taken").unwrap();
    }
    let problem = store.load_at(fixed_time()).problem.unwrap();
    assert_eq!(problem.outcome, ProblemOutcome::LeftInPlace);
    assert_eq!(problem.kept_as, store.path());
    assert!(
        problem.reason.contains("Moving it aside failed"),
        "{}",
        problem.reason
    );
    assert!(problem.user_message().contains("will not change"));
    assert_eq!(fs::read_to_string(store.path()).unwrap(), original);

    let refused = store.save(&[connection("a1", "nas")]);
    assert_eq!(
        refused,
        Err(StoreError::ProtectedFile(store.path().to_owned()))
    );
    assert_eq!(fs::read_to_string(store.path()).unwrap(), original);

    // Once the user fixes the file, saving works again.
    fs::write(store.path(), "version = 1\n").unwrap();
    assert!(store.load().problem.is_none());
    store.save(&[connection("a1", "nas")]).unwrap();
}

#[test]
fn save_refuses_ids_that_would_not_load_again() {
    let dir = TempDir::new();
    let store = dir.store();
    let twice = [connection("a1", "nas"), connection("a1", "lab")];
    assert!(matches!(
        store.save(&twice),
        Err(StoreError::InvalidConnections(_))
    ));
    assert!(matches!(
        store.save(&[connection(" ", "nas")]),
        Err(StoreError::InvalidConnections(_))
    ));
    assert!(!store.path().exists());
}

#[test]
fn default_location_follows_xdg() {
    let location = |xdg: Option<&str>, home: Option<&str>| {
        location_from(xdg.map(OsString::from), home.map(OsString::from))
    };
    assert_eq!(
        location(Some("/x/config"), Some("/home/u")),
        Some(PathBuf::from("/x/config/hangar/connections.toml"))
    );
    assert_eq!(
        location(None, Some("/home/u")),
        Some(PathBuf::from("/home/u/.config/hangar/connections.toml"))
    );
    assert_eq!(
        location(Some("relative"), Some("/home/u")),
        Some(PathBuf::from("/home/u/.config/hangar/connections.toml"))
    );
    assert_eq!(location(Some(""), None), None);
}

#[test]
fn timestamps_are_utc_calendar_dates() {
    assert_eq!(timestamp(fixed_time()), "20261126-123456");
    let leap_day = UNIX_EPOCH + Duration::from_secs(951_868_799);
    assert_eq!(timestamp(leap_day), "20000229-235959");
    assert_eq!(timestamp(UNIX_EPOCH), "19700101-000000");
}

#[test]
fn connection_ids_are_16_hex_digits_and_differ() {
    let first = new_connection_id();
    assert_eq!(first.len(), 16);
    assert!(first.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(first, new_connection_id());
    let mut fallback = [0u8; 8];
    fill_from_hasher(&mut fallback);
    assert_ne!(fallback, [0u8; 8]);
}
