//! Title, description, memory, vCPUs, CPU model and topology, shared memory.

use gettextrs::gettext;
use roxmltree::Node;

use super::{append_children, insert_after_last_of, set_optional_text, EditError};
use crate::backend::domain::fields::Field;
use crate::backend::domain::model::{child, CpuMode, DomainModel, Topology};
use crate::backend::xml::splice::{escape, Splicer};

/// libvirt's order of the first elements; new ones go after those before them.
const BEFORE_TITLE: [&str; 3] = ["name", "uuid", "genid"];
const BEFORE_DESCRIPTION: [&str; 4] = ["name", "uuid", "genid", "title"];
const BEFORE_MEMORY: [&str; 7] = [
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
];
const BEFORE_VCPU: [&str; 6] = [
    "memory",
    "currentMemory",
    "maxMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
];
const BEFORE_CPU: [&str; 3] = ["os", "idmap", "features"];

pub(super) fn write_title(splicer: &mut Splicer, root: Node, title: &str) {
    set_optional_text(splicer, root, "title", title, &BEFORE_TITLE);
}

pub(super) fn write_description(splicer: &mut Splicer, root: Node, description: &str) {
    set_optional_text(
        splicer,
        root,
        "description",
        description,
        &BEFORE_DESCRIPTION,
    );
}

/// `<memory>` (maximum) and `<currentMemory>`, always written in KiB as libvirt does.
pub(super) fn write_memory(
    splicer: &mut Splicer,
    root: Node,
    edited: &DomainModel,
    maximum: bool,
    current: bool,
) {
    let memory = child(root, "memory");
    if maximum {
        write_kib(
            splicer,
            root,
            memory,
            "memory",
            edited.max_memory_kib,
            &BEFORE_MEMORY,
        );
    }
    if current {
        let current_memory = child(root, "currentMemory");
        write_kib(
            splicer,
            root,
            current_memory,
            "currentMemory",
            edited.memory_kib,
            &["memory"],
        );
    }
}

fn write_kib(
    splicer: &mut Splicer,
    root: Node,
    element: Option<Node>,
    name: &str,
    kib: u64,
    anchors: &[&str],
) {
    match element {
        Some(element) => {
            splicer.set_attribute(element, "unit", "KiB");
            splicer.set_text(element, &kib.to_string());
        }
        None => {
            let markup = format!("<{name} unit='KiB'>{kib}</{name}>");
            insert_after_last_of(splicer, root, anchors, &markup);
        }
    }
}

/// `<vcpu current='N'>MAX</vcpu>`; `current` only when fewer than the maximum.
pub(super) fn write_vcpus(
    splicer: &mut Splicer,
    root: Node,
    edited: &DomainModel,
) -> Result<(), EditError> {
    if child(root, "vcpus").is_some() {
        return Err(EditError::Unsupported {
            field: Field::MaxVcpus,
            reason: gettext(
                "This virtual machine sets each vCPU on its own (<vcpus>): change them in the XML.",
            ),
        });
    }
    let Some(vcpu) = child(root, "vcpu") else {
        let current = if edited.vcpus < edited.max_vcpus {
            format!(" current='{}'", edited.vcpus)
        } else {
            String::new()
        };
        let markup = format!(
            "<vcpu placement='static'{current}>{}</vcpu>",
            edited.max_vcpus
        );
        insert_after_last_of(splicer, root, &BEFORE_VCPU, &markup);
        return Ok(());
    };
    splicer.set_text(vcpu, &edited.max_vcpus.to_string());
    if edited.vcpus < edited.max_vcpus {
        splicer.set_attribute(vcpu, "current", &edited.vcpus.to_string());
    } else {
        splicer.remove_attribute(vcpu, "current");
    }
    Ok(())
}

fn topology_markup(topology: &Topology) -> String {
    format!(
        "<topology sockets='{}' dies='{}' cores='{}' threads='{}'/>",
        topology.sockets, topology.dies, topology.cores, topology.threads
    )
}

/// `<cpu>`'s mode and model, and its `<topology>`; features, cache and NUMA stay.
pub(super) fn write_cpu(
    splicer: &mut Splicer,
    root: Node,
    edited: &DomainModel,
    mode: bool,
    topology: bool,
) {
    let Some(cpu) = child(root, "cpu") else {
        insert_new_cpu(splicer, root, edited, topology);
        return;
    };
    let mut new_children = Vec::new();
    if mode {
        write_cpu_mode(splicer, cpu, &edited.cpu_mode, &mut new_children);
    }
    if topology {
        match (child(cpu, "topology"), &edited.topology) {
            (Some(existing), Some(wanted)) => {
                for (name, value) in [
                    ("sockets", wanted.sockets),
                    ("dies", wanted.dies),
                    ("cores", wanted.cores),
                    ("threads", wanted.threads),
                ] {
                    // libvirt leaves out dies='1' on older versions; keep it out.
                    if name == "dies" && value == 1 && existing.attribute("dies").is_none() {
                        continue;
                    }
                    splicer.set_attribute(existing, name, &value.to_string());
                }
            }
            (Some(existing), None) => splicer.remove_element(existing),
            (None, Some(wanted)) => new_children.push(topology_markup(wanted)),
            (None, None) => {}
        }
    }
    append_children(splicer, cpu, &new_children);
}

