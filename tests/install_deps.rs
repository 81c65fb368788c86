//! Every program the app, the tests, the test bed and the tools run comes from a Debian package
//! that tools/install-deps.sh installs: listed there, pulled in by one listed (Depends or
//! Pre-Depends, as `--no-install-recommends` installs), or part of every Debian 12 system
//! (Essential or Priority required). A fresh machine found `xsetroot` missing this way.
//!
//! The programs are read from the code (see install_deps/sources.rs); their packages from
//! this machine's dpkg database, so a program must be installed here to be checked.

mod install_deps {
    pub mod shell;
    pub mod sources;
}

use install_deps::sources::{scan_repository, ProgramUse};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bash builtins and keywords: never a program.
const SHELL_BUILTINS: &[&str] = &[
    ":",
    ".",
    "[",
    "alias",
    "bg",
    "break",
    "builtin",
    "cd",
    "command",
    "compgen",
    "continue",
    "declare",
    "echo",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "getopts",
    "hash",
    "jobs",
    "kill",
    "let",
    "local",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "set",
    "shift",
    "shopt",
    "source",
    "test",
    "trap",
    "true",
    "type",
    "ulimit",
    "umask",
    "unset",
    "wait",
];

/// What the README asks for before `make test`: Rust from rustup, git for the clone, make.
const PREREQUISITES: &[&str] = &["cargo", "rustup", "git", "make"];

/// Where a program named without a path is looked up: Debian's directories first, as a fresh
/// machine has nothing in /usr/local; a program found only there was installed by hand.
const SEARCH_PATH: &[&str] = &[
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
    "/usr/local/sbin",
    "/usr/local/bin",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The package names in install-deps.sh's `…_PKGS=(…)` and `BACKPORTS=(…)` arrays.
fn listed_packages(script: &str) -> BTreeSet<String> {
    let mut listed = BTreeSet::new();
    let mut inside = false;
    for line in script.lines() {
        let mut words = line.split('#').next().unwrap_or("").trim();
        if let Some((name, rest)) = words.split_once("=(") {
            if name.ends_with("_PKGS") || name == "BACKPORTS" {
                inside = true;
                words = rest;
            }
        }
        if !inside {
            continue;
        }
        let (words, closed) = match words.split_once(')') {
            Some((words, _)) => (words, true),
            None => (words, false),
        };
        listed.extend(words.split_whitespace().map(str::to_string));
        inside = !closed;
    }
    listed
}

/// An installed package, as dpkg knows it.
struct Package {
    essential_or_required: bool,
    /// Each Depends / Pre-Depends group: its alternatives.
    depends: Vec<Vec<String>>,
}

struct Installed {
    packages: BTreeMap<String, Package>,
    /// Virtual package → installed packages providing it.
    providers: BTreeMap<String, Vec<String>>,
}

fn dependency_name(alternative: &str) -> String {
    let name = alternative.split_whitespace().next().unwrap_or("");
    name.split(':').next().unwrap_or(name).to_string()
}

fn installed_packages() -> Installed {
    let output = Command::new("dpkg-query")
        .args([
            "-W",
            "-f",
            "${db:Status-Abbrev}\t${Package}\t${Essential}\t${Priority}\t${Provides}\t${Pre-Depends}, ${Depends}\n",
        ])
        .output()
        .expect("run dpkg-query (Debian's dpkg)");
    let mut installed = Installed {
        packages: BTreeMap::new(),
        providers: BTreeMap::new(),
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [status, name, essential, priority, provides, depends] = fields[..] else {
            continue;
        };
        if !status.starts_with("ii") {
            continue;
        }
        for virtual_name in provides.split(',').map(dependency_name) {
            if !virtual_name.is_empty() {
                let providers = installed.providers.entry(virtual_name).or_default();
                providers.push(name.to_string());
            }
        }
        let depends = depends
            .split(',')
            .map(|group| group.split('|').map(dependency_name).collect::<Vec<_>>())
            .filter(|group| group.iter().all(|name| !name.is_empty()))
            .collect();
        installed.packages.insert(
            name.to_string(),
            Package {
                essential_or_required: essential == "yes" || priority == "required",
                depends,
            },
        );
    }
    assert!(
        installed.packages.len() > 50,
        "dpkg-query listed no installed packages: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    installed
}

impl Installed {
    /// The installed package(s) that satisfy one alternative of a dependency.
    fn satisfying(&self, name: &str) -> Vec<String> {
        if self.packages.contains_key(name) {
            return vec![name.to_string()];
        }
        self.providers.get(name).cloned().unwrap_or_default()
    }

    /// `roots`, every essential or required package, and what they depend on, recursively.
    /// Of a dependency's alternatives, the first one installed here (apt takes the first).
    fn closure(&self, roots: &BTreeSet<String>) -> BTreeSet<String> {
        let mut pending: Vec<String> = roots.iter().cloned().collect();
        pending.extend(
            self.packages
                .iter()
                .filter(|(_, package)| package.essential_or_required)
                .map(|(name, _)| name.clone()),
        );
        let mut seen = BTreeSet::new();
        while let Some(name) = pending.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let Some(package) = self.packages.get(&name) else {
                continue;
            };
            for group in &package.depends {
                let chosen = group
                    .iter()
                    .map(|alternative| self.satisfying(alternative))
                    .find(|found| !found.is_empty())
                    .unwrap_or_default();
                pending.extend(chosen);
            }
        }
        seen
    }
}

/// Where the program would be found, or None when it is not installed here.
fn locate(program: &str) -> Option<PathBuf> {
    if program.starts_with('/') {
        return Path::new(program).exists().then(|| PathBuf::from(program));
    }
    SEARCH_PATH
        .iter()
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.is_file())
}

