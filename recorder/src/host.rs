//! Host facts for the manifest (CPU, memory, GPUs, OS, kernel, VM or
//! container), so runs from different platforms are kept apart and a
//! reader can tell what a number was measured on.
//!
//! Everything comes from files (`/proc`, `/etc/os-release`, DMI in sysfs)
//! plus NVML for GPUs; [`HostPaths`] lets tests point at fake files.
//! Detection never fails: a fact that cannot be read stays empty.

use crate::sources::nvml;
use std::path::{Path, PathBuf};
use trainwatt_trace::HostFacts;

/// Where each fact is read from.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPaths {
    pub hostname: PathBuf,
    pub cpuinfo: PathBuf,
    pub meminfo: PathBuf,
    /// Tried in order; the first that exists wins.
    pub os_release: Vec<PathBuf>,
    pub kernel_release: PathBuf,
    pub dmi_sys_vendor: PathBuf,
    pub dmi_product_name: PathBuf,
    pub dockerenv: PathBuf,
    pub containerenv: PathBuf,
    pub init_cgroup: PathBuf,
}

impl Default for HostPaths {
    fn default() -> Self {
        HostPaths {
            hostname: "/proc/sys/kernel/hostname".into(),
            cpuinfo: "/proc/cpuinfo".into(),
            meminfo: "/proc/meminfo".into(),
            os_release: vec!["/etc/os-release".into(), "/usr/lib/os-release".into()],
            kernel_release: "/proc/sys/kernel/osrelease".into(),
            dmi_sys_vendor: "/sys/class/dmi/id/sys_vendor".into(),
            dmi_product_name: "/sys/class/dmi/id/product_name".into(),
            dockerenv: "/.dockerenv".into(),
            containerenv: "/run/.containerenv".into(),
            init_cgroup: "/proc/1/cgroup".into(),
        }
    }
}

/// Detects what can be detected; never fails (unknown facts stay empty).
/// GPUs come from NVML where the NVIDIA driver is present.
pub fn detect() -> HostFacts {
    let mut facts = detect_with(&HostPaths::default());
    facts.gpus = nvml::gpu_facts();
    facts
}

/// [`detect`] without GPUs, from the given files.
pub fn detect_with(paths: &HostPaths) -> HostFacts {
    let cpuinfo = read(&paths.cpuinfo);
    let (cpu_model, cpu_cores, hypervisor_flag) = parse_cpuinfo(&cpuinfo);
    let memory_bytes =
        crate::sources::modelled::parse_mem_total_bytes(&read(&paths.meminfo)).unwrap_or(0);
    let os = paths
        .os_release
        .iter()
        .find(|p| p.exists())
        .and_then(|p| pretty_name(&read(p)))
        .unwrap_or_default();
    let vm = vm_kind(
        hypervisor_flag,
        &read(&paths.dmi_sys_vendor),
        &read(&paths.dmi_product_name),
    );
    let container = container_kind(
        paths.dockerenv.exists(),
        paths.containerenv.exists(),
        &read(&paths.init_cgroup),
    );
    let virtualization = match (vm, container) {
        (Some(v), Some(c)) => Some(format!("{v},{c}")),
        (v, c) => v.or(c),
    };
    HostFacts {
        hostname: read(&paths.hostname).trim().to_string(),
        cpu_model,
        cpu_cores,
        memory_bytes,
        gpus: Vec::new(),
        os,
        kernel: read(&paths.kernel_release).trim().to_string(),
        virtualization,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// CPU model, logical CPU count (`processor` entries: vCPUs in a VM) and
/// whether the `hypervisor` flag is set.
pub fn parse_cpuinfo(text: &str) -> (String, u32, bool) {
    let mut model = String::new();
    let mut cpus = 0u32;
    let mut hypervisor = false;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" => cpus += 1,
            // x86 says "model name"; some ARM kernels "Model" or "Hardware".
            "model name" | "Model" | "Hardware" | "cpu model" if model.is_empty() => {
                model = value.to_string();
            }
            "flags" => hypervisor |= value.split_ascii_whitespace().any(|f| f == "hypervisor"),
            _ => {}
        }
    }
    (model, cpus, hypervisor)
}

/// `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"` → the quoted value.
pub fn pretty_name(os_release: &str) -> Option<String> {
    os_release.lines().find_map(|line| {
        let v = line.strip_prefix("PRETTY_NAME=")?.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
            .unwrap_or(v);
        Some(v.to_string())
    })
}

/// `vm:<kind>` from the DMI vendor and product (as systemd-detect-virt
/// reads them), or plain `vm` when only the CPU's hypervisor flag says so.
pub fn vm_kind(hypervisor_flag: bool, sys_vendor: &str, product_name: &str) -> Option<String> {
    const KNOWN: &[(&str, &str)] = &[
        ("KVM", "kvm"),
        ("QEMU", "qemu"),
        ("VMware", "vmware"),
        ("innotek GmbH", "oracle"),
        ("VirtualBox", "oracle"),
        ("Xen", "xen"),
        ("Microsoft Corporation", "microsoft"),
        ("Amazon EC2", "amazon"),
        ("Google", "google"),
        ("Parallels", "parallels"),
        ("Bochs", "bochs"),
    ];
    // The product is more specific ("KVM" under vendor "Red Hat").
    let from_dmi = [product_name.trim(), sys_vendor.trim()]
        .into_iter()
        .find_map(|s| {
            KNOWN
                .iter()
                .find(|(needle, _)| s.starts_with(needle))
                .map(|(_, kind)| *kind)
        });
    match from_dmi {
        // A Microsoft or Amazon DMI vendor is also bare-metal hardware;
        // without the hypervisor flag, only trust the VM-only names.
        Some("microsoft" | "amazon" | "google") if !hypervisor_flag => None,
        Some(kind) => Some(format!("vm:{kind}")),
        None if hypervisor_flag => Some("vm".to_string()),
        None => None,
    }
}

