//! `libmonitor`, the C library of `mon-ipc-capi`, for tests that compile C
//! programs against it: the C API's tests here, and the C shim's
//! conformance run (`conformance/tests/c_shim.rs` includes this file by
//! path; a helper crate would be a dev-dependency the published package
//! cannot carry).

#![allow(dead_code)] // each including test uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What a Rust static library needs from the system on Linux.
pub(crate) const NATIVE_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// valgrind's flags for the C programs: an error or a definite or possible
/// leak is exit status 99. No gdbserver pipes in /tmp: a child that drops
/// its uid could not remove them.
pub(crate) const VALGRIND: &[&str] = &[
    "-q",
    "--leak-check=full",
    "--error-exitcode=99",
    "--vgdb=no",
];

/// The C compiler: `$CC`, else `cc`.
pub(crate) fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// `<target>/<profile>` of the running test binary, holding `libmonitor.a`
/// and `libmonitor.so`, built there first (a no-op when up to date):
/// `cargo test` builds only the rlib of `mon-ipc-capi`, and a C test must
/// never link a stale library.
pub(crate) fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // <target>/<profile>/deps/<test>-<hash>
        let profile = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary in <target>/<profile>/deps")
            .to_path_buf();
        let target = profile.parent().expect("target dir");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["build", "-q", "-p", "mon-ipc-capi"])
            .env("CARGO_TARGET_DIR", target);
        if profile.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("run cargo build");
        assert!(st.success(), "cargo build -p mon-ipc-capi failed");
        let have = |p: &Path| p.join("libmonitor.a").exists() && p.join("libmonitor.so").exists();
        assert!(
            have(&profile),
            "no libmonitor.a / .so in {}",
            profile.display()
        );
        profile
    })
}

/// Whether valgrind runs here.
pub(crate) fn valgrind_installed() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
