//! The details page's backend pieces on the test bed's real libvirtd (QEMU over TCP+SASL):
//! the XML editor (invalid XML refused with libvirt's reason and nothing saved, valid XML
//! saved, a change made with `virsh` meanwhile never overwritten), the guest agent's report
//! without an agent, and the host's domain capabilities.
//!
//! The XML editor works on a throwaway copy of the test bed guest (new name, new UUID),
//! undefined at the end however the test ends.

mod common;

use common::open_session;

use std::time::Instant;

use hangar::backend::domain::capabilities::{domain_capabilities, emulator_of};
use hangar::backend::domain::guest_info::guest_info;
use hangar::backend::domain::model::DomainModel;
use hangar::backend::domain::xml_editor::{Saved, XmlEditor, XmlSaveError};
use hangar::backend::error::ErrorKind;

const NAME: &str = "hangar-xml-editor-test";

/// Undefines (and stops) a throwaway domain when the test ends.
struct OwnDomain(&'static str);

impl OwnDomain {
    /// The test bed guest's saved config under a new name, without its UUID (libvirt
    /// gives the copy a new one).
    fn define_copy_of_the_guest() -> Self {
        Self::define_changed_copy(NAME, |xml| xml)
    }

    /// Like [`Self::define_copy_of_the_guest`], under `name`, with `change` made to the XML.
    fn define_changed_copy(name: &'static str, change: impl FnOnce(String) -> String) -> Self {
        Self::remove(name);
        let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("test bed guest");
        let xml = common::admin_virsh(&["dumpxml", "--inactive", &guest]);
        let copy: String = xml
            .lines()
            .filter(|line| !line.trim_start().starts_with("<uuid>"))
            .map(|line| {
                line.replace(
                    &format!("<name>{guest}</name>"),
                    &format!("<name>{name}</name>"),
                ) + "\n"
            })
            .collect();
        let file = std::env::temp_dir().join(format!("{name}-{}.xml", std::process::id()));
        std::fs::write(&file, change(without_data_disk(&copy))).expect("write domain XML");
        common::admin_virsh(&["define", file.to_str().expect("path")]);
        let _ = std::fs::remove_file(&file);
        Self(name)
    }

    fn remove(name: &str) {
        let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
        for action in ["destroy", "undefine"] {
            let _ = std::process::Command::new("virsh")
                .args(["-q", "-c", &uri, action, name])
                .output();
        }
    }
}

/// The guest's XML without its data disk: the running guest holds the image's write lock,
/// so a copy that starts must not use it.
fn without_data_disk(xml: &str) -> String {
    let Some(start) = xml.find("<disk type='file' device='disk'>") else {
        return xml.to_owned();
    };
    let end = xml[start..]
        .find("</disk>")
        .map_or(xml.len(), |offset| start + offset + "</disk>".len());
    format!("{}{}", &xml[..start], &xml[end..])
}

impl Drop for OwnDomain {
    fn drop(&mut self) {
        Self::remove(self.0);
    }
}

fn saved_config() -> String {
    common::admin_virsh(&["dumpxml", "--inactive", NAME])
}

fn max_memory_kib(xml: &str) -> u64 {
    DomainModel::from_xml(xml).expect("model").max_memory_kib
}

#[test]
fn the_xml_editor_saves_only_valid_xml_and_never_over_an_outside_change() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let _domain = OwnDomain::define_copy_of_the_guest();
    let session = open_session(&login);
    let uuid = common::admin_virsh(&["domuuid", NAME]).trim().to_owned();
    let mut editor = XmlEditor::open(&session, &uuid).expect("open the editor");
    let opened = editor.opened_xml().to_owned();
    let before = saved_config();

    // An element the schema does not allow: libvirt's reason, nothing saved.
    let unknown = opened.replacen("  <clock ", "  <hangar-bogus/>\n  <clock ", 1);
    assert_ne!(
        unknown, opened,
        "the guest's XML has a <clock> to insert before"
    );
    let started = Instant::now();
    let error = editor
        .save(&session, &unknown)
        .expect_err("an unknown element is refused");
    println!("schema refusal in {:?}: {error}", started.elapsed());
    let XmlSaveError::Invalid(invalid) = &error else {
        panic!("not a refusal: {error:?}");
    };
    assert!(
        invalid.reason.contains("hangar-bogus"),
        "{}",
        invalid.reason
    );
    assert!(invalid.libvirt.is_some());
    assert_eq!(saved_config(), before, "nothing saved");

    // Not well-formed: the line is given too.
    let broken = opened.replacen("</vcpu>", "</vcp>", 1);
    let vcpu_line = broken
        .lines()
        .position(|line| line.contains("</vcp>"))
        .expect("vcpu")
        + 1;
    let error = editor
        .save(&session, &broken)
        .expect_err("broken XML is refused");
    println!("syntax refusal: {error}");
    let XmlSaveError::Invalid(invalid) = &error else {
        panic!("not a refusal: {error:?}");
    };
    assert_eq!(invalid.line, Some(vcpu_line as u32));
    assert!(
        error.to_string().contains(&format!("Line {vcpu_line}:")),
        "{error}"
    );
    assert_eq!(saved_config(), before, "nothing saved");

    // A bad memory unit: refused by libvirt, nothing saved.
    let bad_unit = opened.replacen("<memory unit='KiB'>", "<memory unit='parsecs'>", 1);
    assert_ne!(bad_unit, opened);
    let error = editor
        .save(&session, &bad_unit)
        .expect_err("a bad unit is refused");
    println!("unit refusal: {error}");
    assert!(matches!(error, XmlSaveError::Invalid(_)), "{error:?}");
    assert_eq!(saved_config(), before, "nothing saved");

    // A valid change: the diff shows it, and it is saved.
    let old_memory = max_memory_kib(&opened);
    let new_memory = old_memory * 2;
    let valid = opened.replacen(
        &format!("<memory unit='KiB'>{old_memory}</memory>"),
        &format!("<memory unit='KiB'>{new_memory}</memory>"),
        1,
    );
    let diff: Vec<String> = editor
        .diff(&valid)
        .iter()
        .map(|line| line.to_text())
        .collect();
    println!("diff:\n{}", diff.join("\n"));
    assert!(diff.contains(&format!("-  <memory unit='KiB'>{old_memory}</memory>")));
    assert!(diff.contains(&format!("+  <memory unit='KiB'>{new_memory}</memory>")));
    assert_eq!(
        diff.iter()
            .filter(|line| line.starts_with(['+', '-']))
            .count(),
        2
    );
    let started = Instant::now();
    assert_eq!(
        editor.save(&session, &valid).expect("valid XML saves"),
        Saved::Written
    );
    println!("saved in {:?}", started.elapsed());
    assert_eq!(max_memory_kib(&saved_config()), new_memory);
    assert_eq!(
        editor
            .save(&session, editor.opened_xml().to_owned().as_str())
            .expect("same"),
        Saved::Unchanged
    );

    // Someone changes the config with virsh while the editor has an unsaved edit.
    let outside_memory = new_memory + 65536;
    common::admin_virsh(&["setmaxmem", "--config", NAME, &outside_memory.to_string()]);
    let mine = editor.opened_xml().replacen(
        "<vcpu placement='static'>1</vcpu>",
        "<vcpu placement='static'>2</vcpu>",
        1,
    );
    assert_ne!(mine, editor.opened_xml());
    let error = editor
        .save(&session, &mine)
        .expect_err("an outside change is not overwritten");
    println!("conflict: {error}");
    let XmlSaveError::ChangedOutside { current_xml } = &error else {
        panic!("not a conflict: {error:?}");
    };
    assert_eq!(
        max_memory_kib(current_xml),
        outside_memory,
        "the new XML is handed back"
    );
    let after = DomainModel::from_xml(&saved_config()).expect("model");
    assert_eq!(
        after.max_memory_kib, outside_memory,
        "virsh's change is kept"
    );
    assert_eq!(
        after.max_vcpus, 1,
        "the editor's change was not written over it"
    );
}

