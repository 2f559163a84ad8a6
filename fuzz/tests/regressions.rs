//! Inputs the fuzzers found, kept so they run under `cargo test` forever,
//! and every minimised artifact kept under `fuzz/regressions/TARGET/`.

use std::fs;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
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

#[test]
fn minimised_artifacts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let Ok(targets) = fs::read_dir(&dir) else {
        return; // none kept yet
    };
    for target in targets.flatten() {
        for file in fs::read_dir(target.path()).unwrap().flatten() {
            let data = fs::read(file.path()).unwrap();
            let u = || Unstructured::new(&data);
            match target.file_name().to_str().unwrap() {
                "pair" => mon_ipc_fuzz::pair::run(&Input::arbitrary_take_rest(u()).unwrap()),
                "client_auth" => {
                    mon_ipc_fuzz::client_auth::run(&Arbitrary::arbitrary_take_rest(u()).unwrap())
                }
                "server_auth" => {
                    mon_ipc_fuzz::server_auth::run(&Arbitrary::arbitrary_take_rest(u()).unwrap())
                }
                "frame_decoder" => {
                    mon_ipc_fuzz::frame_decoder::run(&Arbitrary::arbitrary_take_rest(u()).unwrap())
                }
                "frame_roundtrip" => mon_ipc_fuzz::frame_roundtrip::run(
                    &Arbitrary::arbitrary_take_rest(u()).unwrap(),
                ),
                "vector_split" => mon_ipc_fuzz::vector_split::run(&data),
                other => panic!("unknown target directory {other}"),
            }
        }
    }
}