/// The paths dpkg may know a file by: as found, after merged /usr, and its symlink target.
fn dpkg_paths(path: &Path) -> Vec<String> {
    let mut paths = vec![path.to_path_buf()];
    if let Ok(target) = std::fs::canonicalize(path) {
        paths.push(target);
    }
    let mut names = Vec::new();
    for path in paths {
        let text = path.to_string_lossy().into_owned();
        let merged = match text.strip_prefix("/usr") {
            Some(rest) => rest.to_string(),
            None => format!("/usr{text}"),
        };
        names.push(text);
        names.push(merged);
    }
    names
}

/// Path → owning packages, for those of `paths` that dpkg knows (one dpkg-query call).
fn owners(paths: &BTreeSet<String>) -> BTreeMap<String, Vec<String>> {
    let output = Command::new("dpkg-query")
        .arg("-S")
        .args(paths)
        .output()
        .expect("run dpkg-query -S");
    let mut owners = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if line.starts_with("diversion by") {
            continue;
        }
        if let Some((packages, path)) = line.rsplit_once(": ") {
            let packages = packages
                .split(", ")
                .map(|package| package.split(':').next().unwrap_or(package).to_string());
            owners.insert(path.to_string(), packages.collect());
        }
    }
    owners
}

/// One line per program that install-deps.sh (as `listed`) does not provide.
fn unprovided(uses: &[ProgramUse], listed: &BTreeSet<String>) -> Vec<String> {
    let installed = installed_packages();
    let provided = installed.closure(listed);
    let mut places: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for found in uses {
        places.entry(&found.program).or_default().push(&found.place);
    }
    let located: BTreeMap<&str, Option<PathBuf>> = places
        .keys()
        .map(|program| (*program, locate(program)))
        .collect();
    let all_paths = located
        .values()
        .flatten()
        .flat_map(|path| dpkg_paths(path))
        .collect();
    let owners = owners(&all_paths);
    let mut problems = Vec::new();
    for (program, places) in &places {
        let where_run = places.join(", ");
        let Some(path) = &located[program] else {
            problems.push(format!(
                "`{program}` (run by {where_run}) is not installed on this machine"
            ));
            continue;
        };
        let packages: BTreeSet<&String> = dpkg_paths(path)
            .iter()
            .filter_map(|name| owners.get(name))
            .flatten()
            .collect();
        if packages.is_empty() {
            problems.push(format!(
                "`{program}` (run by {where_run}) is {}, which no Debian package installed",
                path.display()
            ));
        } else if !packages.iter().any(|package| provided.contains(*package)) {
            problems.push(format!(
                "`{program}` (run by {where_run}) comes from {packages:?}, which tools/install-deps.sh does not install"
            ));
        }
    }
    problems
}

