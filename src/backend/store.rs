//! Saved connections: settings in `$XDG_CONFIG_HOME/hangar/connections.toml`, never secrets.
//!
//! The file is `version = 1` followed by one `[[connection]]` table per host. A file Hangar
//! cannot read is moved aside (never deleted, never overwritten) and reported once, so the
//! user keeps their data and Hangar still starts.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use gettextrs::gettext;
use serde::{Deserialize, Serialize};

use crate::i18n::gettext_f;

/// The file format this Hangar reads and writes.
const FORMAT_VERSION: i64 = 1;
const FILE_NAME: &str = "connections.toml";
/// How many names (`…-HHMMSS`, `…-HHMMSS-2`, …) to try for a file kept aside.
const SET_ASIDE_ATTEMPTS: u32 = 9;

/// One saved host. Passwords are not here: they live in the Secret Service (see `secrets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedConnection {
    /// Stable identifier, also the key of the connection's secret in the keyring.
    pub id: String,
    /// The name shown in the sidebar.
    pub name: String,
    /// The libvirt URI, without the password.
    pub uri: String,
    /// The SASL user name, when the URI does not carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Connect when Hangar starts.
    #[serde(default)]
    pub autoconnect: bool,
    /// Keep the password in the keyring after a successful login.
    #[serde(default)]
    pub remember_password: bool,
}

#[derive(Serialize)]
struct FileToWrite<'a> {
    version: i64,
    #[serde(rename = "connection")]
    connections: &'a [SavedConnection],
}

/// `version` is checked before this is read; unknown keys are ignored (serde's default).
#[derive(Deserialize)]
struct FileToRead {
    #[serde(rename = "connection", default)]
    connections: Vec<SavedConnection>,
}

/// What `ConnectionStore::load` found.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub connections: Vec<SavedConnection>,
    /// Set once when the file could not be used; show `user_message()` to the user.
    pub problem: Option<StoreProblem>,
    /// Sentences for the user about what loading changed (a password taken out of an
    /// address).
    pub notices: Vec<String>,
}

/// A connections file that could not be used, and where it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreProblem {
    /// Where the file is now: its new name, or its own path when it could not be moved.
    pub kept_as: PathBuf,
    /// What was wrong with it, in one or two sentences.
    pub reason: String,
    pub outcome: ProblemOutcome,
}

/// What happened to a file that could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemOutcome {
    /// It was damaged and has been renamed to `kept_as`.
    SetAside,
    /// It has an unknown format version (likely from a newer Hangar) and was renamed.
    UnknownVersion(i64),
    /// It could not be read or renamed: it is untouched, and `save` refuses to replace it.
    LeftInPlace,
}

impl StoreProblem {
    /// A sentence or two for the user.
    pub fn user_message(&self) -> String {
        let path = self.kept_as.display().to_string();
        let summary = match self.outcome {
            ProblemOutcome::SetAside => gettext_f(
                "Your saved connections could not be read; the file was kept as {path}.",
                &[("path", &path)],
            ),
            ProblemOutcome::UnknownVersion(_) => gettext_f(
                "Your saved connections are in a format this version of Hangar does not know; the file was kept as {path}.",
                &[("path", &path)],
            ),
            ProblemOutcome::LeftInPlace => gettext_f(
                "Your saved connections could not be read, and Hangar will not change {path} until it is fixed or removed.",
                &[("path", &path)],
            ),
        };
        format!("{summary} {}", self.reason)
    }
}

impl std::fmt::Display for StoreProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.user_message())
    }
}

/// Why `save` did not write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A file Hangar could not read is still in place; writing would destroy it.
    ProtectedFile(PathBuf),
    /// Two connections share an id, or one has none: such a file would not load again.
    InvalidConnections(String),
    /// The file or its folder could not be written.
    Write { path: PathBuf, detail: String },
    /// The disk (or the user's quota) is full; the file at this path was left as it was.
    DiskFull(PathBuf),
}

