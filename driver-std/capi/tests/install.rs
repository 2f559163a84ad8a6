//! The README's install sequence, run as written: `install.sh` into a
//! fresh prefix, then a C program compiled with `pkg-config --cflags
//! --libs monitor`, linked shared (against the versioned soname) and
//! static, and run.
//!
//! Needs `cc` and `pkg-config`: without them the test says `SKIPPED` on
//! stderr and passes, except under `CI=true` (`.ci/run` installs them),
//! where it fails.

use std::path::Path;
use std::process::Command;

use mon_ipc_testkit::TempDir;

/// A program that uses the library: an fd passed over a socketpair and
/// used on the other side.
const APP: &str = r#"
#include <monitor/monitor.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    int sv[2], p[2], got = -1;
    char c = 0;
    mon_buffer *out = mon_buffer_new(), *in = mon_buffer_new();
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(p) || !out || !in)
        return 10;
    if (mon_buffer_append(out, "installed", 9)) return 11;
    if (mon_ipc_send_fd(sv[0], out, p[1])) return 12;
    if (mon_ipc_recv_fd(sv[1], in, &got) || got < 0) return 13;
    if (mon_buffer_length(in) != 9 || memcmp(mon_buffer_data(in), "installed", 9)) return 14;
    if (write(got, "!", 1) != 1 || read(p[0], &c, 1) != 1 || c != '!') return 15;
    printf("app: %s\n", mon_ipc_strerror(0));
    mon_buffer_free(out);
    mon_buffer_free(in);
    close(got); close(p[0]); close(p[1]); close(sv[0]); close(sv[1]);
    return 0;
}
"#;

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// The shell blocks of the README that follow an `<!-- install-commands -->`
/// marker, in order.
fn readme_commands(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = readme;
    while let Some(at) = rest.find("<!-- install-commands -->") {
        rest = &rest[at..];
        let start = rest.find("```sh\n").expect("a sh block after the marker") + 6;
        let len = rest[start..].find("```").expect("the block ends");
        blocks.push(rest[start..start + len].to_owned());
        rest = &rest[start + len..];
    }
    blocks
}

#[test]
fn readme_install_sequence_builds_installs_and_links_with_pkg_config() {
    let missing: Vec<_> = ["cc", "pkg-config", "readelf"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if !missing.is_empty() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{missing:?} not installed, and CI=true");
        }
        eprintln!("SKIPPED readme_install_sequence: {missing:?} not installed");
        return;
    }
    let capi = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(capi.join("README.md")).unwrap();
    let blocks = readme_commands(&readme);
    assert_eq!(blocks.len(), 2, "the shared and the static sequence");

    // A directory that looks like the workspace root to the commands:
    // `driver-std` is this repository's, `app.c` the user's program.
    let tmp = TempDir::new("install").unwrap();
    let work = tmp.path().join("work");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::os::unix::fs::symlink(capi.parent().unwrap(), work.join("driver-std")).unwrap();
    std::fs::write(work.join("app.c"), APP).unwrap();

    let script = format!("set -euo pipefail\n{}", blocks.concat());
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&work)
        .env("HOME", &home)
        .env_remove("PKG_CONFIG_PATH")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script}\nfailed: {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // Both programs ran to the end.
    assert_eq!(stdout.matches("app: ").count(), 2, "{stdout}");

    // What was installed, and what the programs were linked against.
    let prefix = home.join(".local");
    let lib = prefix.join("lib");
    for f in [
        "libmonitor.so.0.1.0",
        "libmonitor.so.0.1",
        "libmonitor.so",
        "libmonitor.a",
        "pkgconfig/monitor.pc",
    ] {
        assert!(lib.join(f).exists(), "{f} installed");
    }
    assert!(prefix.join("include/monitor/monitor.h").exists());
    let dynamic = |file: &Path| {
        let out = Command::new("readelf")
            .arg("-d")
            .arg(file)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        dynamic(&lib.join("libmonitor.so.0.1.0")).contains("Library soname: [libmonitor.so.0.1]")
    );
    assert!(dynamic(&work.join("app")).contains("Shared library: [libmonitor.so.0.1]"));
    assert!(!dynamic(&work.join("app-static")).contains("libmonitor"));
}
