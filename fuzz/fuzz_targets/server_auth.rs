#![no_main]
//! See `mon_ipc_fuzz::server_auth` for the input and the oracle.

libfuzzer_sys::fuzz_target!(|input: mon_ipc_fuzz::server_auth::Input| {
    mon_ipc_fuzz::server_auth::run(&input);
});
