//! The oracle of a chaos run.

use super::run::Observed;
use super::scenario::Scenario;
use crate::Ledger;

/// The oracle. `Err` names what went wrong.
pub fn check(s: &Scenario, obs: &Observed, ledger: &Ledger) -> Result<(), String> {
    ledger.check()?;
    if let Some(b) = &obs.bound_broken {
        return Err(format!("bound broken: {b}"));
    }
    let fault_in_handshake = obs.first_fault.is_some_and(|f| f < obs.handshake_msgs);
    if !fault_in_handshake {
        let want = if s.deny {
            ("refused_denied", "denied")
        } else {
            ("done", "done")
        };
        if (obs.client.as_str(), obs.server.as_str()) != want {
            return Err(format!(
                "without a fault in the handshake the sides disagree: client {}, server {} (want {want:?})",
                obs.client, obs.server
            ));
        }
        if obs.limits.0 != obs.limits.1 {
            return Err(format!("negotiated limits differ: {:?}", obs.limits));
        }
    }
    for from_client in [false, true] {
        let sent: Vec<_> = obs.sent.iter().filter(|f| f.0 == from_client).collect();
        let got: Vec<_> = obs.received.iter().filter(|f| f.0 == from_client).collect();
        let clean = obs
            .clean_frames
            .iter()
            .find(|c| c.0 == from_client)
            .map_or(0, |c| c.1);
        let errored = obs.channel_errors.iter().any(|e| e.0 == from_client);
        if obs.first_fault.is_none() && (got.len() != sent.len() || errored) {
            return Err(format!(
                "no fault, yet {} of {} frames arrived (errors {:?})",
                got.len(),
                sent.len(),
                obs.channel_errors
            ));
        }
        for (i, g) in got.iter().enumerate().take(clean) {
            if sent.get(i) != Some(g) {
                return Err(format!(
                    "frame {i} sent before any fault arrived altered: {g:?} vs {:?}",
                    sent.get(i)
                ));
            }
        }
        if got.len() > sent.len() {
            return Err(format!("{} frames arrived, {} sent", got.len(), sent.len()));
        }
    }
    Ok(())
}
