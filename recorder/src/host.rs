//! Host facts for the manifest (CPU, memory, GPUs, OS, kernel, VM or
//! container). STUB — filled in by the sources work.

use trainwatt_trace::HostFacts;

/// Detects what can be detected; never fails (unknown facts stay empty).
pub fn detect() -> HostFacts {
    HostFacts::default()
}