/// The uses to check: not the README's prerequisites, files of this repository, or programs
/// a script runs only after `command -v` found them; in a shell, not its builtins or the
/// scripts' own functions (`kill` from Rust is procps's, from bash a builtin).
fn uses_to_check(scan: &install_deps::sources::Scan) -> Vec<ProgramUse> {
    let in_repository = |program: &str| program.contains('/') && !program.starts_with('/');
    scan.uses
        .iter()
        .filter(|found| {
            let program = found.program.as_str();
            let shell_only = SHELL_BUILTINS.contains(&program)
                || scan.shell_functions.contains(program)
                || scan.optional.contains(program);
            !(PREREQUISITES.contains(&program)
                || in_repository(program)
                || (found.by_shell && shell_only))
        })
        .cloned()
        .collect()
}

fn install_deps_listed() -> BTreeSet<String> {
    let script = std::fs::read_to_string(root().join("tools/install-deps.sh"))
        .expect("read install-deps.sh");
    listed_packages(&script)
}

#[test]
fn every_program_run_comes_from_a_package_install_deps_installs() {
    let scan = scan_repository(&root());
    let problems = unprovided(&uses_to_check(&scan), &install_deps_listed());
    let programs: BTreeSet<&str> = scan
        .uses
        .iter()
        .map(|found| found.program.as_str())
        .collect();
    println!("{} programs run by the code: {programs:?}", programs.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check catches what a fresh machine caught: without x11-xserver-utils, `xsetroot`.
#[test]
fn a_package_missing_from_install_deps_is_named_with_the_file_running_it() {
    let scan = scan_repository(&root());
    let mut listed = install_deps_listed();
    assert!(
        listed.remove("x11-xserver-utils"),
        "install-deps.sh lists x11-xserver-utils"
    );
    let problems = unprovided(&uses_to_check(&scan), &listed);
    assert!(
        problems
            .iter()
            .any(|problem| problem.starts_with("`xsetroot`")
                && problem.contains("tests/ui_console_pointer.rs")
                && problem.contains("x11-xserver-utils")),
        "{problems:#?}"
    );
}

#[test]
fn shell_commands_are_found_behind_wrappers_and_substitutions() {
    let script = r#"
f() { helper; }
_tb_wait 10 "$pid" xdpyinfo >/dev/null 2>&1 || echo no
x=$(timeout 10 virsh -q list) && out=$(LANG=C tac "$file" | sort -u)
done < <(nsenter --target "$p" --mount -- ip link)
$SUDO apt-get update -qq
cat >"$f" <<'EOF'
notacommand here
EOF
case $1 in
  restart) systemctl restart x ;;
esac
if [[ -n $a && -d $b ]]; then echo "$(( $(date +%s) - t0 ))"; fi
command -v nft >/dev/null && nft list ruleset
"#;
    let found = install_deps::shell::scan(script);
    let commands: Vec<&str> = found
        .commands
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        commands,
        [
            "helper",
            "_tb_wait",
            "xdpyinfo",
            "echo",
            "timeout",
            "virsh",
            "tac",
            "sort",
            "nsenter",
            "ip",
            "apt-get",
            "cat",
            "systemctl",
            "echo",
            "date",
            "command",
            "nft"
        ]
    );
    assert!(found.functions.contains("f"));
    assert!(found.optional.contains("nft"));
}
