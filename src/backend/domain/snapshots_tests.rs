use super::*;

fn snapshot_xml_of(
    name: &str,
    parent: Option<&str>,
    created: i64,
    state: &str,
    memory: &str,
    disk: &str,
) -> String {
    let parent = parent.map_or(String::new(), |p| {
        format!("<parent><name>{p}</name></parent>")
    });
    format!(
        "<domainsnapshot><name>{name}</name><description>before &amp; after</description>\
         <state>{state}</state>{parent}<creationTime>{created}</creationTime>\
         <memory snapshot='{memory}'/><disks><disk name='vda' snapshot='{disk}'/>\
         <disk name='sda' snapshot='no'/></disks><domain><name>vm</name></domain></domainsnapshot>"
    )
}

#[test]
fn snapshot_xml_gives_state_memory_parent_and_mode() {
    let running = parse_snapshot_xml(
        &snapshot_xml_of("a", None, 10, "running", "internal", "internal"),
        true,
    )
    .expect("parse");
    assert_eq!(running.name, "a");
    assert_eq!(running.description, "before & after");
    assert_eq!(running.created, 10);
    assert_eq!(running.state, SnapshotState::Running);
    assert!(running.with_memory && running.current);
    assert_eq!(running.mode, SnapshotMode::Internal);
    assert_eq!(running.kind_label(), "With memory");

    let disk_only = parse_snapshot_xml(
        &snapshot_xml_of("b", Some("a"), 20, "disk-snapshot", "no", "external"),
        false,
    )
    .expect("parse");
    assert_eq!(disk_only.parent.as_deref(), Some("a"));
    assert!(!disk_only.with_memory && !disk_only.current);
    assert_eq!(disk_only.mode, SnapshotMode::External);
    assert_eq!(disk_only.kind_label(), "Disk only");

    let off = parse_snapshot_xml(
        &snapshot_xml_of("c", None, 5, "shutoff", "no", "internal"),
        false,
    )
    .expect("parse");
    assert_eq!(off.state, SnapshotState::ShutOff);
    assert!(!off.with_memory);
    assert!(parse_snapshot_xml("<domainsnapshot>", false).is_err());
}

#[test]
fn the_tree_links_children_to_parents_oldest_first() {
    let info = |name: &str, parent: Option<&str>, created| {
        parse_snapshot_xml(
            &snapshot_xml_of(name, parent, created, "shutoff", "no", "internal"),
            false,
        )
        .expect("parse")
    };
    let tree = build_tree(vec![
        info("c", Some("a"), 30),
        info("b", Some("a"), 20),
        info("a", None, 10),
        info("d", Some("b"), 40),
        info("orphan", Some("gone"), 50),
    ]);
    let names: Vec<&str> = tree.iter().map(|node| node.info.name.as_str()).collect();
    assert_eq!(names, ["a", "orphan"]);
    let kids: Vec<&str> = tree[0]
        .children
        .iter()
        .map(|node| node.info.name.as_str())
        .collect();
    assert_eq!(kids, ["b", "c"]);
    assert_eq!(tree[0].children[0].children[0].info.name, "d");
}

#[test]
fn the_existing_mode_is_external_if_any_snapshot_is() {
    let internal = parse_snapshot_xml(
        &snapshot_xml_of("a", None, 1, "running", "internal", "internal"),
        false,
    )
    .expect("parse");
    let external = parse_snapshot_xml(
        &snapshot_xml_of("b", None, 2, "shutoff", "no", "external"),
        false,
    )
    .expect("parse");
    assert_eq!(existing_mode(&[]), None);
    assert_eq!(
        existing_mode(std::slice::from_ref(&internal)),
        Some(SnapshotMode::Internal)
    );
    assert_eq!(
        existing_mode(&[internal, external]),
        Some(SnapshotMode::External)
    );
}

#[test]
fn disks_read_for_a_snapshot_leave_out_cdroms_readonly_and_empty_ones() {
    let xml = "<domain><os><nvram format='qcow2'>/var/nv.qcow2</nvram></os><devices>\
        <disk type='file' device='disk'><driver type='qcow2'/><source file='/p/a.qcow2'/><target dev='vda'/></disk>\
        <disk type='volume' device='disk'><driver type='raw'/><source pool='p' volume='b.img'/><target dev='vdb'/></disk>\
        <disk type='file' device='disk'><source file='/p/c'/><target dev='vdc'/><readonly/></disk>\
        <disk type='file' device='cdrom'><source file='/iso/x.iso'/><target dev='sda'/></disk>\
        <disk type='file' device='disk'><target dev='vdd'/></disk>\
        </devices></domain>";
    let (disks, nvram) = snapshot_disks(xml).expect("read");
    assert_eq!(nvram.as_deref(), Some("qcow2"));
    let included: Vec<(&str, Option<&str>)> = disks
        .iter()
        .filter(|disk| disk.included)
        .map(|disk| (disk.target.as_str(), disk.format.as_deref()))
        .collect();
    assert_eq!(included, [("vda", Some("qcow2")), ("vdb", Some("raw"))]);
    assert_eq!(disks[1].source.as_deref(), Some("p/b.img"));
    assert_eq!(disks.len(), 5);
}

#[test]
fn libvirt_errors_keep_libvirts_words_and_add_what_to_do() {
    let error = BackendError {
        kind: ErrorKind::Unsupported,
        detail: "Operation not supported: deletion of external snapshot is not supported".into(),
        libvirt: Some(crate::backend::error::LibvirtCode {
            number: sys::VIR_ERR_OPERATION_UNSUPPORTED as i32,
            domain: 10,
        }),
    };
    let text = SnapshotError::Libvirt(error).to_string();
    assert!(
        text.starts_with("Operation not supported: deletion of external snapshot"),
        "{text}"
    );
    assert!(text.contains("libvirt 9.7 or later"), "{text}");
    assert!(text.contains("supported. This host"), "{text}");
}