impl StoreError {
    /// A sentence or two for the user.
    pub fn user_message(&self) -> String {
        match self {
            Self::ProtectedFile(path) => gettext_f(
                "Your connections were not saved, so that the unreadable file {path} is not lost. Fix or remove it, then try again.",
                &[("path", &path.display().to_string())],
            ),
            Self::InvalidConnections(reason) => {
                format!("{} {reason}", gettext("Your connections were not saved."))
            }
            Self::Write { path, detail } => gettext_f(
                "Your connections could not be saved to {path}: {detail}.",
                &[("path", &path.display().to_string()), ("detail", detail)],
            ),
            Self::DiskFull(path) => gettext_f(
                "Your connections could not be saved because the disk is full. The previous file {path} was left as it was; free some space, then try again.",
                &[("path", &path.display().to_string())],
            ),
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.user_message())
    }
}

impl std::error::Error for StoreError {}

/// The connections file. Blocking file I/O, but small: fine to call from the main thread.
#[derive(Debug)]
pub struct ConnectionStore {
    path: PathBuf,
    /// Set while an unreadable file is still at `path`: saving would replace it.
    protected: AtomicBool,
}

/// Why a file could not be used.
enum Damage {
    /// Reading failed (permissions, I/O): the content may be fine, so it stays.
    Unreadable(io::Error),
    /// The content is not a valid connections file.
    Invalid(String),
    UnknownVersion(i64),
}

impl ConnectionStore {
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            protected: AtomicBool::new(false),
        }
    }

    /// The store at `$XDG_CONFIG_HOME/hangar/connections.toml`, else under `$HOME/.config`.
    pub fn default_location() -> Self {
        Self::at(default_path())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the saved connections. A missing file is an empty list; a file that cannot be
    /// used is moved aside and reported (see `StoreProblem`).
    pub fn load(&self) -> LoadReport {
        self.load_at(SystemTime::now())
    }

    fn load_at(&self, now: SystemTime) -> LoadReport {
        match read_connections(&self.path) {
            Ok(mut connections) => {
                self.protected.store(false, Ordering::SeqCst);
                let notices = self.remove_passwords(&mut connections);
                LoadReport {
                    connections,
                    problem: None,
                    notices,
                }
            }
            Err(damage) => LoadReport {
                connections: Vec::new(),
                problem: Some(self.handle_damage(damage, now)),
                notices: Vec::new(),
            },
        }
    }

    fn handle_damage(&self, damage: Damage, now: SystemTime) -> StoreProblem {
        let (reason, label, outcome) = match damage {
            Damage::Unreadable(error) => {
                let reason = gettext_f(
                    "The file could not be opened: {error}.",
                    &[("error", &error.to_string())],
                );
                return self.leave_in_place(reason);
            }
            Damage::Invalid(reason) => (reason, "damaged".to_owned(), ProblemOutcome::SetAside),
            Damage::UnknownVersion(version) => (
                unknown_version_reason(version),
                format!("unknown-version-{version}"),
                ProblemOutcome::UnknownVersion(version),
            ),
        };
        match set_aside(&self.path, &label, now) {
            Ok(kept_as) => StoreProblem {
                kept_as,
                reason,
                outcome,
            },
            Err(error) => {
                let failure = gettext_f(
                    "Moving it aside failed: {error}.",
                    &[("error", &error.to_string())],
                );
                self.leave_in_place(format!("{reason} {failure}"))
            }
        }
    }

    fn leave_in_place(&self, reason: String) -> StoreProblem {
        self.protected.store(true, Ordering::SeqCst);
        StoreProblem {
            kept_as: self.path.clone(),
            reason,
            outcome: ProblemOutcome::LeftInPlace,
        }
    }

    /// Replaces the file with `connections`, atomically and readable only by the user.
    pub fn save(&self, connections: &[SavedConnection]) -> Result<(), StoreError> {
        if self.protected.load(Ordering::SeqCst) {
            return Err(StoreError::ProtectedFile(self.path.clone()));
        }
        check_ids(connections).map_err(StoreError::InvalidConnections)?;
        let text = encode(connections).map_err(|detail| self.write_error(detail))?;
        create_private_dir(self.directory()).map_err(|error| self.io_error(&error))?;
        write_atomically(&self.path, text.as_bytes()).map_err(|error| self.io_error(&error))
    }

    fn io_error(&self, error: &io::Error) -> StoreError {
        match error.raw_os_error() {
            Some(libc::ENOSPC | libc::EDQUOT) => StoreError::DiskFull(self.path.clone()),
            _ => self.write_error(error.to_string()),
        }
    }

    fn directory(&self) -> &Path {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        }
    }

    fn write_error(&self, detail: String) -> StoreError {
        StoreError::Write {
            path: self.path.clone(),
            detail,
        }
    }
}