#[test]
fn without_a_guest_agent_the_report_is_the_agent_unavailable_kind() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let session = open_session(&login);
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("test bed guest");
    let uuid = common::admin_virsh(&["domuuid", &guest]).trim().to_owned();
    let started = Instant::now();
    let error = guest_info(&session, &uuid).expect_err("the test bed guest has no agent");
    println!(
        "answer in {:?}: {:?} (libvirt {:?}): {error}",
        started.elapsed(),
        error.kind,
        error.libvirt
    );
    assert_eq!(error.kind, ErrorKind::GuestAgentUnavailable);
    assert!(error.user_message().contains("guest agent"));
}

#[test]
fn the_hosts_domain_capabilities_offer_cpu_models_and_firmware() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let session = open_session(&login);
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("test bed guest");
    let xml = common::admin_virsh(&["dumpxml", "--inactive", &guest]);
    let model = DomainModel::from_xml(&xml).expect("model");
    let emulator = emulator_of(&xml);
    let started = Instant::now();
    let caps = domain_capabilities(&session, &model, emulator.as_deref()).expect("capabilities");
    println!(
        "capabilities in {:?}: host-model {:?}, {} usable models, firmware {:?}, max vCPUs {:?}",
        started.elapsed(),
        caps.host_model,
        caps.usable_models.len(),
        caps.firmware,
        caps.max_vcpus
    );
    assert!(
        caps.usable_models.iter().any(|name| name == "qemu64"),
        "{caps:?}"
    );
    assert!(caps.firmware.bios);
    assert!(caps.max_vcpus.is_some_and(|max| max >= 1));
    assert!(caps.host_model.is_some() || caps.host_passthrough || caps.maximum);
}

#[test]
fn an_agent_channel_nobody_answers_on_and_a_shut_off_machine_are_the_same_kind() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    const AGENT_NAME: &str = "hangar-agent-test";
    let channel = "    <channel type='unix'>\n      \
        <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>\n  </devices>";
    let _domain =
        OwnDomain::define_changed_copy(AGENT_NAME, |xml| xml.replacen("  </devices>", channel, 1));
    let session = open_session(&login);
    let uuid = common::admin_virsh(&["domuuid", AGENT_NAME])
        .trim()
        .to_owned();

    let error = guest_info(&session, &uuid).expect_err("a shut-off machine has no agent");
    println!("shut off: {:?} (libvirt {:?})", error.kind, error.libvirt);
    assert_eq!(error.kind, ErrorKind::GuestAgentUnavailable);

    // Running, with the agent's channel, but no agent in the guest (it has no OS at all).
    common::admin_virsh(&["start", AGENT_NAME]);
    let started = Instant::now();
    let error = guest_info(&session, &uuid).expect_err("no agent answers");
    println!(
        "running without an agent, answer in {:?}: {:?} (libvirt {:?}): {error}",
        started.elapsed(),
        error.kind,
        error.libvirt
    );
    assert_eq!(error.kind, ErrorKind::GuestAgentUnavailable);
    assert!(error.is_libvirt(virt::sys::VIR_ERR_AGENT_UNRESPONSIVE));
}
