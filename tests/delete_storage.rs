//! Deleting a virtual machine with its storage on the test bed's real libvirtd: a volume
//! another domain uses (here only in its saved config, and named by pool and volume) is
//! kept and that domain named; read-only and shareable disks are kept; a volume only the
//! deleted domain used is deleted. Checked with `virsh vol-list` and `virsh list --all`.

mod common;

use common::open_session;

use hangar::backend::actions::{delete_domain, disk_plan};
use hangar::backend::storage::deletion::{plan_disk, KeepReason};

const FIRST: &str = "hangar-delete-first";
const SECOND: &str = "hangar-delete-second";
const OWN: &str = "hangar-delete-own.qcow2";
const SHARED: &str = "hangar-delete-shared.qcow2";
const READ_ONLY: &str = "hangar-delete-ro.qcow2";
const SHAREABLE: &str = "hangar-delete-sh.raw";
const VOLUMES: [&str; 4] = [OWN, SHARED, READ_ONLY, SHAREABLE];

fn define(name: &str, xml: &str) {
    let file = std::env::temp_dir().join(format!("{name}-{}.xml", std::process::id()));
    std::fs::write(&file, xml).expect("write XML");
    common::admin_virsh(&["define", file.to_str().expect("path")]);
    let _ = std::fs::remove_file(&file);
}

fn disk(dir: &str, volume: &str, target: &str, format: &str, flags: &str) -> String {
    format!(
        "<disk type='file' device='disk'><driver name='qemu' type='{format}'/>\
         <source file='{dir}/{volume}'/><target dev='{target}' bus='virtio'/>{flags}</disk>"
    )
}

/// The two domains and four volumes of the test; removed however it ends.
struct Fixture {
    pool: String,
}

impl Fixture {
    fn create(pool: &str, dir: &str) -> Self {
        Self::remove(pool);
        for volume in VOLUMES {
            let format = if volume.ends_with(".raw") {
                "raw"
            } else {
                "qcow2"
            };
            common::admin_virsh(&["vol-create-as", pool, volume, "8M", "--format", format]);
        }
        let devices = [
            disk(dir, OWN, "vda", "qcow2", ""),
            disk(dir, SHARED, "vdb", "qcow2", ""),
            disk(dir, READ_ONLY, "vdc", "qcow2", "<readonly/>"),
            disk(dir, SHAREABLE, "vdd", "raw", "<shareable/>"),
        ]
        .concat();
        define(FIRST, &domain_xml(FIRST, &devices));
        // The second machine runs without the shared volume; only its saved config has it,
        // named by pool and volume rather than by path.
        define(SECOND, &domain_xml(SECOND, ""));
        common::admin_virsh(&["start", SECOND]);
        let attach = std::env::temp_dir().join(format!("{SECOND}-{}.disk", std::process::id()));
        let device = format!(
            "<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>\
             <source pool='{pool}' volume='{SHARED}'/><target dev='vdb' bus='virtio'/></disk>"
        );
        std::fs::write(&attach, device).expect("disk XML");
        common::admin_virsh(&[
            "attach-device",
            SECOND,
            attach.to_str().expect("path"),
            "--config",
        ]);
        let _ = std::fs::remove_file(&attach);
        Self {
            pool: pool.to_owned(),
        }
    }

    fn remove(pool: &str) {
        let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
        let mut commands = Vec::new();
        for name in [FIRST, SECOND] {
            commands.push(vec!["destroy", name]);
            commands.push(vec!["undefine", name]);
        }
        for volume in VOLUMES {
            commands.push(vec!["vol-delete", "--pool", pool, volume]);
        }
        for args in commands {
            let _ = std::process::Command::new("virsh")
                .args(["-q", "-c", &uri])
                .args(args)
                .output();
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        Self::remove(&self.pool);
    }
}

fn domain_xml(name: &str, devices: &str) -> String {
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>\
         <os><type arch='x86_64'>hvm</type></os><devices>{devices}\
         <memballoon model='none'/></devices></domain>"
    )
}

/// The test's volumes still in the pool, in the order of `VOLUMES`.
fn volumes_left(pool: &str) -> Vec<&'static str> {
    let listed = common::admin_virsh(&["vol-list", "--pool", pool]);
    VOLUMES
        .into_iter()
        .filter(|volume| {
            listed
                .lines()
                .any(|line| line.split_whitespace().next() == Some(volume))
        })
        .collect()
}

fn uuid_of(name: &str) -> String {
    common::admin_virsh(&["domuuid", name]).trim().to_owned()
}