fn default_path() -> PathBuf {
    // home_dir reads $HOME, then the password database (deprecated before Rust 1.86 only
    // for Windows' sake).
    #[allow(deprecated)]
    let home = std::env::home_dir().map(PathBuf::into_os_string);
    location_from(std::env::var_os("XDG_CONFIG_HOME"), home)
        // No home at all: a path that cannot be written, so saving reports where it failed.
        .unwrap_or_else(|| PathBuf::from("/nonexistent/.config/hangar").join(FILE_NAME))
}

/// The XDG rule: relative values are invalid and ignored.
fn location_from(config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let absolute = |value: Option<OsString>| value.map(PathBuf::from).filter(|p| p.is_absolute());
    absolute(config_home)
        .or_else(|| absolute(home).map(|home| home.join(".config")))
        .map(|config| config.join("hangar").join(FILE_NAME))
}

/// A fresh id for a saved connection: 16 hex digits.
pub fn new_connection_id() -> String {
    random_hex(8)
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    if read_urandom(&mut buffer).is_err() {
        fill_from_hasher(&mut buffer);
    }
    buffer.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn read_urandom(buffer: &mut [u8]) -> io::Result<()> {
    File::open("/dev/urandom")?.read_exact(buffer)
}

/// Without /dev/urandom: std seeds each `RandomState` randomly, and the time and a counter
/// keep ids distinct within the process.
fn fill_from_hasher(buffer: &mut [u8]) {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    for chunk in buffer.chunks_mut(8) {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        hasher.write_u128(nanos);
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u32(std::process::id());
        chunk.copy_from_slice(&hasher.finish().to_le_bytes()[..chunk.len()]);
    }
}

fn read_connections(path: &Path) -> Result<Vec<SavedConnection>, Damage> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(Damage::Unreadable(error)),
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| Damage::Invalid(gettext("The file is not UTF-8 text.")))?;
    parse_connections(&text)
}

fn parse_connections(text: &str) -> Result<Vec<SavedConnection>, Damage> {
    let table: toml::Table = text
        .parse()
        .map_err(|error| Damage::Invalid(describe_toml_error(text, &error)))?;
    check_version(table.get("version"))?;
    let file: FileToRead =
        toml::from_str(text).map_err(|error| Damage::Invalid(describe_toml_error(text, &error)))?;
    check_ids(&file.connections).map_err(Damage::Invalid)?;
    Ok(file.connections)
}

fn check_version(version: Option<&toml::Value>) -> Result<(), Damage> {
    match version {
        Some(toml::Value::Integer(FORMAT_VERSION)) => Ok(()),
        Some(toml::Value::Integer(other)) => Err(Damage::UnknownVersion(*other)),
        Some(_) => Err(Damage::Invalid(gettext(
            "Its format version is not a whole number.",
        ))),
        None => Err(Damage::Invalid(gettext("It has no format version."))),
    }
}

fn unknown_version_reason(version: i64) -> String {
    gettext_f(
        "It has format version {version} (perhaps from a newer Hangar); this version reads format version 1.",
        &[("version", &version.to_string())],
    )
}

/// "Line N: message", without toml's multi-line source excerpt.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let detail = error.message().trim_end_matches('\n');
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            gettext_f(
                // Translators: {detail} is a technical message from the TOML reader, in English.
                "It is not valid at line {line}: {detail}.",
                &[("line", &line.to_string()), ("detail", detail)],
            )
        }
        None => gettext_f("It is not valid: {detail}.", &[("detail", detail)]),
    }
}

