//! Replaying a client or server handshake case (the loop: [`super::script`]).

use std::collections::BTreeSet;

use mon_ipc::{
    ClientAuth, ClientConfig, Credentials, Error, Established, ServerAuth, ServerConfig,
};

use super::config::{limits, peer_socket, policy, socket};
use super::script::{Profile, compare_outcome, replay};
use crate::chunking::Plan;
use crate::model::{Expected, Leftover, Role, TestCase, TestGroup};
use crate::{Fd, Ledger};

/// The native handshake, either side.
struct Native;

impl Profile for Native {
    type Output = Established<Fd>;
    const NAME: &'static str = "handshake";
    const DECIDES: bool = true;

    fn show(bytes: &[u8]) -> String {
        hex::encode(bytes)
    }
    fn check_done<'d>(
        est: &'d Established<Fd>,
        want: &Expected,
    ) -> Result<(&'d Option<Credentials<Fd>>, &'d mon_ipc::Leftover<Fd>), String> {
        if Some(est.version) != want.version {
            return Err(format!(
                "expected version {:?}, got {}",
                want.version, est.version
            ));
        }
        let lim = (est.limits.max_fds().into(), est.limits.max_payload());
        if want.limits.map(|l| (l.max_fds, l.max_payload)) != Some(lim) {
            return Err(format!("expected limits {:?}, got {lim:?}", want.limits));
        }
        Ok((&est.peer, &est.leftover))
    }
}

pub(super) fn run(
    group: &TestGroup,
    case: &TestCase,
    plan: Plan,
    states: &mut BTreeSet<(Role, &'static str)>,
    ledger: &Ledger,
) -> Result<(), String> {
    let c = &group.config;
    let lim = match limits(c.limits.ok_or("config.limits missing")?) {
        Ok(l) => l,
        Err(e) => {
            let got = Err(Error::from(e).code());
            return compare_outcome::<Native>(got, &Leftover::default(), &case.expected);
        }
    };
    let (mutual, socket, policy) = (
        c.mutual.unwrap_or(false),
        socket(c.socket),
        policy(c.credential_policy),
    );
    match group.role {
        Role::ClientHandshake => {
            let config = ClientConfig {
                limits: lim,
                mutual,
                socket,
                policy,
            };
            let side = ClientAuth::new(config, peer_socket(c, ledger));
            replay::<Native, _>(side, group.role, case, plan, states, ledger)
        }
        _ => {
            let config = ServerConfig {
                limits: lim,
                socket,
                policy,
            };
            let side = ServerAuth::new(config, peer_socket(c, ledger));
            replay::<Native, _>(side, group.role, case, plan, states, ledger)
        }
    }
}
