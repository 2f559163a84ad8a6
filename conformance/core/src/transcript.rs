//! The canonical exchanges, run through the in-memory pair without faults
//! and rendered one line per event, for the `insta` snapshots: a change in
//! behaviour shows up as a reviewed diff of a readable transcript.

use mon_ipc::Limits;

use crate::chaos::{FrameSpec, Scenario, run};

/// A plain scenario: default limits, whole reads, no faults.
pub fn plain() -> Scenario {
    Scenario {
        seqpacket: false,
        mutual: false,
        deny: false,
        client_limits: Limits::default(),
        server_limits: Limits::default(),
        reads: vec![1 << 16],
        frames: Vec::new(),
        faults: Vec::new(),
    }
}

/// Frames of `n` fds each, alternating directions.
pub fn frames(spec: &[(bool, &[u8], usize)]) -> Vec<FrameSpec> {
    spec.iter()
        .map(|(c, p, n)| FrameSpec {
            from_client: *c,
            payload: p.to_vec(),
            nfds: *n,
        })
        .collect()
}

/// The named canonical exchanges.
pub fn canonical() -> Vec<(&'static str, Scenario)> {
    vec![
        ("plain_handshake", plain()),
        (
            "mutual_handshake",
            Scenario {
                mutual: true,
                ..plain()
            },
        ),
        (
            "denied_client",
            Scenario {
                deny: true,
                ..plain()
            },
        ),
        (
            "frames_0_1_many_fds",
            Scenario {
                frames: frames(&[(true, b"none", 0), (false, b"one", 1), (true, b"many", 3)]),
                ..plain()
            },
        ),
        (
            "seqpacket_frames",
            Scenario {
                seqpacket: true,
                frames: frames(&[(true, b"rec", 1), (false, b"", 0)]),
                ..plain()
            },
        ),
        (
            "short_reads",
            Scenario {
                reads: vec![5, 3],
                frames: frames(&[(true, b"split", 0)]),
                ..plain()
            },
        ),
        (
            "peer_hangs_up_mid_frame",
            Scenario {
                frames: frames(&[(true, b"complete", 0), (true, b"cut short", 0)]),
                faults: vec![crate::chaos::Fault::HangUp { msg: 3, keep: 10 }],
                ..plain()
            },
        ),
    ]
}

/// The transcript of a scenario, one line per event.
pub fn render(s: &Scenario) -> String {
    let (obs, ledger) = run(s, true);
    let mut out = obs.log.join("\n");
    out.push('\n');
    match ledger.check() {
        Ok(()) => out.push_str("every fd delivered or closed exactly once\n"),
        Err(e) => out.push_str(&format!("{e}\n")),
    }
    out
}