/// Ids key the keyring items, so each must be present and unique.
fn check_ids(connections: &[SavedConnection]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for connection in connections {
        if connection.id.trim().is_empty() {
            return Err(gettext_f(
                "The connection “{name}” has no id.",
                &[("name", &connection.name)],
            ));
        }
        if !seen.insert(connection.id.as_str()) {
            return Err(gettext_f(
                "Two connections have the same id “{id}”.",
                &[("id", &connection.id)],
            ));
        }
    }
    Ok(())
}

fn encode(connections: &[SavedConnection]) -> Result<String, String> {
    let file = FileToWrite {
        version: FORMAT_VERSION,
        connections,
    };
    toml::to_string(&file).map_err(|error| error.to_string())
}

/// Renames `path` to `<name>.<label>-YYYYMMDD-HHMMSS[-N]` (UTC) beside it, never replacing
/// an existing file; returns the new name.
fn set_aside(path: &Path, label: &str, now: SystemTime) -> io::Result<PathBuf> {
    let stamp = timestamp(now);
    for attempt in 1..=SET_ASIDE_ATTEMPTS {
        let candidate = set_aside_name(path, label, &stamp, attempt);
        match move_without_replacing(path, &candidate) {
            Ok(()) => return Ok(candidate),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        gettext("every name for the kept copy is already taken"),
    ))
}

fn set_aside_name(path: &Path, label: &str, stamp: &str, attempt: u32) -> PathBuf {
    let mut name = path.file_name().unwrap_or(FILE_NAME.as_ref()).to_owned();
    name.push(format!(".{label}-{stamp}"));
    if attempt > 1 {
        name.push(format!("-{attempt}"));
    }
    path.with_file_name(name)
}

/// A hard link fails when the target exists, where a rename would silently replace it.
fn move_without_replacing(from: &Path, to: &Path) -> io::Result<()> {
    match fs::hard_link(from, to) {
        Ok(()) => fs::remove_file(from).inspect_err(|_| {
            // Keep one name only, so the problem can be reported consistently.
            let _ = fs::remove_file(to);
        }),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Err(error),
        // Some file systems have no hard links: check, then rename.
        Err(_) if to.symlink_metadata().is_ok() => Err(io::ErrorKind::AlreadyExists.into()),
        Err(_) => fs::rename(from, to),
    }
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn timestamp(now: SystemTime) -> String {
    let seconds = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let days = (seconds / 86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    let time_of_day = seconds % 86_400;
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        time_of_day / 3600,
        time_of_day / 60 % 60,
        time_of_day % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Writes a private temporary file beside `path`, flushes it to disk, then renames it over
/// `path`: a crash leaves either the old file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    remove_stale_temp_files(path);
    let temp = temp_path(path);
    let written = write_new_private_file(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    sync_parent(path);
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let (prefix, suffix) = temp_affixes(path);
    let mut temp = prefix;
    temp.push(random_hex(6));
    temp.push(suffix);
    path.with_file_name(temp)
}

/// A temporary file is `.NAME.` + random hex + `.tmp`.
fn temp_affixes(path: &Path) -> (OsString, &'static str) {
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or(FILE_NAME.as_ref()));
    prefix.push(".");
    (prefix, ".tmp")
}

/// Temporary files left by a save that was cut short (the process killed, the power lost):
/// only one Hangar runs per user, so any such file beside ours is a leftover.
fn remove_stale_temp_files(path: &Path) {
    let (prefix, suffix) = temp_affixes(path);
    let (Some(prefix), Some(dir)) = (prefix.to_str(), path.parent()) else {
        return;
    };
    let Ok(entries) = fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_leftover = name
            .to_str()
            .is_some_and(|name| name.starts_with(prefix) && name.ends_with(suffix));
        if is_leftover {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Mode 0600 from creation, so the content is never readable by others, not even briefly.
fn write_new_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes the rename itself durable; the data is already safe, so a failure is not an error.
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|dir| dir.sync_all());
    }
}

mod addresses;
#[cfg(test)]
mod tests;
