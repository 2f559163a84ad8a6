#![no_main]
//! See `mon_ipc_fuzz::frame_decoder` for the input and the oracle.

libfuzzer_sys::fuzz_target!(|input: mon_ipc_fuzz::frame_decoder::Input| {
    mon_ipc_fuzz::frame_decoder::run(&input);
});
