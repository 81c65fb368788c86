//! `connections.toml` when the writer dies or the disk fills up: a process saving it is
//! killed (SIGKILL) at random points hundreds of times, and every time the file is whole,
//! either the old version or the new one; a save on a full disk keeps the old file and says
//! so in a sentence.
//!
//! The writers are this test binary run again in a helper mode (an environment variable
//! picks the helper test); the full disk is a 64 KiB tmpfs in a private mount namespace
//! (`unshare`), so the mount vanishes with the helper whatever happens.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hangar::backend::store::{new_connection_id, ConnectionStore, SavedConnection, StoreError};

/// The helper modes; each names the connections file (or folder) to work on.
const WRITER_ENV: &str = "HANGAR_STORE_CRASH_WRITER";
const FULL_DISK_ENV: &str = "HANGAR_STORE_FULL_DISK_DIR";
const KILLS: usize = 300;
/// What a writer prints once it saves (libtest may print the test's name before it).
const SAVING: &str = "writer: saving";
/// Longest wait after the writer said it is saving, before the kill.
const MAX_KILL_DELAY_US: u64 = 8_000;

/// A private directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("hangar-crash-{}", new_connection_id()));
        std::fs::create_dir(&path).expect("create temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `count` connections with fixed contents, so two calls give the same file.
fn connections(label: &str, count: usize) -> Vec<SavedConnection> {
    (0..count)
        .map(|index| SavedConnection {
            id: format!("{label}{index:04}"),
            name: format!("{label} host {index}"),
            uri: format!("qemu+tcp://{label}-{index}.example.org/system"),
            username: Some(format!("admin-{index}")),
            autoconnect: index % 2 == 0,
            remember_password: index % 3 == 0,
        })
        .collect()
}

/// The old version is small, the new one a few pages, so a cut-short write would show.
fn old_version() -> Vec<SavedConnection> {
    connections("old", 2)
}

fn new_version() -> Vec<SavedConnection> {
    connections("new", 60)
}

/// This test binary running only the helper test `name`, with `env` set.
fn helper(name: &str, env: (&str, &Path)) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(env.0, env.1);
    command
}

/// Helper mode: saves the two versions in turn, forever, saying "saving" before the first.
#[test]
fn helper_writer_saves_until_killed() {
    let Some(path) = std::env::var_os(WRITER_ENV) else {
        return;
    };
    let store = ConnectionStore::at(PathBuf::from(path));
    let (old, new) = (old_version(), new_version());
    println!("{SAVING}");
    loop {
        store.save(&new).expect("save the new version");
        store.save(&old).expect("save the old version");
    }
}

/// What a file holds after a kill; panics on anything but one of the two versions.
fn version_on_disk(path: &Path, old_text: &str, new_text: &str) -> &'static str {
    let text = std::fs::read_to_string(path).expect("the file is there and is text");
    let report = ConnectionStore::at(path).load();
    assert!(
        report.problem.is_none(),
        "the file does not load: {:?}",
        report.problem
    );
    if text == old_text {
        assert_eq!(report.connections, old_version());
        "old"
    } else if text == new_text {
        assert_eq!(report.connections, new_version());
        "new"
    } else {
        panic!("the file is neither version:\n{text}")
    }
}

/// A random delay from the kernel's generator (no extra crate for it).
fn random_delay() -> Duration {
    let mut bytes = [0u8; 8];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut bytes));
    read.expect("read /dev/urandom");
    Duration::from_micros(u64::from_le_bytes(bytes) % MAX_KILL_DELAY_US)
}

/// Starts a writer, waits until it saves, lets it run a random moment, kills it.
fn kill_a_writer(path: &Path) {
    let mut child = helper("helper_writer_saves_until_killed", (WRITER_ENV, path))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a writer");
    let stdout = child.stdout.take().expect("writer's stdout");
    let saving = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.ends_with(SAVING));
    assert!(saving, "the writer ended before saving");
    std::thread::sleep(random_delay());
    child.kill().expect("SIGKILL the writer");
    let status = child.wait().expect("reap the writer");
    assert!(
        status.code().is_none(),
        "the writer ended by itself: {status}"
    );
}

