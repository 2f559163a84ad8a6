#![no_main]
//! See `mon_ipc_fuzz::vector_split` for the input and the oracle.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mon_ipc_fuzz::vector_split::run(data);
});
