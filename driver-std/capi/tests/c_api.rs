//! The C API from C: compiles `tests/c/*.c` with the system compiler
//! (`$CC`, else `cc`) as strict C99 against `include/monitor/monitor.h`,
//! links them with `libmonitor.a` (and once with `libmonitor.so`), runs
//! them, and checks the exported symbols with `nm -D`. Under `valgrind`
//! too when it is installed (`MON_CAPI_VALGRIND=0` skips that).
//!
//! The libraries come from the target directory this test binary runs in
//! (`<target>/<profile>/`): `cargo test` builds only the crate's rlib, so
//! the test runs `cargo build -p mon-ipc-capi` into that directory first
//! (a no-op when `libmonitor.a` / `libmonitor.so` are up to date).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod libmonitor;

use libmonitor::{NATIVE_LIBS, VALGRIND, cc, lib_dir, valgrind_installed};

/// Every function of the manual, the C API's two helpers, and the
/// shared-memory extension.
const EXPORTS: &[&str] = &[
    "mon_ipc_auth_client_init",
    "mon_ipc_auth_client_step",
    "mon_ipc_auth_client_end",
    "mon_ipc_auth_server_init",
    "mon_ipc_auth_server_step",
    "mon_ipc_auth_server_end",
    "mon_ipc_recv_fd",
    "mon_ipc_send_fd",
    "mon_buffer_new",
    "mon_buffer_free",
    "mon_buffer_data",
    "mon_buffer_length",
    "mon_buffer_append",
    "mon_buffer_clear",
    "mon_ipc_strerror",
    "mon_ipc_last_errno",
    "mon_ipc_shm_create",
    "mon_ipc_shm_seal_read_only",
    "mon_ipc_shm_size",
    "mon_ipc_shm_data",
    "mon_ipc_shm_data_mut",
    "mon_ipc_shm_read",
    "mon_ipc_shm_write",
    "mon_ipc_shm_fd",
    "mon_ipc_shm_free",
    "mon_ipc_send_shm",
    "mon_ipc_recv_shm",
    "mon_ipc_set_timeout",
    "mon_ipc_forget",
    // Parity with the Rust API: mutual authentication, the deciding
    // server, the listening socket.
    "mon_ipc_auth_client_init_mutual",
    "mon_ipc_auth_server_init_decide",
    "mon_ipc_auth_server_accept",
    "mon_ipc_auth_server_deny",
    "mon_ipc_listen",
    "mon_ipc_prepare_listener",
];

const CFLAGS: &[&str] = &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"];

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capi-c-tests");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn check(what: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        out.status.success(),
        "{what} failed: {}\n{stdout}\n{stderr}",
        out.status
    );
}

/// Compiles `tests/c/<name>.c`, statically linked unless `shared`.
fn compile(name: &str, shared: bool) -> PathBuf {
    let src = crate_dir().join("tests/c").join(format!("{name}.c"));
    let exe = out_dir().join(if shared {
        format!("{name}-shared")
    } else {
        name.to_string()
    });
    let mut cmd = Command::new(cc());
    cmd.args(CFLAGS)
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe);
    if shared {
        let dir = lib_dir();
        cmd.arg(format!("-L{}", dir.display()))
            .arg(format!("-Wl,-rpath,{}", dir.display()))
            .arg("-lmonitor");
    } else {
        cmd.arg(lib_dir().join("libmonitor.a")).args(NATIVE_LIBS);
    }
    check(
        &format!("compiling {name}.c"),
        &cmd.output().expect("run cc"),
    );
    exe
}

/// Runs a C test, then again under valgrind. `MON_TEST_TMPDIR` is a
/// directory on the target's file system, for files a test makes.
fn run(exe: &Path) {
    let out = Command::new(exe)
        .env("MON_TEST_TMPDIR", out_dir())
        .output()
        .expect("run C test");
    check(&exe.display().to_string(), &out);
    if valgrind_wanted() {
        let out = Command::new("valgrind")
            .args(VALGRIND)
            .arg("--trace-children=yes")
            .arg(exe)
            .env("MON_TEST_TMPDIR", out_dir())
            .output()
            .expect("run valgrind");
        check(&format!("valgrind {}", exe.display()), &out);
    }
}