/// `container:<kind>` from the marker files and the init process's cgroup.
pub fn container_kind(dockerenv: bool, containerenv: bool, init_cgroup: &str) -> Option<String> {
    let kind = if dockerenv || init_cgroup.contains("/docker") {
        "docker"
    } else if containerenv || init_cgroup.contains("libpod") {
        "podman"
    } else if init_cgroup.contains("kubepods") {
        "kubernetes"
    } else if init_cgroup.contains("/lxc") {
        "lxc"
    } else {
        return None;
    };
    Some(format!("container:{kind}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn fake_paths(dir: &Path) -> HostPaths {
        let p = |n: &str| dir.join(n);
        HostPaths {
            hostname: p("hostname"),
            cpuinfo: p("cpuinfo"),
            meminfo: p("meminfo"),
            os_release: vec![p("etc-os-release"), p("lib-os-release")],
            kernel_release: p("osrelease"),
            dmi_sys_vendor: p("sys_vendor"),
            dmi_product_name: p("product_name"),
            dockerenv: p("dockerenv"),
            containerenv: p("containerenv"),
            init_cgroup: p("cgroup"),
        }
    }

    const CPUINFO: &str = "processor\t: 0\nvendor_id\t: GenuineIntel\n\
        model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\n\
        flags\t\t: fpu vme sse2 hypervisor avx\n\nprocessor\t: 1\n\
        model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\n\
        flags\t\t: fpu vme sse2 hypervisor avx\n";

    #[test]
    fn detects_facts_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("hostname"), "gpu-box-3\n").unwrap();
        fs::write(d.join("cpuinfo"), CPUINFO).unwrap();
        fs::write(d.join("meminfo"), "MemTotal:       16318412 kB\n").unwrap();
        fs::write(
            d.join("lib-os-release"),
            "NAME=\"Ubuntu\"\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\n",
        )
        .unwrap();
        fs::write(d.join("osrelease"), "6.8.0-45-generic\n").unwrap();
        fs::write(d.join("sys_vendor"), "QEMU\n").unwrap();
        fs::write(d.join("product_name"), "Standard PC (Q35 + ICH9, 2009)\n").unwrap();
        fs::write(d.join("dockerenv"), "").unwrap();

        let f = detect_with(&fake_paths(d));
        assert_eq!(f.hostname, "gpu-box-3");
        assert_eq!(f.cpu_model, "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz");
        assert_eq!(f.cpu_cores, 2);
        assert_eq!(f.memory_bytes, 16_318_412 * 1024);
        assert_eq!(f.os, "Ubuntu 24.04.1 LTS");
        assert_eq!(f.kernel, "6.8.0-45-generic");
        assert_eq!(
            f.virtualization.as_deref(),
            Some("vm:qemu,container:docker")
        );
        assert!(f.gpus.is_empty());
    }

    #[test]
    fn missing_files_leave_facts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let f = detect_with(&fake_paths(dir.path()));
        assert_eq!(f, HostFacts::default());
    }

    #[test]
    fn virtualization_kinds() {
        assert_eq!(vm_kind(true, "", "KVM").as_deref(), Some("vm:kvm"));
        assert_eq!(
            vm_kind(true, "VMware, Inc.", "VMware7,1").as_deref(),
            Some("vm:vmware")
        );
        assert_eq!(vm_kind(true, "", "").as_deref(), Some("vm"));
        assert_eq!(vm_kind(false, "Dell Inc.", "PowerEdge R750"), None);
        assert_eq!(
            vm_kind(false, "Microsoft Corporation", "Surface Laptop 5"),
            None
        );
        assert_eq!(
            vm_kind(true, "Microsoft Corporation", "Virtual Machine").as_deref(),
            Some("vm:microsoft")
        );
        assert_eq!(container_kind(false, false, "0::/\n"), None);
        assert_eq!(
            container_kind(false, false, "12:cpu:/docker/4f3a\n").as_deref(),
            Some("container:docker")
        );
        assert_eq!(
            container_kind(false, false, "0::/kubepods/besteffort/pod1\n").as_deref(),
            Some("container:kubernetes")
        );
        assert_eq!(
            container_kind(false, true, "").as_deref(),
            Some("container:podman")
        );
    }

    #[test]
    fn cpuinfo_and_os_release_parsing() {
        let (model, n, hv) = parse_cpuinfo("processor : 0\nModel : Raspberry Pi 4\n");
        assert_eq!((model.as_str(), n, hv), ("Raspberry Pi 4", 1, false));
        assert_eq!(
            pretty_name("PRETTY_NAME='Arch Linux'\n").as_deref(),
            Some("Arch Linux")
        );
        assert_eq!(
            pretty_name("PRETTY_NAME=Gentoo\n").as_deref(),
            Some("Gentoo")
        );
        assert_eq!(pretty_name("NAME=x\n"), None);
    }

    #[test]
    fn detect_on_this_machine_does_not_panic() {
        let f = detect();
        // Every Linux machine has a kernel release and at least one CPU.
        assert!(!f.kernel.is_empty());
        assert!(f.cpu_cores >= 1);
    }
}
