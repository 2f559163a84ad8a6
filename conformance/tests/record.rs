//! `record` over real sockets: the recorded exchanges load and replay, and
//! cover what the issue asks for (plain, mutual, denied, 0/1/many fds,
//! shared memory, a hang-up mid-frame).

use mon_ipc_conformance::record::{FILE, record};
use mon_ipc_conformance_core::report::Status;
use mon_ipc_conformance_core::verify::verify;

#[test]
fn record_and_replay() {
    let dir = std::env::temp_dir().join(format!("mon-ipc-record-{}", std::process::id()));
    let n = record(&dir).expect("recording over a socketpair");
    assert!(n >= 20, "{n} cases");
    let run = verify(&dir, None).expect("the recorded file loads");
    let failed: Vec<_> = run
        .report
        .results
        .iter()
        .filter(|r| r.status != Status::Passed)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    for want in [
        "plain",
        "mutual",
        "denied",
        "frames-0-1-many-fds",
        "shm-frame",
        "hang-up-mid-frame",
        "seqpacket",
    ] {
        assert!(
            run.report.results.iter().any(|r| r.name.contains(want)),
            "no recorded case for {want}"
        );
    }
    let _ = std::fs::remove_file(dir.join(FILE));
    let _ = std::fs::remove_dir(&dir);
}
