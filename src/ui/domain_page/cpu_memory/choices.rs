//! The CPU and Memory section's choices: the CPU modes a host offers, and topologies that
//! add up to the maximum of vCPUs.

use gettextrs::gettext;

use crate::backend::domain::capabilities::DomainCapabilities;
use crate::backend::domain::model::{CpuMode, Topology};
use crate::i18n::gettext_f;

/// The modes the model row offers, with their labels: the hypervisor's default, what the
/// host supports (everything when it cannot say), its usable named models, and `current`
/// even when the host no longer offers it.
pub(super) fn cpu_choices(
    current: &CpuMode,
    caps: Option<&DomainCapabilities>,
) -> Vec<(CpuMode, String)> {
    let mut choices = vec![(CpuMode::HypervisorDefault, gettext("Hypervisor default"))];
    let offered = |supported: bool, mode: CpuMode| supported || *current == mode;
    if offered(
        caps.map_or(true, |caps| caps.host_passthrough),
        CpuMode::HostPassthrough,
    ) {
        choices.push((CpuMode::HostPassthrough, gettext("Host passthrough")));
    }
    let host_model = caps.and_then(|caps| caps.host_model.as_deref());
    if offered(caps.is_none() || host_model.is_some(), CpuMode::HostModel) {
        let label = match host_model.filter(|name| !name.is_empty()) {
            Some(name) => gettext_f("Host model ({model})", &[("model", name)]),
            None => gettext("Host model"),
        };
        choices.push((CpuMode::HostModel, label));
    }
    if offered(caps.map_or(true, |caps| caps.maximum), CpuMode::Maximum) {
        choices.push((CpuMode::Maximum, gettext("Maximum")));
    }
    for name in caps
        .map(|caps| caps.usable_models.as_slice())
        .unwrap_or_default()
    {
        choices.push((CpuMode::Custom(name.clone()), name.clone()));
    }
    if let CpuMode::Custom(name) = current {
        if !choices.iter().any(|(mode, _)| mode == current) {
            choices.push((current.clone(), name.clone()));
        }
    }
    choices
}

/// What libvirt does without `<topology>`: one socket, one core per vCPU.
pub(super) fn default_topology(max_vcpus: u32) -> Topology {
    Topology {
        sockets: 1,
        dies: 1,
        cores: max_vcpus.max(1),
        threads: 1,
    }
}

/// A topology of `max` vCPUs close to `shown`: its sockets, dies and threads kept where the
/// maximum divides by them, the cores making up the rest.
pub(super) fn fitting_topology(shown: &Topology, max: u32) -> Topology {
    let max = max.max(1);
    let candidates = [
        (shown.sockets, shown.dies, shown.threads),
        (1, shown.dies, shown.threads),
        (1, 1, shown.threads),
    ];
    candidates
        .into_iter()
        .find(|&(sockets, dies, threads)| {
            let fixed = sockets.max(1) * dies.max(1) * threads.max(1);
            max % fixed == 0
        })
        .map(|(sockets, dies, threads)| Topology {
            sockets,
            dies,
            cores: max / (sockets * dies * threads),
            threads,
        })
        .unwrap_or_else(|| default_topology(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fitting_topology_keeps_what_divides_the_maximum() {
        let shown = Topology {
            sockets: 2,
            dies: 1,
            cores: 2,
            threads: 2,
        };
        let fit = |max| {
            let t = fitting_topology(&shown, max);
            (t.sockets, t.dies, t.cores, t.threads)
        };
        assert_eq!(fit(8), (2, 1, 2, 2));
        assert_eq!(fit(12), (2, 1, 3, 2));
        assert_eq!(fit(6), (1, 1, 3, 2));
        assert_eq!(fit(5), (1, 1, 5, 1));
    }

    #[test]
    fn the_host_offers_its_modes_and_a_current_custom_model_stays() {
        let caps = DomainCapabilities {
            host_model: Some("EPYC".into()),
            maximum: true,
            usable_models: vec!["qemu64".into()],
            ..DomainCapabilities::default()
        };
        let current = CpuMode::Custom("Haswell".into());
        let labels: Vec<String> = cpu_choices(&current, Some(&caps))
            .into_iter()
            .map(|(_, label)| label)
            .collect();
        assert_eq!(
            labels,
            [
                "Hypervisor default",
                "Host model (EPYC)",
                "Maximum",
                "qemu64",
                "Haswell"
            ]
        );
        let unknown = cpu_choices(&CpuMode::HypervisorDefault, None);
        assert!(unknown
            .iter()
            .any(|(mode, _)| *mode == CpuMode::HostPassthrough));
    }
}
