#![no_main]
//! See `mon_ipc_fuzz::frame_roundtrip` for the input and the oracle.

libfuzzer_sys::fuzz_target!(|input: mon_ipc_fuzz::frame_roundtrip::Input| {
    mon_ipc_fuzz::frame_roundtrip::run(&input);
});
