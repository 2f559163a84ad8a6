//! Inputs the fuzzers found, kept as explicit inputs so they run under
//! `cargo test` forever.

use mon_ipc_fuzz::pair::{Fault, FrameIn, Input};

fn frame(payload: &[u8], nfds: u8) -> FrameIn {
    FrameIn {
        payload: payload.to_vec(),
        nfds,
    }
}

fn quiet(faults: Vec<(u8, Fault)>) -> Input {
    Input {
        seqpacket: false,
        mutual: true,
        deny: false,
        client_limits: (77, 20006),
        server_limits: (1, 20301),
        client_reads: vec![],
        server_reads: vec![],
        faults,
        early: vec![],
        client_frames: vec![],
        server_frames: vec![],
    }
}

/// An fd added to the server's reply: the client's channel fails on its
/// first read (`fds_without_frame`) though no frame was lost. Found when the
/// oracle wrongly demanded that an error lose a frame.
#[test]
fn pair_fd_added_to_the_reply() {
    mon_ipc_fuzz::pair::run(&quiet(vec![(1, Fault::AddFd)]));
}

/// An fd dropped and another added on the same sendmsg: a substitution no
/// receiver can detect. The harness now applies one fault per sendmsg;
/// this input must stay within the oracle.
#[test]
fn pair_drop_and_add_on_one_sendmsg() {
    let mut input = quiet(vec![
        (7, Fault::DropFd),
        (7, Fault::DropFd),
        (7, Fault::AddFd),
    ]);
    input.mutual = false;
    input.client_limits = (16, 4112);
    input.server_limits = (230, 61423);
    input.client_reads = vec![249, 239, 229];
    input.early = vec![frame(&[64, 7, 7, 7, 7], 13)];
    input.client_frames = vec![
        frame(&[239], 77),
        frame(&[], 0),
        frame(&[], 16),
        frame(&[229], 16),
    ];
    input.server_frames = vec![frame(&[], 79), frame(&[], 255), frame(&[], 0)];
    mon_ipc_fuzz::pair::run(&input);
}
