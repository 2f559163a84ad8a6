//! Every vector's seed decodes, through `arbitrary` itself, to exactly the
//! input it was meant to be: the seed encoder and `arbitrary` agree.

use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use mon_ipc_conformance_core::load::load_dir;
use mon_ipc_conformance_core::model::Role;
use mon_ipc_fuzz::handshake::Script;
use mon_ipc_fuzz::{frame_decoder, frame_roundtrip, seed};

fn decode<'a, T: Arbitrary<'a>>(bytes: &'a [u8]) -> T {
    T::arbitrary_take_rest(Unstructured::new(bytes)).expect("a seed decodes")
}

#[test]
fn every_seed_decodes_to_its_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
    let mut checked = 0;
    for loaded in load_dir(&dir).unwrap() {
        for group in &loaded.file.test_groups {
            for case in &group.tests {
                let id = case.tc_id;
                let Some((_, bytes)) = seed::seed(group, case) else {
                    assert!(group.role.is_dbus(), "tcId {id}: no seed");
                    continue;
                };
                match group.role {
                    Role::ClientHandshake | Role::ServerHandshake => {
                        let want = seed::script(group, case);
                        assert_eq!(decode::<Script>(&bytes), want, "tcId {id}");
                    }
                    Role::FrameDecoder => {
                        let want = seed::decoder_input(group, case);
                        assert_eq!(decode::<frame_decoder::Input>(&bytes), want, "tcId {id}");
                    }
                    Role::FrameEncoder => {
                        let want = seed::roundtrip_input(group, case);
                        assert_eq!(decode::<frame_roundtrip::Input>(&bytes), want, "tcId {id}");
                    }
                    Role::DbusClient | Role::DbusServer => unreachable!("no seed"),
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 300, "only {checked} cases");
}

#[test]
fn seeds_run_clean_through_their_harness() {
    // The vectors are valid input for the harnesses: no oracle fires.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
    for loaded in load_dir(&dir).unwrap() {
        for group in &loaded.file.test_groups {
            for case in &group.tests {
                match group.role {
                    Role::ClientHandshake => {
                        mon_ipc_fuzz::client_auth::run(&seed::script(group, case))
                    }
                    Role::ServerHandshake => {
                        mon_ipc_fuzz::server_auth::run(&seed::script(group, case))
                    }
                    Role::FrameDecoder => frame_decoder::run(&seed::decoder_input(group, case)),
                    Role::FrameEncoder => frame_roundtrip::run(&seed::roundtrip_input(group, case)),
                    // No fuzz target for the D-Bus profile.
                    Role::DbusClient | Role::DbusServer => {}
                }
            }
        }
    }
}