fn write_cpu_mode(
    splicer: &mut Splicer,
    cpu: Node,
    mode: &CpuMode,
    new_children: &mut Vec<String>,
) {
    let model = child(cpu, "model");
    let (mode_name, model_name) = match mode {
        CpuMode::HostPassthrough => (Some("host-passthrough"), None),
        CpuMode::HostModel => (Some("host-model"), None),
        CpuMode::Maximum => (Some("maximum"), None),
        CpuMode::Custom(name) => (Some("custom"), Some(name.as_str())),
        CpuMode::HypervisorDefault => (None, None),
    };
    match mode_name {
        Some(name) => splicer.set_attribute(cpu, "mode", name),
        None => splicer.remove_attribute(cpu, "mode"),
    }
    match model_name {
        Some(name) => {
            if cpu.attribute("match").is_none() {
                splicer.set_attribute(cpu, "match", "exact");
            }
            // Only host-passthrough and maximum may be migratable.
            splicer.remove_attribute(cpu, "migratable");
            match model {
                Some(model) => splicer.set_text(model, name),
                None => {
                    new_children.push(format!("<model fallback='allow'>{}</model>", escape(name)))
                }
            }
        }
        None => {
            splicer.remove_attribute(cpu, "match");
            if !matches!(mode, CpuMode::HostPassthrough | CpuMode::Maximum) {
                splicer.remove_attribute(cpu, "migratable");
            }
            if let Some(model) = model {
                splicer.remove_element(model);
            }
        }
    }
}

fn insert_new_cpu(splicer: &mut Splicer, root: Node, edited: &DomainModel, topology: bool) {
    let mut children = Vec::new();
    let attributes = match &edited.cpu_mode {
        CpuMode::HostPassthrough => " mode='host-passthrough'".to_owned(),
        CpuMode::HostModel => " mode='host-model'".to_owned(),
        CpuMode::Maximum => " mode='maximum'".to_owned(),
        CpuMode::Custom(name) => {
            children.push(format!("<model fallback='allow'>{}</model>", escape(name)));
            " mode='custom' match='exact'".to_owned()
        }
        CpuMode::HypervisorDefault => String::new(),
    };
    if let (true, Some(wanted)) = (topology, &edited.topology) {
        children.push(topology_markup(wanted));
    }
    let markup =
        element_with_children(splicer, root, &format!("cpu{attributes}"), "cpu", &children);
    insert_after_last_of(splicer, root, &BEFORE_CPU, &markup);
}

/// `<start>…children…</name>` indented as a child of `root`, or `<start/>` when empty.
fn element_with_children(
    splicer: &Splicer,
    root: Node,
    start: &str,
    name: &str,
    children: &[String],
) -> String {
    if children.is_empty() {
        return format!("<{start}/>");
    }
    let indent = splicer.child_indent_of(root);
    let inner = format!("{indent}  ");
    let body: String = children.iter().map(|c| format!("\n{inner}{c}")).collect();
    format!("<{start}>{body}\n{indent}</{name}>")
}

/// memfd with shared access, as virt-manager's "Enable shared memory" writes it.
pub(super) fn write_shared_memory(splicer: &mut Splicer, root: Node, shared: bool) {
    let backing = child(root, "memoryBacking");
    match (backing, shared) {
        (None, false) => {}
        (None, true) => {
            let children = [
                "<source type='memfd'/>".to_owned(),
                "<access mode='shared'/>".to_owned(),
            ];
            let markup =
                element_with_children(splicer, root, "memoryBacking", "memoryBacking", &children);
            insert_after_last_of(
                splicer,
                root,
                &[
                    "memory",
                    "currentMemory",
                    "maxMemory",
                    "blkiotune",
                    "memtune",
                ],
                &markup,
            );
        }
        (Some(backing), true) => {
            let mut new_children = Vec::new();
            if child(backing, "source").is_none() {
                new_children.push("<source type='memfd'/>".to_owned());
            }
            match child(backing, "access") {
                Some(access) => splicer.set_attribute(access, "mode", "shared"),
                None => new_children.push("<access mode='shared'/>".to_owned()),
            }
            append_children(splicer, backing, &new_children);
        }
        (Some(backing), false) => {
            let source = child(backing, "source").filter(|s| s.attribute("type") == Some("memfd"));
            let access = child(backing, "access");
            let others = backing
                .children()
                .filter(Node::is_element)
                .filter(|node| Some(*node) != source && Some(*node) != access)
                .count();
            if others == 0 {
                splicer.remove_element(backing);
                return;
            }
            for element in [source, access].into_iter().flatten() {
                splicer.remove_element(element);
            }
        }
    }
}
