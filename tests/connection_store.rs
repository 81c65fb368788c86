//! The connections file as a user's config dir sees it: content, permissions, no secrets.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hangar::backend::store::{new_connection_id, ConnectionStore, SavedConnection};

/// A private directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("hangar-store-it-{}", new_connection_id()));
        fs::create_dir(&path).expect("create temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn two_connections() -> Vec<SavedConnection> {
    vec![
        SavedConnection {
            id: new_connection_id(),
            name: "NAS".to_owned(),
            uri: "qemu+tcp://nas.local/system".to_owned(),
            username: Some("admin".to_owned()),
            autoconnect: true,
            remember_password: true,
        },
        SavedConnection {
            id: new_connection_id(),
            name: "This computer".to_owned(),
            uri: "qemu:///system".to_owned(),
            username: None,
            autoconnect: false,
            remember_password: false,
        },
    ]
}

#[test]
fn two_connections_are_saved_and_loaded_back() {
    let dir = TempDir::new();
    // The folder does not exist yet, as on a first start.
    let store = ConnectionStore::at(dir.0.join("config/hangar/connections.toml"));
    let saved = two_connections();
    store.save(&saved).expect("save");

    let report = ConnectionStore::at(store.path()).load();
    assert!(report.problem.is_none(), "{:?}", report.problem);
    assert_eq!(report.connections, saved);
}

#[test]
fn file_is_0600_and_its_folder_0700() {
    let dir = TempDir::new();
    let store = ConnectionStore::at(dir.0.join("hangar/connections.toml"));
    store.save(&two_connections()).expect("save");
    assert_eq!(mode(store.path()), 0o600);
    assert_eq!(mode(&dir.0.join("hangar")), 0o700);
}

#[test]
fn no_password_is_ever_written() {
    let dir = TempDir::new();
    let store = ConnectionStore::at(dir.0.join("hangar/connections.toml"));
    store.save(&two_connections()).expect("save");
    let text = fs::read_to_string(store.path()).expect("read back");

    let password_lines: Vec<&str> = text
        .lines()
        .filter(|line| {
            let key = line.split('=').next().unwrap_or("").trim();
            matches!(key, "password" | "passwd" | "secret")
        })
        .collect();
    assert!(password_lines.is_empty(), "{text}");

    let table: toml::Table = text.parse().expect("valid TOML");
    let connections = table["connection"].as_array().expect("connection tables");
    for connection in connections {
        let keys: Vec<&String> = connection.as_table().expect("table").keys().collect();
        assert!(
            keys.iter()
                .all(|key| !key.contains("pass") || *key == "remember_password"),
            "{keys:?}"
        );
    }
}

#[test]
fn default_location_is_under_the_config_dir() {
    let store = ConnectionStore::default_location();
    assert!(
        store.path().ends_with("hangar/connections.toml"),
        "{}",
        store.path().display()
    );
    if let Some(config) = std::env::var_os("XDG_CONFIG_HOME").filter(|dir| !dir.is_empty()) {
        assert!(store.path().starts_with(config));
    }
}
