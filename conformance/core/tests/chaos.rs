//! Both cores against each other under arbitrary chunking and faults,
//! seeded so that a failure reproduces; bounded to run in a few seconds.

use arbitrary::Unstructured;
use mon_ipc_conformance_core::chaos::{Scenario, check, run};
use mon_ipc_conformance_core::chunking::SplitMix;

const RUNS: u64 = 20_000;

#[test]
fn both_sides_under_chaos() {
    let mut faulted = 0;
    let mut completed = 0;
    for seed in 0..RUNS {
        let mut rng = SplitMix::new(seed);
        let bytes: Vec<u8> = (0..512).map(|_| rng.next_u64() as u8).collect();
        let mut u = Unstructured::new(&bytes);
        let Ok(s) = Scenario::arbitrary(&mut u) else {
            continue;
        };
        let (obs, ledger) = run(&s, false);
        if let Err(e) = check(&s, &obs, &ledger) {
            panic!("seed {seed}: {e}\nscenario: {s:#?}\nobserved: {obs:#?}");
        }
        faulted += usize::from(obs.first_fault.is_some());
        completed += usize::from(obs.client == "done" && obs.server == "done");
    }
    // The generator must actually exercise both faults and full exchanges.
    assert!(faulted > 2000, "only {faulted} runs hit a fault");
    assert!(
        completed > 2000,
        "only {completed} runs completed the handshake"
    );
}

#[test]
fn fault_free_runs_deliver_everything() {
    for seed in 0..300u64 {
        let mut rng = SplitMix::new(seed ^ 0xABCD);
        let bytes: Vec<u8> = (0..512).map(|_| rng.next_u64() as u8).collect();
        let mut u = Unstructured::new(&bytes);
        let Ok(mut s) = Scenario::arbitrary(&mut u) else {
            continue;
        };
        s.faults.clear();
        s.deny = false;
        let (obs, ledger) = run(&s, false);
        check(&s, &obs, &ledger).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!((obs.client.as_str(), obs.server.as_str()), ("done", "done"));
        assert!(
            obs.channel_errors.is_empty(),
            "seed {seed}: {:?}",
            obs.channel_errors
        );
    }
}