/// The list's Delete asks first, listing the image it would delete and the kept ones with
/// their reasons; Cancel leaves everything. Skipped without the test bed's desktop.
fn confirmation_lists_what_is_kept_and_why(pool: &str) {
    let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
    let Some((app, _turn)) = common::RunningApp::start(&["--connect", &uri]) else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &[FIRST])
        .expect("the list shows the test's machine");
    let click = [
        "click",
        "--pid",
        &pid,
        "--role",
        "list item",
        "Hangar",
        FIRST,
    ];
    common::run_atspi(&click).expect("select the machine");
    common::run_atspi(&["key", "Delete"]).expect("press Delete");
    let shown = app.wait_for_names(
        30,
        &[
            "Also delete these disk images:",
            "These disk images are kept:",
        ],
    );
    app.screenshot("delete-storage-confirmation");
    shown.expect("the confirmation lists deleted and kept images");
    let dump = common::run_atspi(&["dump", "--pid", &pid, "Hangar"]).expect("dump");
    // Each kept image, then why: in the order of the machine's disks.
    let mut rest = dump.as_str();
    for text in [
        format!("{SHARED}'"),
        format!("The virtual machine “{SECOND}” uses it too."),
        format!("{READ_ONLY}'"),
        "The disk is read-only, so other machines may rely on it.".to_owned(),
        format!("{SHAREABLE}'"),
        "The disk is shareable: other machines may use it at the same time.".to_owned(),
    ] {
        let at = rest
            .find(&text)
            .unwrap_or_else(|| panic!("no “{text}” after the previous one in\n{dump}"));
        rest = &rest[at + text.len()..];
    }
    common::run_atspi(&["key", "Escape"]).expect("cancel");
    app.wait_until_gone(30, &["Virtual Machines"], &["These disk images are kept:"])
        .expect("Cancel closes the confirmation");
    assert_eq!(volumes_left(pool), VOLUMES, "Cancel deletes nothing");
}

#[test]
fn deleting_with_storage_keeps_what_others_use_or_share() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let pool = common::testbed_var("HANGAR_TEST_POOL").expect("pool");
    let dir = common::testbed_var("HANGAR_TEST_POOL_DIR").expect("pool dir");
    let _fixture = Fixture::create(&pool, &dir);
    confirmation_lists_what_is_kept_and_why(&pool);
    let session = open_session(&login);
    let first = uuid_of(FIRST);

    // What the delete confirmation shows.
    let plan = disk_plan(&session, &first).expect("plan");
    let shown: Vec<(&str, Option<&KeepReason>)> = plan
        .iter()
        .map(|verdict| (verdict.target.as_str(), verdict.keep.as_ref()))
        .collect();
    let used_by_second = KeepReason::UsedBy(vec![SECOND.to_owned()]);
    assert_eq!(
        shown,
        [
            ("vda", None),
            ("vdb", Some(&used_by_second)),
            ("vdc", Some(&KeepReason::ReadOnly)),
            ("vdd", Some(&KeepReason::Shareable)),
        ]
    );
    assert_eq!(plan[0].shown(), format!("{dir}/{OWN}"));

    // The same answers for one disk, as the details page asks before removing it.
    let one = plan_disk(&session, &first, "vdb").expect("one disk");
    assert_eq!(one.keep, Some(used_by_second.clone()));
    assert!(plan_disk(&session, &first, "vda")
        .expect("one disk")
        .deletable());

    let outcome = delete_domain(&session, &first, true).expect("delete the first");
    assert_eq!(outcome.deleted, [format!("{dir}/{OWN}")]);
    let kept: Vec<String> = outcome
        .kept
        .iter()
        .map(|verdict| {
            format!(
                "{}: {}",
                verdict.target,
                verdict.keep.as_ref().expect("why")
            )
        })
        .collect();
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert!(
        kept[0].contains(&format!("“{SECOND}” uses it too")),
        "{kept:?}"
    );
    assert_eq!(volumes_left(&pool), [SHARED, READ_ONLY, SHAREABLE]);
    let listed = common::admin_virsh(&["list", "--all", "--name"]);
    assert!(!listed.lines().any(|name| name == FIRST), "{listed}");
    assert!(listed.lines().any(|name| name == SECOND));

    // Now only the second machine uses the shared volume: deleting it deletes the volume.
    let outcome = delete_domain(&session, &uuid_of(SECOND), true).expect("delete the second");
    assert_eq!(outcome.deleted, [format!("{dir}/{SHARED}")]);
    assert!(outcome.kept.is_empty(), "{:?}", outcome.kept);
    assert_eq!(volumes_left(&pool), [READ_ONLY, SHAREABLE]);
}
