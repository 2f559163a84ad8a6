#![no_main]
//! See `mon_ipc_fuzz::pair` for the input and the oracle.

libfuzzer_sys::fuzz_target!(|input: mon_ipc_fuzz::pair::Input| {
    mon_ipc_fuzz::pair::run(&input);
});