#[test]
fn file_is_old_or_new_whenever_the_writer_is_killed() {
    if std::env::var_os(WRITER_ENV).is_some() || std::env::var_os(FULL_DISK_ENV).is_some() {
        return;
    }
    let dir = TempDir::new();
    let path = dir.0.join("hangar/connections.toml");
    let store = ConnectionStore::at(&path);
    store.save(&new_version()).expect("save the new version");
    let new_text = std::fs::read_to_string(&path).expect("new text");
    store.save(&old_version()).expect("save the old version");
    let old_text = std::fs::read_to_string(&path).expect("old text");

    let started = Instant::now();
    let (mut olds, mut news, mut leftovers) = (0, 0, 0);
    for _ in 0..KILLS {
        kill_a_writer(&path);
        match version_on_disk(&path, &old_text, &new_text) {
            "old" => olds += 1,
            _ => news += 1,
        }
        leftovers += usize::from(entries(path.parent().expect("dir")).len() > 1);
    }
    eprintln!(
        "{KILLS} writers killed in {:.1} s: old version {olds} times, new {news} times, \
         a save cut short (temporary file left) {leftovers} times",
        started.elapsed().as_secs_f64()
    );
    assert!(
        olds > 0 && news > 0,
        "the kills never fell between two saves"
    );
    // The next save clears what the killed writers left behind.
    store.save(&old_version()).expect("save after the crashes");
    assert_eq!(
        entries(path.parent().expect("dir")),
        vec!["connections.toml".to_owned()]
    );
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list the folder")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Helper mode, run inside its own mount namespace with a 64 KiB tmpfs at the folder:
/// saves, fills the disk, saves again, and prints what the user would read.
#[test]
fn helper_full_disk() {
    let Some(dir) = std::env::var_os(FULL_DISK_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let store = ConnectionStore::at(dir.join("hangar/connections.toml"));
    store.save(&old_version()).expect("save on the empty disk");
    let old_text = std::fs::read_to_string(store.path()).expect("old text");
    fill_the_disk(&dir.join("filler"));

    let error = store
        .save(&new_version())
        .expect_err("saving on a full disk fails");
    assert_eq!(error, StoreError::DiskFull(store.path().to_owned()));
    println!("message: {}", error.user_message());
    let text = std::fs::read_to_string(store.path()).expect("the old file is still there");
    assert_eq!(text, old_text, "the old file is intact");
    assert_eq!(store.load().connections, old_version());
    assert_eq!(
        entries(store.path().parent().expect("dir")),
        vec!["connections.toml".to_owned()],
        "nothing half-written is left"
    );
    println!("old file intact");
}

fn fill_the_disk(filler: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(filler).expect("create the filler");
    let block = [0u8; 4096];
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if error.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(error) => panic!("filling the disk: {error}"),
        }
    }
}

/// Whether this process may mount (root, with util-linux's unshare); else a skip, or a
/// failure under HANGAR_REQUIRE_TESTBED.
fn can_mount() -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    let unshare = Command::new("unshare")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if root && unshare {
        return true;
    }
    let why = format!("a full disk needs root and unshare (root: {root}, unshare: {unshare})");
    if std::env::var_os("HANGAR_REQUIRE_TESTBED").is_some() {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    false
}

#[test]
fn full_disk_keeps_the_old_file_and_says_so() {
    if std::env::var_os(WRITER_ENV).is_some() || std::env::var_os(FULL_DISK_ENV).is_some() {
        return;
    }
    if !can_mount() {
        return;
    }
    let dir = TempDir::new();
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(r#"mount -n -t tmpfs -o size=64k,mode=0700 hangar-full "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(&dir.0);
    let inner = helper("helper_full_disk", (FULL_DISK_ENV, &dir.0));
    command.arg(inner.get_program()).args(inner.get_args());
    command.env(FULL_DISK_ENV, &dir.0);
    let output = command.output().expect("run the helper in its namespace");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the full-disk helper failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let message = stdout
        .lines()
        .find_map(|line| line.split_once("message: ").map(|(_, message)| message))
        .expect("the helper printed the message");
    eprintln!("on a full disk the user reads: {message}");
    assert!(stdout.contains("old file intact"), "{stdout}");
    assert!(message.contains("the disk is full"), "{message}");
    assert!(message.contains("was left as it was"), "{message}");
    assert!(
        !message.contains("os error"),
        "a sentence, not an errno: {message}"
    );
    // The tmpfs went with the namespace: the folder here is as it was, empty.
    assert!(entries(&dir.0).is_empty(), "the mount leaked out");
}
