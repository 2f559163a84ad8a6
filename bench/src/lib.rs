//! # mon-ipc-bench: the benchmarks of `mon-ipc` / `mon-ipc-std`
//!
//! Not a library for users: it holds what the `ipc` benchmark
//! (`benches/ipc.rs`) and the allocation test (`tests/alloc.rs`) share.
//! The `sweep` benchmark (`benches/sweep.rs`: throughput against message
//! size and fds per message) uses it too, and `src/bin/plot.rs` draws its
//! results as the PNGs of `docs/img/`.
//!
//! - [`raw`]: the raw-syscall baseline, every case written with bare `libc`
//!   calls, so that it is measured through the public API *and* with raw
//!   syscalls in the same run, on the same CPU.
//! - [`pinned_cpus`], [`cpus_of`], [`raise_nofile`]: the environment of a
//!   measurement.
//! - [`dbus_raw`], [`libdbus`]: the `dbus` benchmark's libdbus-style raw
//!   client and libdbus subprocess (its `dbus-daemon` is the testkit's).
//!
//! Why criterion and not divan: several cases need custom timing
//! (`iter_custom`): the one-way throughput is timed from the first send to
//! the last receive, the Python peer times itself in its own process, and
//! the scale case times whole rounds of N concurrent handshakes while
//! excluding their teardown. Divan has no custom timing. Criterion also
//! writes a machine-readable median per case (`estimates.json`), which
//! `bench/run.sh` pairs into the ours / raw / ratio table, has a `--quick`
//! mode, and reports frames/s and GB/s from a declared throughput. It is
//! built without its default features (no plots, no rayon), which keeps
//! its build small.
//!
//! See `docs/PERFORMANCE.md` for the results and how to reproduce them.

pub mod dbus_raw;
pub mod echo;
pub mod libdbus;
pub mod measure;
pub mod raw;
pub mod server;

use std::io;

/// The CPUs this process may run on (`sched_getaffinity`), e.g. `[0]`
/// under `taskset -c 0`.
pub fn pinned_cpus() -> Vec<usize> {
    cpus_of(0)
}

/// The CPUs process `pid` may run on (`sched_getaffinity`; 0 is this
/// one), e.g. those of the `dbus-daemon` the benchmark started.
pub fn cpus_of(pid: u32) -> Vec<usize> {
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    match nix::sched::sched_getaffinity(pid) {
        Ok(set) => (0..nix::sched::CpuSet::count())
            .filter(|&i| set.is_set(i).unwrap_or(false))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Raises `RLIMIT_NOFILE` to at least `want` (the hard limit too, which
/// needs `CAP_SYS_RESOURCE`; without it, up to the hard limit). Returns
/// the soft limit now in force.
pub fn raise_nofile(want: u64) -> io::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    if soft >= want {
        return Ok(soft);
    }
    if hard >= want || setrlimit(Resource::RLIMIT_NOFILE, want, want).is_err() {
        setrlimit(Resource::RLIMIT_NOFILE, want.min(hard), hard).map_err(io::Error::from)?;
    }
    Ok(getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(io::Error::from)?
        .0)
}
