//! `peer --exec` against the reference shim: every case passes on both
//! socket types; every mutant of the shim is caught by at least one case.

use std::time::Duration;

use mon_ipc::SocketKind;
use mon_ipc_conformance::peer::cases::{CASES, MUTANTS};
use mon_ipc_conformance::peer::runner::{Options, Report, run};
use mon_ipc_conformance_core::report::Status;

const SHIM: &str = env!("CARGO_BIN_EXE_mon-ipc-shim");

fn options(program: &[&str]) -> Options {
    Options {
        program: program.iter().map(|s| s.to_string()).collect(),
        filter: None,
        sockets: vec![SocketKind::Stream, SocketKind::Seqpacket],
        timeout: Duration::from_secs(10),
    }
}

fn failures(r: &Report) -> Vec<String> {
    r.results
        .iter()
        .filter(|c| c.status != Status::Passed)
        .map(|c| format!("{:?} {} {}: {:?}", c.status, c.name, c.socket, c.reason))
        .collect()
}

#[test]
fn reference_shim_passes_every_case_and_every_mutant_is_caught() {
    let handles: Vec<_> = std::iter::once(None)
        .chain(MUTANTS.iter().map(|(m, _)| Some(*m)))
        .map(|mutant| {
            std::thread::spawn(move || {
                let mut program = vec![SHIM];
                if let Some(m) = mutant {
                    program.extend(["--mutant", m]);
                }
                (mutant, run(&options(&program)))
            })
        })
        .collect();
    for h in handles {
        let (mutant, report) = h.join().expect("runner thread");
        match mutant {
            None => {
                assert_eq!(report.passed, 2 * CASES.len(), "{:#?}", failures(&report));
                assert_eq!((report.failed, report.unimplemented), (0, 0));
                assert!(report.verdict());
            }
            Some(m) => {
                let caught: Vec<_> = report
                    .results
                    .iter()
                    .filter(|c| c.status == Status::Failed)
                    .map(|c| format!("{} {}", c.name, c.socket))
                    .collect();
                assert!(!caught.is_empty(), "mutant {m} was not caught");
                assert_eq!(report.unimplemented, 0, "mutant {m}");
                eprintln!("mutant {m}: caught by {}", caught.join(", "));
            }
        }
    }
}

#[test]
fn exit_89_is_unimplemented_and_silence_fails() {
    let mut opts = options(&["/bin/sh", "-c", "exit 89"]);
    opts.filter = Some("client/handshake".to_owned());
    let r = run(&opts);
    assert_eq!((r.passed, r.failed, r.unimplemented), (0, 0, 2), "{r:#?}");
    assert!(!r.verdict(), "a run that verified nothing is no pass");

    let mut opts = options(&["/bin/sh", "-c", "exit 0"]);
    opts.filter = Some("server/deny".to_owned());
    let r = run(&opts);
    assert_eq!((r.passed, r.failed), (0, 2), "{r:#?}");
}
