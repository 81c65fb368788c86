//! Finds the programs Hangar's code runs: `Command::new("…")` and the helpers that take a
//! program name in Rust, `subprocess` calls in Python, and every command of the shell scripts.

use super::shell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One place where a program is run.
#[derive(Debug, Clone)]
pub struct ProgramUse {
    pub program: String,
    /// Relative to the repository, with the line: "tests/common/xvnc.rs:199".
    pub place: String,
    /// Run by a shell, where a builtin or a function of the scripts takes the name first.
    pub by_shell: bool,
}

/// Test helpers whose first string argument is a program they run.
const PROGRAM_HELPERS: &[&str] = &[
    "run_client(",
    "assert_tool_accepts(",
    "run_on_file(",
    "have_program(",
];

/// Programs a script hands to another program as an argument, where no parser sees them:
/// (program, the script that runs it). The test checks the script still names it.
const HANDED_OVER: &[(&str, &str)] = &[
    // `python3 -c "$_TESTBED_REAPER" PIDFILE libvirtd …`
    ("libvirtd", "tests/testbed/libvirtd.sh"),
];

/// Programs the build runs without this repository naming them: rustc links through `cc`,
/// the -sys crates' build scripts find GTK, libadwaita and libvirt with `pkg-config`.
const BUILD_RUNS: &[&str] = &["cc", "pkg-config"];

pub struct Scan {
    pub uses: Vec<ProgramUse>,
    /// Functions the shell scripts define (they source each other).
    pub shell_functions: BTreeSet<String>,
    /// Programs a script checks with `command -v` before running them.
    pub optional: BTreeSet<String>,
}

pub fn scan_repository(root: &Path) -> Scan {
    let mut scan = Scan {
        uses: Vec::new(),
        shell_functions: BTreeSet::new(),
        optional: BTreeSet::new(),
    };
    for file in files(root, &["src", "tests", "benches"], "rs") {
        if file.to_string_lossy().contains("install_deps") {
            continue; // this test's own patterns are not programs
        }
        scan_rust(root, &file, &mut scan);
    }
    scan_rust(root, &root.join("build.rs"), &mut scan);
    for file in files(root, &["tests/ui"], "py") {
        scan_python(root, &file, &mut scan.uses);
    }
    for file in files(root, &["tests/testbed", "tools", "po"], "sh") {
        let text = std::fs::read_to_string(&file).expect("read script");
        add_shell(&text, &relative(root, &file), 0, &mut scan);
    }
    for program in BUILD_RUNS {
        scan.uses.push(ProgramUse {
            program: program.to_string(),
            place: "cargo build".into(),
            by_shell: false,
        });
    }
    for (program, script) in HANDED_OVER {
        let text = std::fs::read_to_string(root.join(script)).expect("read script");
        let line = text
            .lines()
            .position(|line| line.contains(&format!(" {program} ")));
        let line =
            line.unwrap_or_else(|| panic!("{script} no longer runs {program}: update HANDED_OVER"));
        scan.uses.push(ProgramUse {
            program: program.to_string(),
            place: format!("{script}:{}", line + 1),
            by_shell: false,
        });
    }
    scan
}

fn files(root: &Path, dirs: &[&str], extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending: Vec<PathBuf> = dirs.iter().map(|dir| root.join(dir)).collect();
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.map_while(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .to_string_lossy()
        .into_owned()
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// The string literal starting at `offset` (after blanks), unescaped, and where it ends.
fn literal_at(text: &str, offset: usize) -> Option<(String, usize)> {
    let rest = &text[offset..];
    let start = offset + (rest.len() - rest.trim_start().len());
    let mut chars = text[start..].char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut value = String::new();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Some((value, start + index + 1)),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                '\n' => {
                    // A continued literal: the next line's indent is not part of it.
                    let tail = &text[start + index..];
                    let skipped = tail[2..].len() - tail[2..].trim_start().len();
                    for _ in 0..skipped {
                        chars.next();
                    }
                }
                escaped => value.push(escaped),
            },
            c => value.push(c),
        }
    }
    None
}

/// The first string literal after `offset`, if it comes before `stop`.
fn first_literal_before(text: &str, offset: usize, stop: char) -> Option<(String, usize)> {
    let quote = text[offset..].find('"')? + offset;
    match text[offset..].find(stop) {
        Some(stop_at) if stop_at + offset < quote => None,
        _ => literal_at(text, quote),
    }
}

fn scan_rust(root: &Path, file: &Path, scan: &mut Scan) {
    let text = std::fs::read_to_string(file).expect("read source");
    let name = relative(root, file);
    let place = |offset: usize| format!("{name}:{}", line_of(&text, offset));
    for (offset, _) in text.match_indices("Command::new(") {
        let after = offset + "Command::new(".len();
        let Some((program, end)) = literal_at(&text, after) else {
            continue;
        };
        scan.uses.push(ProgramUse {
            program: program.clone(),
            place: place(offset),
            by_shell: false,
        });
        let chained = &text[end..text.len().min(end + 200)];
        match program.as_str() {
            "sh" | "bash" => {
                // `.args(["-c", "SCRIPT", …])`: the script's commands run too.
                if let Some(script_at) = chained.find("[\"-c\",") {
                    let at = end + script_at + "[\"-c\",".len();
                    if let Some((script, _)) = literal_at(&text, at) {
                        add_shell(&script, &name, line_of(&text, at) - 1, scan);
                    }
                }
            }
            "stdbuf" => {
                // `.args(["-oL", "xev"])`: the first word that is not an option.
                let mut at = end + 1;
                while let Some((word, next)) = first_literal_before(&text, at, ')') {
                    if !word.starts_with('-') {
                        scan.uses.push(ProgramUse {
                            program: word,
                            place: place(at),
                            by_shell: false,
                        });
                        break;
                    }
                    at = next;
                }
            }
            _ => {}
        }
    }
    for helper in PROGRAM_HELPERS {
        for (offset, _) in text.match_indices(helper) {
            if let Some((program, _)) = first_literal_before(&text, offset + helper.len(), ')') {
                scan.uses.push(ProgramUse {
                    program,
                    place: place(offset),
                    by_shell: false,
                });
            }
        }
    }
    // `sh -c "exec PROGRAM …"` built with format!.
    for (offset, _) in text.match_indices("\"exec ") {
        if let Some(program) = text[offset + 6..].split_whitespace().next() {
            scan.uses.push(ProgramUse {
                program: program.to_string(),
                place: place(offset),
                by_shell: false,
            });
        }
    }
}

fn scan_python(root: &Path, file: &Path, uses: &mut Vec<ProgramUse>) {
    let text = std::fs::read_to_string(file).expect("read script");
    let name = relative(root, file);
    for (offset, _) in text.match_indices("subprocess.") {
        let call = offset + "subprocess.".len();
        let function = text[call..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(call, |length| call + length);
        if !text[function..].starts_with("([") {
            continue;
        }
        if let Some((program, _)) = literal_at(&text, function + 2) {
            uses.push(ProgramUse {
                program,
                place: format!("{name}:{}", line_of(&text, offset)),
                by_shell: false,
            });
        }
    }
}

fn add_shell(script: &str, name: &str, first_line: usize, scan: &mut Scan) {
    let found = shell::scan(script);
    for (program, line) in found.commands {
        scan.uses.push(ProgramUse {
            program,
            place: format!("{name}:{}", first_line + line),
            by_shell: true,
        });
    }
    scan.shell_functions.extend(found.functions);
    scan.optional.extend(found.optional);
}
