//! The desktop file, AppStream metainfo and GSettings schema pass the tools distributions use.

use std::path::PathBuf;
use std::process::Command;

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(file)
}

fn assert_tool_accepts(program: &str, args: &[&str], file: PathBuf) {
    let output = Command::new(program)
        .args(args)
        .arg(&file)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error}"));
    assert!(
        output.status.success(),
        "{program} rejects {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn desktop_file_is_valid() {
    assert_tool_accepts(
        "desktop-file-validate",
        &[],
        data("io.github.hangarvm.Hangar.desktop"),
    );
}

#[test]
fn metainfo_is_valid() {
    assert_tool_accepts(
        "appstreamcli",
        &["validate", "--no-net"],
        data("io.github.hangarvm.Hangar.metainfo.xml"),
    );
}

#[test]
fn gsettings_schema_compiles_strictly() {
    assert_tool_accepts("glib-compile-schemas", &["--strict", "--dry-run"], data(""));
}

#[test]
fn icons_exist_in_both_styles() {
    for icon in [
        "icons/hicolor/scalable/apps/io.github.hangarvm.Hangar.svg",
        "icons/hicolor/symbolic/apps/io.github.hangarvm.Hangar-symbolic.svg",
    ] {
        let text = std::fs::read_to_string(data(icon)).expect(icon);
        assert!(text.contains("<svg"), "{icon} is not an SVG");
    }
}

#[test]
fn flatpak_manifest_builds_libvirt_and_sasl_then_hangar() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("flatpak/io.github.hangarvm.Hangar.json");
    let text = std::fs::read_to_string(&path).expect("flatpak manifest");
    let output = Command::new("python3")
        .args(["-c", "import json,sys; m=json.load(open(sys.argv[1])); print(' '.join(x['name'] if isinstance(x, dict) else x for x in m['modules']))"])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(output.status.success(), "the manifest is not valid JSON");
    let modules = String::from_utf8_lossy(&output.stdout);
    let order: Vec<&str> = modules.split_whitespace().collect();
    let position = |name: &str| order.iter().position(|module| module.contains(name));
    let (Some(sasl), Some(libvirt), Some(hangar)) =
        (position("sasl"), position("libvirt"), position("hangar"))
    else {
        panic!("modules missing: {order:?}");
    };
    assert!(
        sasl < libvirt && libvirt < hangar,
        "module order: {order:?}"
    );
    assert!(text.contains("io.github.hangarvm.Hangar"));
}
