#![no_main]
//! See `mon_ipc_fuzz::client_auth` for the input and the oracle.

libfuzzer_sys::fuzz_target!(|input: mon_ipc_fuzz::client_auth::Input| {
    mon_ipc_fuzz::client_auth::run(&input);
});
