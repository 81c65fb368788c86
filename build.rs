//! Compiles what `cargo run` needs without installing: the UI resources, the GSettings schema
//! and the translations, all into OUT_DIR.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    compile_resources(&out_dir);
    compile_schemas(&out_dir);
    compile_translations(&out_dir);
}

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(status.success(), "{command:?} failed with {status}");
}

fn compile_resources(out_dir: &Path) {
    let manifest = "data/resources/resources.gresource.xml";
    println!("cargo:rerun-if-changed={manifest}");
    println!("cargo:rerun-if-changed=src/ui");
    println!("cargo:rerun-if-changed=data/icons");
    run(Command::new("glib-compile-resources")
        .arg("--sourcedir=src/ui")
        .arg("--sourcedir=data")
        .arg(format!(
            "--target={}",
            out_dir.join("hangar.gresource").display()
        ))
        .arg(manifest));
}

fn compile_schemas(out_dir: &Path) {
    println!("cargo:rerun-if-changed=data/io.github.hangarvm.Hangar.gschema.xml");
    let schema_dir = out_dir.join("schemas");
    fs::create_dir_all(&schema_dir).expect("create schema dir");
    fs::copy(
        "data/io.github.hangarvm.Hangar.gschema.xml",
        schema_dir.join("io.github.hangarvm.Hangar.gschema.xml"),
    )
    .expect("copy schema");
    run(Command::new("glib-compile-schemas")
        .arg("--strict")
        .arg(&schema_dir));
    println!(
        "cargo:rustc-env=HANGAR_BUILD_SCHEMA_DIR={}",
        schema_dir.display()
    );
}

fn compile_translations(out_dir: &Path) {
    println!("cargo:rerun-if-changed=po");
    let locale_dir = out_dir.join("locale");
    println!(
        "cargo:rustc-env=HANGAR_BUILD_LOCALE_DIR={}",
        locale_dir.display()
    );
    let Ok(linguas) = fs::read_to_string("po/LINGUAS") else {
        return;
    };
    for language in linguas
        .split_whitespace()
        .filter(|word| !word.starts_with('#'))
    {
        let target_dir = locale_dir.join(language).join("LC_MESSAGES");
        fs::create_dir_all(&target_dir).expect("create locale dir");
        // A broken translation leaves that language in English; tests/translations.rs fails.
        let compiled = Command::new("msgfmt")
            .arg("--check")
            .arg("-o")
            .arg(target_dir.join("hangar.mo"))
            .arg(format!("po/{language}.po"))
            .status();
        if !compiled.is_ok_and(|status| status.success()) {
            println!("cargo:warning=po/{language}.po does not compile; skipped");
        }
    }
}
