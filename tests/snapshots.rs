//! Snapshots on the test bed's real libvirtd (QEMU over TCP+SASL), on domains of the test's
//! own with their own volumes in the test bed's pool (the shared guest never gets one):
//! internal snapshots of a qcow2 machine with memory and disk only, the tree and current
//! marker, a revert that brings back the running state, deleting one and one with its
//! children; external snapshots of a raw-disk machine; a UEFI machine when OVMF is installed.
//! Every result is checked with `virsh` (domstate, snapshot-current, snapshot-list).

mod common;

use common::open_session;

use hangar::backend::domain::snapshots::{
    create_snapshot, delete_snapshot, list_snapshots, plan_for, revert_snapshot,
    snapshot_then_revert, NewSnapshot, PlanError, RevertState, SnapshotError, SnapshotMode,
    SnapshotNode,
};

fn quiet_virsh(args: &[&str]) {
    let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
    let _ = std::process::Command::new("virsh")
        .args(["-q", "-c", &uri])
        .args(args)
        .output();
}

/// A domain of the test's own with one volume of `format` in the test bed's pool and an
/// empty CD-ROM; removed with its snapshots, overlays and memory files when dropped.
struct OwnDomain {
    name: &'static str,
    volume: String,
    pool: String,
    pool_dir: String,
}

impl OwnDomain {
    /// `os` is called after leftovers of an earlier run are removed (it may create files).
    fn define(name: &'static str, format: &str, os: impl FnOnce() -> String) -> Self {
        let pool = common::testbed_var("HANGAR_TEST_POOL").expect("pool");
        let pool_dir = common::testbed_var("HANGAR_TEST_POOL_DIR").expect("pool dir");
        let own = Self {
            name,
            volume: format!("{name}.{format}"),
            pool,
            pool_dir,
        };
        own.remove();
        let os = os();
        common::admin_virsh(&[
            "vol-create-as",
            &own.pool,
            &own.volume,
            "16M",
            "--format",
            format,
        ]);
        let xml = format!(
            "<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>\
             <vcpu>1</vcpu>{os}<devices>\
             <disk type='file' device='disk'><driver name='qemu' type='{format}'/>\
             <source file='{}/{}'/><target dev='vda' bus='virtio'/></disk>\
             <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>\
             <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>\
             <memballoon model='none'/></devices></domain>",
            own.pool_dir, own.volume
        );
        let file = std::env::temp_dir().join(format!("{name}-{}.xml", std::process::id()));
        std::fs::write(&file, xml).expect("domain XML");
        common::admin_virsh(&["define", file.to_str().expect("path")]);
        let _ = std::fs::remove_file(&file);
        own
    }

