use super::*;

fn disk(target: &str, format: Option<&str>) -> SnapshotDisk {
    SnapshotDisk {
        target: target.into(),
        format: format.map(Into::into),
        included: true,
        source: Some(format!("/pool/{target}")),
    }
}

fn cdrom() -> SnapshotDisk {
    SnapshotDisk {
        target: "sda".into(),
        format: Some("raw".into()),
        included: false,
        source: Some("/iso/install.iso".into()),
    }
}

fn input(disks: Vec<SnapshotDisk>) -> PlanInput {
    PlanInput {
        disks,
        uefi: false,
        nvram_format: None,
        libvirt_version: 11_003_000,
        existing: None,
        running: true,
        with_memory: true,
    }
}

#[test]
fn all_qcow2_disks_take_internal_snapshots_and_cdroms_do_not_count() {
    let plan = plan_snapshot(&input(vec![disk("vda", Some("qcow2")), cdrom()])).expect("plan");
    assert_eq!(plan.mode, SnapshotMode::Internal);
    assert!(
        plan.reason.starts_with("Internal: every disk is a qcow2"),
        "{}",
        plan.reason
    );
}

#[test]
fn a_raw_disk_makes_it_external_and_names_the_disk() {
    for format in [Some("raw"), None] {
        let plan = plan_snapshot(&input(vec![
            disk("vda", Some("qcow2")),
            disk("vdb", format),
        ]))
        .expect("plan");
        assert_eq!(plan.mode, SnapshotMode::External);
        assert!(
            plan.reason.contains("disk vdb is a raw image"),
            "{}",
            plan.reason
        );
    }
}

#[test]
fn uefi_is_internal_only_from_libvirt_10_10_with_a_qcow2_nvram() {
    let mut uefi = input(vec![disk("vda", Some("qcow2"))]);
    uefi.uefi = true;
    uefi.nvram_format = Some("qcow2".into());
    uefi.libvirt_version = 10_009_000;
    let old = plan_snapshot(&uefi).expect("plan");
    assert_eq!(old.mode, SnapshotMode::External);
    assert!(old.reason.contains("libvirt 10.9.0"), "{}", old.reason);

    uefi.libvirt_version = 10_010_000;
    let new = plan_snapshot(&uefi).expect("plan");
    assert_eq!(new.mode, SnapshotMode::Internal);
    assert!(new.reason.contains("libvirt 10.10.0"), "{}", new.reason);

    uefi.nvram_format = None;
    let raw_nvram = plan_snapshot(&uefi).expect("plan");
    assert_eq!(raw_nvram.mode, SnapshotMode::External);
    assert!(raw_nvram.reason.contains("NVRAM"), "{}", raw_nvram.reason);
}

#[test]
fn the_existing_mode_is_kept() {
    let mut external = input(vec![disk("vda", Some("qcow2"))]);
    external.existing = Some(SnapshotMode::External);
    let plan = plan_snapshot(&external).expect("plan");
    assert_eq!(plan.mode, SnapshotMode::External);
    assert!(plan.reason.contains("other snapshots"), "{}", plan.reason);

    let mut internal = input(vec![disk("vda", Some("qcow2"))]);
    internal.existing = Some(SnapshotMode::Internal);
    assert_eq!(
        plan_snapshot(&internal).expect("plan").mode,
        SnapshotMode::Internal
    );
    // A disk-only snapshot of the running machine would have to be external: refused.
    internal.with_memory = false;
    assert_eq!(
        plan_snapshot(&internal),
        Err(PlanError::RunningDiskOnlyInternal)
    );
    // Shut off, the disk-only snapshot is internal again.
    internal.running = false;
    assert_eq!(
        plan_snapshot(&internal).expect("plan").mode,
        SnapshotMode::Internal
    );
    // Internal snapshots that can no longer be taken (a raw disk was added): external.
    internal.disks.push(disk("vdb", Some("raw")));
    assert_eq!(
        plan_snapshot(&internal).expect("plan").mode,
        SnapshotMode::External
    );
}

#[test]
fn disk_only_of_a_running_machine_without_snapshots_is_external() {
    let mut running = input(vec![disk("vda", Some("qcow2"))]);
    running.with_memory = false;
    let plan = plan_snapshot(&running).expect("plan");
    assert_eq!(plan.mode, SnapshotMode::External);
    let flags = create_flags(&plan, true, false);
    assert_ne!(flags & sys::VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY, 0);
    assert_eq!(flags & sys::VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE, 0);
    assert_ne!(
        create_flags(&plan, true, true) & sys::VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE,
        0,
        "quiesced when the agent answers"
    );
}

#[test]
fn memory_needs_a_running_machine_and_a_disk() {
    let mut off = input(vec![disk("vda", Some("qcow2"))]);
    off.running = false;
    assert_eq!(plan_snapshot(&off), Err(PlanError::MemoryNeedsRunning));
    assert_eq!(
        plan_snapshot(&input(vec![cdrom()])),
        Err(PlanError::NoDisks)
    );
}

#[test]
fn space_is_the_memory_plus_a_margin_and_a_refusal_names_both_numbers() {
    let plan = plan_snapshot(&input(vec![disk("vda", Some("qcow2"))])).expect("plan");
    let needed = space_needed(&plan, 1024 * 1024);
    assert_eq!(needed, (1 << 30) + SPACE_MARGIN);
    let refusal = check_space("default", needed, 512 << 20).expect_err("too small");
    let text = refusal.to_string();
    assert!(
        text.contains("1.1 GiB") && text.contains("512 MiB") && text.contains("default"),
        "{text}"
    );
    assert_eq!(check_space("default", needed, 2 << 30), Ok(()));
}

#[test]
fn internal_snapshots_of_a_running_machine_need_qemu_ids_as_names() {
    let plan = plan_snapshot(&input(vec![disk("vda", Some("qcow2"))])).expect("plan");
    assert_eq!(qemu_name_problem(&plan, true, "before-upgrade_1.2"), None);
    for bad in ["before upgrade", "1st", "über", ""] {
        let problem = qemu_name_problem(&plan, true, bad).expect(bad);
        assert!(problem.contains("no spaces"), "{problem}");
    }
    // Shut off (qemu-img) or external, any libvirt name goes.
    assert_eq!(qemu_name_problem(&plan, false, "before upgrade"), None);
    let external = SnapshotPlan {
        mode: SnapshotMode::External,
        ..plan
    };
    assert_eq!(qemu_name_problem(&external, true, "before upgrade"), None);
}

#[test]
fn suggested_names_carry_the_utc_time_and_suit_qemu() {
    assert_eq!(suggested_name("snapshot", 0), "snapshot-1970-01-01-0000");
    // 2026-12-09 02:44:10 UTC (date -u -d @1796784250).
    let name = suggested_name("before-revert", 1_796_784_250);
    assert_eq!(name, "before-revert-2026-12-09-0244");
    let plan = plan_snapshot(&input(vec![disk("vda", Some("qcow2"))])).expect("plan");
    assert_eq!(qemu_name_problem(&plan, true, &name), None);
    assert_eq!(suggested_name("s", 951_782_400), "s-2000-02-29-0000");
}