/// Whether to run the C programs under valgrind too. `MON_CAPI_VALGRIND=0`
/// skips it, `=1` (what `.ci/run` sets) requires it; unset, it runs when
/// valgrind is installed and says so visibly when it is not.
fn valgrind_wanted() -> bool {
    let setting = std::env::var("MON_CAPI_VALGRIND").ok();
    if setting.as_deref() == Some("0") {
        eprintln!("SKIPPED valgrind: MON_CAPI_VALGRIND=0");
        return false;
    }
    let installed = valgrind_installed();
    assert!(
        installed || setting.as_deref() != Some("1"),
        "MON_CAPI_VALGRIND=1 but valgrind is not installed"
    );
    if !installed {
        eprintln!(
            "SKIPPED valgrind: not installed (install it, or set MON_CAPI_VALGRIND=1 to require it)"
        );
    }
    installed
}

#[test]
fn header_compiles_alone_and_declares_the_manual() {
    run(&compile("header_only", false));
}

#[test]
fn blocking_handshake_creds_and_fd_passing() {
    run(&compile("blocking", false));
}

#[test]
fn nonblocking_handshake_with_poll() {
    run(&compile("nonblocking", false));
}

#[test]
fn error_paths() {
    run(&compile("errors", false));
}

#[test]
fn shared_memory_hand_over_and_refusals() {
    run(&compile("shm", false));
}

#[test]
fn nonblocking_every_cut_of_a_frame() {
    run(&compile("cuts", false));
}

#[test]
fn blocking_timeouts_at_the_deadline() {
    run(&compile("timeouts", false));
}

#[test]
fn poll_server_drops_stalled_clients_and_serves_the_rest() {
    run(&compile("poll_server", false));
}

/// The README's poll loop is `tests/c/readme_poll_loop.c`, verbatim, and
/// it runs.
#[test]
fn readme_poll_loop_is_the_tested_file_and_runs() {
    let readme = std::fs::read_to_string(crate_dir().join("README.md")).unwrap();
    let file = std::fs::read_to_string(crate_dir().join("tests/c/readme_poll_loop.c")).unwrap();
    assert!(
        readme.contains(&format!("```c\n{file}```\n")),
        "README.md must show tests/c/readme_poll_loop.c verbatim"
    );
    run(&compile("readme_poll_loop", false));
}

#[test]
fn mutual_decide_and_listener() {
    run(&compile("parity", false));
}

#[test]
fn shared_library_links_with_lmonitor() {
    let exe = compile("blocking", true);
    let ldd = Command::new("ldd").arg(&exe).output();
    if let Ok(o) = ldd {
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(
            s.contains("libmonitor.so"),
            "not linked to libmonitor.so:\n{s}"
        );
    }
    let out = Command::new(&exe).output().expect("run");
    check("blocking (shared)", &out);
}

#[test]
fn exported_symbols_are_the_manual() {
    let so = lib_dir().join("libmonitor.so");
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&so)
        .output()
        .expect("run nm");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let exported: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_addr, kind, name) = (f.next()?, f.next()?, f.next()?);
            (kind == "T").then_some(name)
        })
        .filter(|n| n.starts_with("mon_"))
        .collect();
    for f in EXPORTS {
        assert!(exported.contains(f), "{f} not exported by {}", so.display());
    }
    for f in &exported {
        assert!(EXPORTS.contains(f), "unexpected export {f}");
    }
}

/// The C examples of `README.md` compile as they are shown.
#[test]
fn readme_examples_compile() {
    let readme = std::fs::read_to_string(crate_dir().join("README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```c\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(!blocks.is_empty(), "README.md has C examples");
    for (i, block) in blocks.iter().enumerate() {
        let src = out_dir().join(format!("readme_{i}.c"));
        std::fs::write(&src, block).unwrap();
        let out = Command::new(cc())
            .args(CFLAGS)
            .arg("-I")
            .arg(crate_dir().join("include"))
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(out_dir().join(format!("readme_{i}.o")))
            .output()
            .expect("run cc");
        check(&format!("README example {i}"), &out);
    }
}