    fn remove(&self) {
        quiet_virsh(&["destroy", self.name]);
        quiet_virsh(&["undefine", "--snapshots-metadata", "--nvram", self.name]);
        // The volume, external overlays (`IMAGE.SNAPSHOT`) and memory files (`NAME.SNAPSHOT.mem`).
        if let Ok(entries) = std::fs::read_dir(&self.pool_dir) {
            for entry in entries.flatten() {
                let file = entry.file_name().to_string_lossy().into_owned();
                if file.starts_with(&self.volume) || file.starts_with(&format!("{}.", self.name)) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        quiet_virsh(&["vol-delete", "--pool", &self.pool, &self.volume]);
        quiet_virsh(&["pool-refresh", &self.pool]);
    }

    fn uuid(&self) -> String {
        common::admin_virsh(&["domuuid", self.name])
            .trim()
            .to_owned()
    }

    fn state(&self) -> String {
        common::admin_virsh(&["domstate", self.name])
            .trim()
            .to_owned()
    }

    fn current(&self) -> String {
        common::admin_virsh(&["snapshot-current", "--name", self.name])
            .trim()
            .to_owned()
    }

    /// `virsh snapshot-list --name`, sorted.
    fn snapshot_names(&self) -> Vec<String> {
        let mut names: Vec<String> = common::admin_virsh(&["snapshot-list", "--name", self.name])
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    }
}

impl Drop for OwnDomain {
    fn drop(&mut self) {
        self.remove();
    }
}

fn request(name: &str, with_memory: bool) -> NewSnapshot {
    NewSnapshot {
        name: name.into(),
        description: format!("{name} – made by the test"),
        with_memory,
    }
}

/// The tree as `name(kind)[*]{children}` lines, `*` on the current one.
fn outline(nodes: &[SnapshotNode]) -> String {
    nodes
        .iter()
        .map(|node| {
            let marker = if node.info.current { "*" } else { "" };
            let children = outline(&node.children);
            format!(
                "{}({}){marker}{}",
                node.info.name,
                node.info.kind_label(),
                if children.is_empty() {
                    String::new()
                } else {
                    format!("{{{children}}}")
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn internal_snapshots_of_a_qcow2_machine_revert_and_delete() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let own = OwnDomain::define("hangar-snapshot-qcow2", "qcow2", || {
        "<os><type arch='x86_64'>hvm</type></os>".to_owned()
    });
    common::admin_virsh(&["start", own.name]);
    let session = open_session(&login);
    let uuid = own.uuid();

    let plan = plan_for(&session, &uuid, true).expect("plan");
    println!(
        "qcow2 machine, with memory: {:?} — {}",
        plan.mode, plan.reason
    );
    assert_eq!(plan.mode, SnapshotMode::Internal);
    assert!(plan.reason.contains("qcow2"), "{}", plan.reason);

    let taken = create_snapshot(&session, &uuid, &request("first", true)).expect("with memory");
    assert_eq!(taken.mode, SnapshotMode::Internal);
    assert_eq!(own.snapshot_names(), ["first"]);
    assert_eq!(own.current(), "first");
    let info = common::admin_virsh(&["snapshot-info", own.name, "first"]);
    assert!(info.contains("running"), "{info}");

    // The machine's snapshots are internal: a disk-only one while it runs is refused.
    let refused =
        create_snapshot(&session, &uuid, &request("refused", false)).expect_err("refused");
    assert_eq!(
        refused,
        SnapshotError::Plan(PlanError::RunningDiskOnlyInternal)
    );
    println!("disk-only while running: {refused}");
    assert_eq!(own.snapshot_names(), ["first"], "a refusal changes nothing");

    // Shut off, the disk-only snapshot is internal.
    common::admin_virsh(&["destroy", own.name]);
    let disk_only = create_snapshot(&session, &uuid, &request("second", false)).expect("disk only");
    assert_eq!(disk_only.mode, SnapshotMode::Internal);
    common::admin_virsh(&["start", own.name]);
    create_snapshot(&session, &uuid, &request("third", true)).expect("third");

    // A taken name is refused with a sentence.
    let duplicate = create_snapshot(&session, &uuid, &request("first", true)).expect_err("dup");
    assert!(
        duplicate
            .to_string()
            .contains("already has a snapshot named “first”"),
        "{duplicate}"
    );

    let tree = list_snapshots(&session, &uuid).expect("list");
    let shown = outline(&tree);
    println!("tree: {shown}");
    assert_eq!(
        shown,
        "first(With memory){second(Disk only){third(With memory)*}}"
    );
    assert_eq!(tree[0].info.description, "first – made by the test");
    assert!(tree[0].info.created > 0);

    // Revert to the first: the machine runs again as it was, and it is current.
    common::admin_virsh(&["destroy", own.name]);
    assert_eq!(own.state(), "shut off");
    revert_snapshot(&session, &uuid, "first", RevertState::AsSaved).expect("revert");
    assert_eq!(own.state(), "running", "virsh domstate after the revert");
    assert_eq!(own.current(), "first");

    // QEMU names the job after an internal snapshot of a running machine: no spaces.
    let spaced =
        create_snapshot(&session, &uuid, &request("before revert", true)).expect_err("spaces");
    assert!(matches!(spaced, SnapshotError::BadName(_)), "{spaced}");
    println!("a name with a space: {spaced}");

    // "Snapshot the current state first", then revert again.
    let kept = snapshot_then_revert(
        &session,
        &uuid,
        &request("before-revert", true),
        "first",
        RevertState::AsSaved,
    )
    .expect("snapshot then revert");
    assert_eq!(kept.mode, SnapshotMode::Internal);
    assert_eq!(
        own.snapshot_names(),
        ["before-revert", "first", "second", "third"]
    );
    assert_eq!(own.current(), "first");
    assert_eq!(own.state(), "running");

    // Delete one, then one with its children.
    delete_snapshot(&session, &uuid, "third", false).expect("delete one");
    assert_eq!(own.snapshot_names(), ["before-revert", "first", "second"]);
    delete_snapshot(&session, &uuid, "first", true).expect("delete with children");
    assert!(
        own.snapshot_names().is_empty(),
        "virsh snapshot-list is empty"
    );

    // A snapshot deleted elsewhere: libvirt's words plus what to do.
    let gone = delete_snapshot(&session, &uuid, "first", false).expect_err("gone");
    let text = gone.to_string();
    println!("deleting a deleted snapshot: {text}");
    assert!(
        text.contains("first") && text.contains("reload the list"),
        "{text}"
    );
}

#[test]
fn external_snapshots_of_a_raw_disk_machine() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let own = OwnDomain::define("hangar-snapshot-raw", "raw", || {
        "<os><type arch='x86_64'>hvm</type></os>".to_owned()
    });
    common::admin_virsh(&["start", own.name]);
    let session = open_session(&login);
    let uuid = own.uuid();

    let plan = plan_for(&session, &uuid, false).expect("plan");
    println!("raw machine, disk only: {:?} — {}", plan.mode, plan.reason);
    assert_eq!(plan.mode, SnapshotMode::External);
    assert!(
        plan.reason.contains("disk vda is a raw image"),
        "{}",
        plan.reason
    );

    create_snapshot(&session, &uuid, &request("disk", false)).expect("disk only");
    let blk = common::admin_virsh(&["domblklist", own.name]);
    assert!(
        blk.contains(&format!("{}.disk", own.name)),
        "the overlay is in use: {blk}"
    );
    create_snapshot(&session, &uuid, &request("memory", true)).expect("with memory");
    let tree = list_snapshots(&session, &uuid).expect("list");
    assert_eq!(outline(&tree), "disk(Disk only){memory(With memory)*}");
    assert!(tree[0].info.mode == SnapshotMode::External);

    revert_snapshot(&session, &uuid, "memory", RevertState::AsSaved).expect("revert external");
    assert_eq!(own.state(), "running");
    assert_eq!(own.current(), "memory");
    // libvirt deletes external snapshots one at a time; with children, newest first.
    delete_snapshot(&session, &uuid, "disk", true).expect("delete external with children");
    assert!(
        own.snapshot_names().is_empty(),
        "virsh snapshot-list is empty"
    );
    assert_eq!(own.state(), "running");
    let blk = common::admin_virsh(&["domblklist", own.name]);
    assert!(
        blk.contains(&own.volume),
        "the overlays are merged back: {blk}"
    );
}

/// The `<os>` of a UEFI machine with its NVRAM in `format` (a file made here) and ACPI.
fn uefi_os(name: &str, code: &str, format: &str) -> String {
    let pool_dir = common::testbed_var("HANGAR_TEST_POOL_DIR").expect("pool dir");
    let vars = format!("{pool_dir}/{name}.vars.{format}");
    let made = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", format, &vars, "528K"])
        .status()
        .expect("qemu-img");
    assert!(made.success(), "qemu-img create {vars}");
    format!(
        "<os><type arch='x86_64' machine='q35'>hvm</type>\
         <loader readonly='yes' type='pflash'>{code}</loader>\
         <nvram format='{format}'>{vars}</nvram></os><features><acpi/></features>"
    )
}

/// Shut-off UEFI machines need no firmware file: with a qcow2 NVRAM libvirt (≥ 10.10)
/// snapshots it internally, NVRAM included; with a raw NVRAM the snapshot is external.
#[test]
fn a_shut_off_uefi_machines_snapshot_path_follows_its_nvram() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let session = open_session(&login);
    let code = "/usr/share/OVMF/OVMF_CODE_4M.fd";

    let name = "hangar-snapshot-uefi-q";
    let own = OwnDomain::define(name, "qcow2", || uefi_os(name, code, "qcow2"));
    let uuid = own.uuid();
    let plan = plan_for(&session, &uuid, false).expect("plan");
    println!(
        "UEFI, qcow2 NVRAM, shut off: {:?} — {}",
        plan.mode, plan.reason
    );
    assert_eq!(plan.mode, SnapshotMode::Internal);
    create_snapshot(&session, &uuid, &request("uefi", false)).expect("internal UEFI snapshot");
    let vars = format!("{}/{name}.vars.qcow2", own.pool_dir);
    let inside = std::process::Command::new("qemu-img")
        .args(["snapshot", "-l", "-U", &vars])
        .output()
        .expect("qemu-img");
    let inside = String::from_utf8_lossy(&inside.stdout);
    assert!(
        inside.contains("uefi"),
        "the NVRAM holds the snapshot too: {inside}"
    );
    revert_snapshot(&session, &uuid, "uefi", RevertState::AsSaved).expect("revert");
    delete_snapshot(&session, &uuid, "uefi", false).expect("delete");
    assert!(own.snapshot_names().is_empty());
    drop(own);

    let name = "hangar-snapshot-uefi-r";
    let own = OwnDomain::define(name, "qcow2", || uefi_os(name, code, "raw"));
    let uuid = own.uuid();
    let plan = plan_for(&session, &uuid, false).expect("plan");
    println!(
        "UEFI, raw NVRAM, shut off: {:?} — {}",
        plan.mode, plan.reason
    );
    assert_eq!(plan.mode, SnapshotMode::External);
    assert!(plan.reason.contains("NVRAM"), "{}", plan.reason);
    create_snapshot(&session, &uuid, &request("uefi", false)).expect("external UEFI snapshot");
    let tree = list_snapshots(&session, &uuid).expect("list");
    assert_eq!(tree[0].info.mode, SnapshotMode::External);
    assert_eq!(own.snapshot_names(), ["uefi"]);
    // Deleting an external snapshot of a shut-off machine starts QEMU (paused) to merge the
    // overlay, which needs the firmware file: only with OVMF installed.
    if std::path::Path::new(code).exists() {
        delete_snapshot(&session, &uuid, "uefi", false).expect("delete external");
        assert!(own.snapshot_names().is_empty());
    } else if let Err(refusal) = delete_snapshot(&session, &uuid, "uefi", false) {
        println!("deleting it without OVMF fails in libvirt's words: {refusal}");
    }
}

/// A running UEFI machine's snapshot with memory needs OVMF to start it.
#[test]
fn a_running_uefi_machines_snapshot() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let code = [
        "/usr/share/OVMF/OVMF_CODE_4M.fd",
        "/usr/share/OVMF/OVMF_CODE.fd",
    ]
    .into_iter()
    .find(|path| std::path::Path::new(path).exists());
    let Some(code) = code else {
        println!(
            "running UEFI snapshot skipped: OVMF is not installed on the test bed (no /usr/share/OVMF), so no UEFI machine can start"
        );
        return;
    };
    let name = "hangar-snapshot-uefi";
    let own = OwnDomain::define(name, "qcow2", || uefi_os(name, code, "qcow2"));
    common::admin_virsh(&["start", own.name]);
    let session = open_session(&login);
    let uuid = own.uuid();
    let plan = plan_for(&session, &uuid, true).expect("plan");
    println!(
        "UEFI machine, with memory: {:?} — {}",
        plan.mode, plan.reason
    );
    let taken = create_snapshot(&session, &uuid, &request("uefi", true))
        .unwrap_or_else(|refusal| panic!("UEFI snapshot ({:?}) failed: {refusal}", plan.mode));
    println!("running UEFI snapshot taken on the {:?} path", taken.mode);
    assert_eq!(own.snapshot_names(), ["uefi"]);
    revert_snapshot(&session, &uuid, "uefi", RevertState::AsSaved).expect("revert");
    assert_eq!(own.state(), "running");
}
