//! Generated test driver fixtures: a host with N domains, for scale tests and benchmarks.

use std::fmt::Write as _;
use std::path::PathBuf;

/// Writes a node file with `count` domains (a third each running, paused and shut off) and
/// returns its path; the same count gives the same file.
pub fn many_domains(count: usize) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("hangar-fixture-{count}-{}.xml", std::process::id()));
    if path.is_file() {
        return path;
    }
    let mut xml = String::from("<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n");
    for index in 0..count {
        let runstate = [1, 3, 5][index % 3];
        let memory = 262_144 * (1 + index % 16);
        let _ = writeln!(
            xml,
            "<domain type='test'><name>vm-{index:05}</name>\
             <uuid>00000000-0000-4000-8000-{index:012}</uuid>\
             <memory>{memory}</memory><currentMemory>{memory}</currentMemory>\
             <vcpu>{vcpus}</vcpu><os><type>hvm</type></os>\
             <test:runstate>{runstate}</test:runstate></domain>",
            vcpus = 1 + index % 8,
        );
    }
    xml.push_str("</node>\n");
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, xml).expect("write fixture");
    std::fs::rename(&temporary, &path).expect("place fixture");
    path
}
