//! Every harness on inputs drawn from fixed seeds: the fuzz oracles as
//! plain tests, so a regression shows under `cargo test` too, without a
//! fuzzing engine. The campaigns themselves run with `cargo fuzz run`.

use arbitrary::{Arbitrary, Unstructured};
use mon_ipc_testkit::Rng;

/// Seeded bytes: a failure names the seed that reproduces it.
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    Rng::new(seed).bytes(n)
}

fn each<T: for<'a> Arbitrary<'a>>(seeds: u64, size: usize, run: impl Fn(&T)) {
    for seed in 0..seeds {
        let data = bytes(seed, size);
        if let Ok(input) = T::arbitrary_take_rest(Unstructured::new(&data)) {
            run(&input);
        }
    }
}

#[test]
fn client_auth() {
    each(2000, 512, mon_ipc_fuzz::client_auth::run);
}

#[test]
fn server_auth() {
    each(2000, 512, mon_ipc_fuzz::server_auth::run);
}

#[test]
fn frame_decoder() {
    each(2000, 1024, mon_ipc_fuzz::frame_decoder::run);
}

#[test]
fn frame_roundtrip() {
    each(2000, 2048, mon_ipc_fuzz::frame_roundtrip::run);
}

#[test]
fn pair() {
    each(2000, 2048, mon_ipc_fuzz::pair::run);
}

#[test]
fn vector_split() {
    for seed in 0..3000 {
        mon_ipc_fuzz::vector_split::run(&bytes(seed, 10));
    }
}
