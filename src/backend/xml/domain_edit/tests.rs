//! Edits that must be refused, and edge cases of the XML they are written into.
//! (The before/after pairs of every kind of edit are in tests/xml_golden.rs.)

use super::*;
use crate::backend::domain::model::{
    BootOrder, CpuMode, KernelBoot, Topology, VncListen, VncPassword,
};

const BASE: &str = "<domain type='kvm'>
  <!-- written by hand -->
  <name>a</name>
  <memory unit='MiB'>2048</memory>
  <vcpu>2</vcpu>
  <os>
    <type>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/a.img'/>
      <target dev='vda'/>
      <boot order='1'/>
    </disk>
    <graphics type='vnc' autoport='yes'/>
  </devices>
</domain>
";

fn model(xml: &str) -> DomainModel {
    DomainModel::from_xml(xml).expect("model")
}

fn edited(change: impl FnOnce(&mut DomainModel)) -> DomainModel {
    let mut model = model(BASE);
    change(&mut model);
    model
}

fn refused(change: impl FnOnce(&mut DomainModel)) -> (Field, String) {
    match write_changes(BASE, &edited(change)) {
        Err(EditError::Invalid { field, message }) => (field, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn no_change_writes_the_same_bytes() {
    assert_eq!(write_changes(BASE, &model(BASE)).expect("write"), BASE);
}

#[test]
fn impossible_values_are_refused_with_a_reason() {
    let (field, message) = refused(|m| m.memory_kib = m.max_memory_kib + 1);
    assert_eq!(field, Field::Memory);
    assert!(message.contains("maximum"), "{message}");
    assert_eq!(refused(|m| m.max_memory_kib = 1024).0, Field::MaxMemory);
    assert_eq!(refused(|m| m.vcpus = 3).0, Field::Vcpus);
    let (field, message) = refused(|m| {
        m.topology = Some(Topology {
            sockets: 1,
            dies: 1,
            cores: 3,
            threads: 1,
        })
    });
    assert_eq!(field, Field::Topology);
    assert!(message.contains('3') && message.contains('2'), "{message}");
    assert_eq!(refused(|m| m.title = "two\nlines".into()).0, Field::Title);
    assert_eq!(
        refused(|m| m.cpu_mode = CpuMode::Custom(" ".into())).0,
        Field::CpuMode
    );
    let only_initrd = KernelBoot {
        initrd: "/boot/initrd".into(),
        ..KernelBoot::default()
    };
    assert_eq!(
        refused(|m| m.kernel_boot = only_initrd).0,
        Field::KernelBoot
    );
    let relative = KernelBoot {
        kernel: "vmlinuz".into(),
        ..KernelBoot::default()
    };
    assert_eq!(refused(|m| m.kernel_boot = relative).0, Field::KernelBoot);
}

#[test]
fn vnc_values_are_checked() {
    let vnc = |m: &mut DomainModel| m.vnc.as_mut().expect("vnc").clone();
    let (field, _) = refused(|m| {
        let mut settings = vnc(m);
        settings.password = VncPassword::Set("123456789".to_owned().into());
        m.vnc = Some(settings);
    });
    assert_eq!(field, Field::VncPassword);
    let (field, _) = refused(|m| {
        let mut settings = vnc(m);
        (settings.autoport, settings.port) = (false, Some(5800));
        m.vnc = Some(settings);
    });
    assert_eq!(field, Field::VncPort);
    let (field, _) = refused(|m| {
        let mut settings = vnc(m);
        settings.listen = VncListen::Address("a b".into());
        m.vnc = Some(settings);
    });
    assert_eq!(field, Field::VncListen);
    let (field, _) = refused(|m| {
        let mut settings = vnc(m);
        settings.keymap = Some("de'x".into());
        m.vnc = Some(settings);
    });
    assert_eq!(field, Field::VncKeymap);
}

#[test]
fn what_cannot_be_edited_safely_says_so() {
    let per_vcpu = BASE.replace(
        "<vcpu>2</vcpu>",
        "<vcpu>2</vcpu><vcpus><vcpu id='0' enabled='yes'/></vcpus>",
    );
    let mut wanted = model(&per_vcpu);
    wanted.max_vcpus = 4;
    assert!(matches!(
        write_changes(&per_vcpu, &wanted),
        Err(EditError::Unsupported { .. })
    ));
    let no_vnc = BASE.replace("<graphics type='vnc' autoport='yes'/>", "");
    let mut wanted = model(&no_vnc);
    wanted.vnc = Some(Default::default());
    wanted.vnc.as_mut().expect("vnc").keymap = Some("de".into());
    let error = apply_edits(&no_vnc, &wanted, &[Field::VncKeymap]).expect_err("no VNC");
    assert!(matches!(error, EditError::Unsupported { .. }), "{error}");
    assert!(matches!(
        write_changes("<domain", &model(BASE)),
        Err(EditError::Model(_))
    ));
}

#[test]
fn comments_units_and_self_closing_elements_survive() {
    let written = write_changes(
        BASE,
        &edited(|m| {
            m.memory_kib = 1024 * 1024;
            m.boot_menu = true;
            m.vnc.as_mut().expect("vnc").keymap = Some("de".into());
        }),
    )
    .expect("write");
    assert!(written.contains("<!-- written by hand -->"));
    // <memory> keeps its MiB, the new <currentMemory> says KiB.
    assert!(written.contains(
        "<memory unit='MiB'>2048</memory>\n  <currentMemory unit='KiB'>1048576</currentMemory>"
    ));
    assert!(written.contains("<type>hvm</type>\n    <bootmenu enable='yes'/>\n  </os>"));
    assert!(written.contains("<graphics type='vnc' autoport='yes' keymap='de'/>"));
}

#[test]
fn turning_shared_memory_off_keeps_other_backing_settings() {
    let shared = BASE.replace(
        "<vcpu>",
        "<memoryBacking>\n    <hugepages/>\n    <source type='memfd'/>\n    <access mode='shared'/>\n  </memoryBacking>\n  <vcpu>",
    );
    let mut off = model(&shared);
    assert!(off.shared_memory);
    off.shared_memory = false;
    let written = write_changes(&shared, &off).expect("write");
    assert!(written.contains("<memoryBacking>\n    <hugepages/>\n  </memoryBacking>"));
    let only_shared = shared.replace("\n    <hugepages/>", "");
    let written = write_changes(&only_shared, &off).expect("write");
    assert!(!written.contains("memoryBacking"), "{written}");
    assert_eq!(written, BASE);
}

#[test]
fn boot_order_keeps_unchanged_entries_and_drops_left_out_devices() {
    let written = write_changes(
        BASE,
        &edited(|m| m.boot_order = BootOrder::PerDevice(Vec::new())),
    )
    .expect("write");
    assert!(!written.contains("<boot"), "{written}");
    // The same order as before writes nothing at all.
    let same = edited(|_| {});
    let fields = [Field::BootOrder];
    assert_eq!(apply_edits(BASE, &same, &fields).expect("write"), BASE);
}

#[test]
fn listen_attribute_and_element_change_together() {
    let live_style = BASE.replace(
        "<graphics type='vnc' autoport='yes'/>",
        "<graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'>\n        \
         <listen type='address' address='127.0.0.1'/>\n        \
         <listen type='address' address='10.0.0.1'/>\n      </graphics>",
    );
    let mut wanted = model(&live_style);
    wanted.vnc.as_mut().expect("vnc").listen = VncListen::Address("0.0.0.0".into());
    let written = write_changes(&live_style, &wanted).expect("write");
    assert!(written.contains(
        "<graphics type='vnc' port='5900' autoport='yes' listen='0.0.0.0'>\n        \
         <listen type='address' address='0.0.0.0'/>\n      </graphics>"
    ));
    wanted.vnc.as_mut().expect("vnc").listen = VncListen::Socket("/run/vnc & co.sock".into());
    let written = write_changes(&live_style, &wanted).expect("write");
    assert!(written.contains(
        "<graphics type='vnc' port='5900' autoport='yes'>\n        \
         <listen type='socket' socket='/run/vnc &amp; co.sock'/>\n      </graphics>"
    ));
    assert_eq!(
        model(&written).vnc.expect("vnc").listen,
        VncListen::Socket("/run/vnc & co.sock".into())
    );
}
