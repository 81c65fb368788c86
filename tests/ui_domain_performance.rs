//! The details page's Performance section in the real app: on the test bed's running QEMU
//! guest its four graphs fill from the list's bulk statistics and keep going while the main
//! window shows another host; on the demo host (no CPU time) it says so.

mod common;

use std::time::{Duration, Instant};

use common::screen::Screenshot;
use common::RunningApp;

/// How many disks and network cards the guest has, as libvirt counts them.
fn device_counts(guest: &str) -> (u64, u64) {
    let stats = common::admin_virsh(&["domstats", guest, "--block", "--interface"]);
    let count = |key: &str| {
        stats
            .lines()
            .find_map(|line| line.trim().strip_prefix(key))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    (count("block.count="), count("net.count="))
}

fn atspi(args: &[&str]) -> String {
    common::run_atspi(args).unwrap_or_else(|error| panic!("{args:?}: {error}"))
}

/// The app's accessible tree, one element a line (`label: '3.1 % of 1 vCPUs'`).
fn dump(app: &RunningApp) -> String {
    atspi(&["dump", "--pid", &app.pid().to_string(), "Hangar"])
}

/// Waits until an element's name matches `pattern` (on screen, or anywhere when
/// `scrolled` is allowed: below the fold); returns that name.
fn wait_for_match(
    app: &RunningApp,
    timeout: Duration,
    pattern: &str,
    scrolled: bool,
) -> Result<String, String> {
    let pattern = regex::Regex::new(pattern).expect("pattern");
    let deadline = Instant::now() + timeout;
    loop {
        let tree = dump(app);
        let found = tree
            .lines()
            .filter(|line| scrolled || !line.ends_with("(hidden)"))
            .find_map(|line| pattern.find(line).map(|found| found.as_str().to_owned()));
        if let Some(found) = found {
            return Ok(found);
        }
        if Instant::now() > deadline {
            // The labels and images on screen tell what it showed; the rest is noise.
            let shown: Vec<&str> = tree
                .lines()
                .filter(|line| line.contains("label: '") || line.contains("image: '"))
                .filter(|line| !line.ends_with("(hidden)"))
                .collect();
            return Err(format!(
                "nothing matched {pattern} in:\n{}\n{}",
                shown.join("\n"),
                app.log()
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn open_performance(app: &RunningApp) {
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "Performance"])
        .expect("the details page opens");
    atspi(&["click", "--pid", &pid, "Hangar", "Performance"]);
}

/// How many pixels differ between two screenshots inside `area`.
fn changed_pixels(before: &Screenshot, after: &Screenshot, area: common::screen::Area) -> usize {
    let (x1, y1) = (
        area.right().min(before.width),
        area.bottom().min(before.height),
    );
    (area.y.max(0)..y1)
        .flat_map(|y| (area.x.max(0)..x1).map(move |x| (x, y)))
        .filter(|&(x, y)| before.pixel(x, y) != after.pixel(x, y))
        .count()
}

#[test]
fn a_running_guests_performance_is_graphed_and_keeps_sampling() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    // The demo host is there too: the main window is made to show it below, which stops
    // the test bed host's list refresh unless the open section keeps it going.
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--demo", "--show-domain-editor", &guest])
    else {
        return;
    };
    open_performance(&app);
    let seconds = Duration::from_secs;
    let cpu = wait_for_match(&app, seconds(30), r"\d+\.\d % of \d+ vCPUs?", false)
        .expect("the CPU label shows a percentage");
    println!("CPU: {cpu}");
    let memory = wait_for_match(&app, seconds(10), r"\S+ [MG]iB used of \S+ [MG]iB", false);
    // The test bed's guest has neither disks nor network cards: then the section says so
    // instead of graphing nothing.
    let (disks, nics) = device_counts(&guest);
    let disk_pattern = if disks > 0 {
        r"● Read [\d.]+ [kMG]?B/s · ● Write [^']+"
    } else {
        r"This virtual machine has no disks\."
    };
    let net_pattern = if nics > 0 {
        r"● Received [^']+ · ● Sent [^']+"
    } else {
        r"This virtual machine has no network cards\."
    };
    let disk = wait_for_match(&app, seconds(10), disk_pattern, true);
    let net = wait_for_match(&app, seconds(10), net_pattern, true);
    let tree = dump(&app);
    // Ten seconds of samples, then the picture people look at.
    std::thread::sleep(Duration::from_secs(10));
    let path = app.screenshot("domain-performance-running");
    println!("screenshot {}", path.display());
    // The disk and network graphs are below the fold: scroll down to them for a second look.
    let disk_area = app
        .extents("Memory usage")
        .expect("the memory graph is on screen");
    let (x, y) = (disk_area.x + 40, disk_area.y + 20);
    let scrolled = std::process::Command::new("xdotool")
        .args(["mousemove", &x.to_string(), &y.to_string()])
        .args(["click", "--repeat", "10", "5"])
        .status()
        .expect("run xdotool");
    assert!(scrolled.success(), "could not scroll the section");
    std::thread::sleep(Duration::from_secs(1));
    let path = app.screenshot("domain-performance-running-scrolled");
    println!("screenshot {}", path.display());
    let back = std::process::Command::new("xdotool")
        .args(["click", "--repeat", "10", "4"])
        .status()
        .expect("run xdotool");
    assert!(back.success(), "could not scroll the section back");
    println!("memory {memory:?}\ndisk {disk:?}\nnetwork {net:?}");
    let graphs = [
        ("CPU usage", true),
        ("Memory usage", true),
        ("Disk throughput", disks > 0),
        ("Network throughput", nics > 0),
    ];
    for (graph, drawn) in graphs {
        let shown = tree
            .lines()
            .any(|line| line.contains(&format!("image: '{graph}'")) && !line.ends_with("(hidden)"));
        assert_eq!(shown, drawn, "the {graph} graph shown: {shown}\n{tree}");
    }
    memory.expect("the memory in use is shown");
    disk.expect("disk rates, or that there are no disks, are shown");
    net.expect("network rates, or that there are no network cards, are shown");
    assert!(
        !tree.contains("Statistics are shown while the virtual machine runs."),
        "a running guest is taken for a stopped one"
    );

    // The main window turns to the demo host: the test bed host's list is not shown, yet
    // the graph goes on moving (each refresh adds a point and shifts the line left).
    // Without a window manager the page covers the main window's sidebar: move it aside.
    let pid = app.pid().to_string();
    let title = format!("{guest} — Details");
    let moved = std::process::Command::new("xdotool")
        .args([
            "search",
            "--all",
            "--onlyvisible",
            "--pid",
            &pid,
            "--name",
            &title,
        ])
        .args(["windowmove", "280", "0"])
        .status()
        .expect("run xdotool");
    assert!(moved.success(), "could not move the details page aside");
    atspi(&["click", "--pid", &pid, "Hangar", "Demo host"]);
    wait_for_match(&app, seconds(20), r"list item: 'gitea, ", false)
        .expect("the main window shows the demo host's machines");
    std::thread::sleep(Duration::from_secs(3));
    // AT-SPI's extents can be a few pixels off the drawn graph: take some margin.
    let areas = ["CPU usage", "Memory usage"]
        .map(|name| app.extents(name).expect("the graph is on screen").grown(8));
    let first = app.screenshot("domain-performance-list-hidden-1");
    std::thread::sleep(Duration::from_secs(6));
    let second = app.screenshot("domain-performance-list-hidden-2");
    let (before, after) = (Screenshot::load(&first), Screenshot::load(&second));
    let changed: usize = areas
        .iter()
        .map(|area| changed_pixels(&before, &after, *area))
        .sum();
    assert!(
        changed > 20,
        "the graphs stood still while the list showed another host ({changed} pixels \
         changed in {areas:?}); see {}",
        second.display()
    );
}

/// On the demo host (libvirt's test driver) there is no CPU time to graph: the section says
/// so instead of drawing a flat zero.
#[test]
fn the_demo_host_says_it_has_no_cpu_time() {
    let Some((app, _turn)) =
        RunningApp::start(&["--demo", "--show-domain-editor", "win11-desktop"])
    else {
        return;
    };
    open_performance(&app);
    let said = app.wait_for_names(
        30,
        &["This host does not report CPU time, so CPU use cannot be shown."],
    );
    let path = app.screenshot("domain-performance-demo");
    println!("screenshot {}", path.display());
    said.expect("the demo host's missing CPU time is said");
    let pid = app.pid().to_string();
    let window = "win11-desktop — Details";
    // The sidebar's rows (GtkStackSidebar, the page's, not this section's) have no names
    // in GTK 4.8; the section's own elements must.
    if let Err(problems) =
        common::run_atspi(&["audit", "--pid", &pid, "--window", window, "Hangar"])
    {
        let own: Vec<&str> = problems
            .lines()
            .filter(|line| line.contains(" in ") && !line.contains("> Sidebar"))
            .collect();
        assert!(
            own.is_empty(),
            "elements a screen reader cannot name:\n{}",
            own.join("\n")
        );
    }
}

/// A shut-off machine has no figures: one sentence says when there will be.
#[test]
fn a_shut_off_machine_says_when_statistics_show() {
    let Some((app, _turn)) =
        RunningApp::start(&["--demo", "--show-domain-editor", "backup-restic"])
    else {
        return;
    };
    open_performance(&app);
    let said = app.wait_for_names(
        30,
        &["Statistics are shown while the virtual machine runs."],
    );
    let path = app.screenshot("domain-performance-shut-off");
    println!("screenshot {}", path.display());
    said.expect("the shut-off machine's section says when statistics show");
}
