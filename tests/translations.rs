//! Every user-visible string can be translated, and Simplified Chinese covers all of them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn listed_files() -> Vec<String> {
    std::fs::read_to_string(root().join("po/POTFILES.in"))
        .expect("po/POTFILES.in")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

fn has_translatable_strings(text: &str) -> bool {
    [
        "gettext(",
        "ngettext(",
        "gettext_f(",
        "translatable=\"yes\"",
    ]
    .iter()
    .any(|marker| text.contains(marker))
}

#[test]
fn potfiles_lists_every_file_with_translatable_strings() {
    let listed = listed_files();
    let mut files = Vec::new();
    files_under(&root().join("src"), &mut files);
    let i18n_helper = root().join("src/i18n.rs");
    let mut missing = Vec::new();
    for file in files.into_iter().filter(|file| *file != i18n_helper) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let relative = file
            .strip_prefix(root())
            .expect("under the root")
            .to_string_lossy()
            .into_owned();
        if has_translatable_strings(&text) && !listed.contains(&relative) {
            missing.push(relative);
        }
    }
    assert!(missing.is_empty(), "add to po/POTFILES.in: {missing:?}");
    for file in &listed {
        assert!(
            root().join(file).is_file(),
            "po/POTFILES.in lists missing {file}"
        );
    }
}

#[test]
fn simplified_chinese_translates_every_current_string() {
    let pot = std::env::temp_dir().join(format!("hangar-{}.pot", std::process::id()));
    let status = Command::new(root().join("po/update-pot.sh"))
        .arg(&pot)
        .status()
        .expect("run po/update-pot.sh");
    assert!(status.success(), "extracting strings failed");
    let po = root().join("po/zh_CN.po");
    let compare = Command::new("msgcmp")
        .arg(&po)
        .arg(&pot)
        .output()
        .expect("run msgcmp");
    let _ = std::fs::remove_file(&pot);
    assert!(
        compare.status.success(),
        "zh_CN.po lacks strings (run po/update-pot.sh and translate):\n{}",
        String::from_utf8_lossy(&compare.stderr)
    );
    let stats = Command::new("msgfmt")
        .args(["--check", "--statistics", "-o", "/dev/null"])
        .arg(&po)
        .output()
        .expect("run msgfmt");
    assert!(stats.status.success(), "zh_CN.po does not compile");
    let report = String::from_utf8_lossy(&stats.stderr);
    assert!(
        !report.contains("untranslated") && !report.contains("fuzzy"),
        "zh_CN.po is incomplete: {report}"
    );
}
