//! The command line: `peer` and `replay` are subcommands like the others,
//! each with its own help; `peer`'s exit status follows docs/SHIM.md section 6.

use std::process::{Command, Output};

const CLI: &str = env!("CARGO_BIN_EXE_mon-ipc-conformance");

fn run(args: &[&str]) -> Output {
    Command::new(CLI).args(args).output().expect("run the CLI")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_lists_peer_like_the_other_subcommands() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for sub in ["verify", "generate", "record", "peer", "replay"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(sub)),
            "{sub} not listed:\n{help}"
        );
    }
}

#[test]
fn peer_help_prints_its_usage_and_exits_0() {
    for args in [&["peer", "--help"][..], &["peer", "-h"], &["help", "peer"]] {
        let out = run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let help = text(&out.stdout);
        assert!(help.contains("peer --exec PROGRAM"), "{args:?}:\n{help}");
        assert!(help.contains("--timeout SECS"), "{args:?}:\n{help}");
    }
    // After --exec, --help is the program's own argument, not the runner's.
    let out = run(&[
        "peer",
        "--exec",
        "/bin/sh",
        "-c",
        "exit 89",
        "--help",
        "--filter",
        "client/handshake",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("UNIMPLEMENTED (client/handshake stream)"));
}

#[test]
fn peer_usage_errors_exit_2() {
    assert_eq!(run(&["peer"]).status.code(), Some(2));
    assert_eq!(
        run(&["peer", "--exec", "true", "--socket", "dgram"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn a_run_where_every_case_is_unimplemented_exits_1() {
    // A program that answers 89 (unimplemented) to every case.
    let out = run(&[
        "peer",
        "--exec",
        "/bin/sh",
        "-c",
        "exit 89",
        "--filter",
        "server/handshake",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("0 passed, 0 failed"), "{stdout}");
    assert!(stdout.contains("2 unimplemented"), "{stdout}");
    assert!(text(&out.stderr).contains("no case passed"));
}

#[test]
fn shim_md_lists_every_case() {
    const SHIM_MD: &str = include_str!("../../docs/SHIM.md");
    for case in mon_ipc_conformance::peer::cases::CASES {
        assert!(
            SHIM_MD.contains(&format!("| `{}` |", case.name)),
            "docs/SHIM.md has no row for {}",
            case.name
        );
    }
}

#[test]
fn replay_help_and_usage_errors() {
    for args in [&["replay", "--help"][..], &["help", "replay"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let help = text(&out.stdout);
        assert!(help.contains("replay --exec PROGRAM"), "{args:?}:\n{help}");
        assert!(help.contains("--vectors DIR"), "{args:?}:\n{help}");
    }
    let out = run(&["replay"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--exec PROGRAM is missing"));
    assert_eq!(run(&["replay", "--filter"]).status.code(), Some(2));
    let out = run(&["replay", "--exec", "true", "--timeout", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["replay", "--exec", "true", "--vectors", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
