//! Names and paths the app needs, with defaults that work from `cargo run` and overrides for
//! installed builds (set at compile time through environment variables).

use std::path::PathBuf;

pub const APP_ID: &str = "io.github.hangarvm.Hangar";
pub const APP_NAME: &str = "Hangar";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GETTEXT_PACKAGE: &str = "hangar";
pub const RESOURCE_BASE: &str = "/io/github/hangarvm/Hangar";

/// Where the translations are: the installed locale dir, else the one built into target/.
pub fn locale_dir() -> PathBuf {
    option_env!("HANGAR_LOCALEDIR")
        .unwrap_or(env!("HANGAR_BUILD_LOCALE_DIR"))
        .into()
}

/// The compiled GSettings schema from the build, used when none is installed.
pub fn build_schema_dir() -> PathBuf {
    env!("HANGAR_BUILD_SCHEMA_DIR").into()
}

/// The demo host's fixture file: installed data first, then the source tree.
pub fn demo_fixture() -> Option<PathBuf> {
    let installed = option_env!("HANGAR_PKGDATADIR").map(PathBuf::from);
    let beside_binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("../share/hangar")));
    let source_tree = Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"));
    [installed, beside_binary, source_tree]
        .into_iter()
        .flatten()
        .map(|dir| dir.join("demo/demo-host.xml"))
        .find(|path| path.is_file())
        .and_then(|path| path.canonicalize().ok())
}

/// How long a connection attempt may take before Hangar gives up and says so. The
/// `HANGAR_CONNECT_TIMEOUT` environment variable (seconds) overrides it, for tests.
pub fn connect_timeout() -> std::time::Duration {
    let seconds = std::env::var("HANGAR_CONNECT_TIMEOUT")
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .filter(|seconds| *seconds > 0)
        .unwrap_or(30);
    std::time::Duration::from_secs(seconds)
}
