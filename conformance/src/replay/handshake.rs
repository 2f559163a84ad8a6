//! Replaying a client or server handshake case (the loop: [`super::script`]).

use std::collections::BTreeSet;

use mon_ipc::{
    Ancillary, ClientAuth, ClientConfig, Credentials, Error, Established, ServerAuth, ServerConfig,
    Step,
};

use super::config::{limits, peer_socket, policy, socket};
use super::script::{Party, compare_outcome, replay};
use crate::chunking::Plan;
use crate::model::{Decision, Expected, Leftover, Role, TestCase, TestGroup};
use crate::{Fd, Ledger};

/// Either side, so one loop drives both.
enum Side {
    Client(ClientAuth<Fd>),
    Server(ServerAuth<Fd>),
}

impl Party for Side {
    type Done = Established<Fd>;
    const PROFILE: &'static str = "handshake";
    const DECIDES: bool = true;

    fn step(&mut self, out: &mut Vec<u8>) -> Step {
        match self {
            Side::Client(c) => c.step(out),
            Side::Server(s) => s.step(out),
        }
    }
    fn receive(&mut self, bytes: &[u8], anc: Ancillary<Fd>) {
        let _ = match self {
            Side::Client(c) => c.receive(bytes, anc),
            Side::Server(s) => s.receive(bytes, anc),
        };
    }
    fn receive_eof(&mut self) -> Option<&'static str> {
        let r = match self {
            Side::Client(c) => c.receive_eof(),
            Side::Server(s) => s.receive_eof(),
        };
        r.err().map(Error::code)
    }
    fn state(&self) -> &'static str {
        match self {
            Side::Client(c) => c.state(),
            Side::Server(s) => s.state(),
        }
    }
    fn decide(&mut self, d: Decision) {
        let _ = match (self, d) {
            (Side::Server(s), Decision::Accept) => s.accept(),
            (Side::Server(s), Decision::Deny) => s.deny(),
            (Side::Client(_), _) => Ok(()),
        };
    }
    fn show(bytes: &[u8]) -> String {
        hex::encode(bytes)
    }
    fn finish(self) -> Result<Established<Fd>, &'static str> {
        match self {
            Side::Client(c) => c.finish(),
            Side::Server(s) => s.finish(),
        }
        .map_err(Error::code)
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
) -> Result<(), String> {
    let ledger = Ledger::new();
    let result = run_with(group, case, plan, states, &ledger);
    result.and_then(|()| ledger.check())
}

fn run_with(
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
            return compare_outcome::<Side>(got, &Leftover::default(), &case.expected);
        }
    };
    let side = match group.role {
        Role::ClientHandshake => Side::Client(ClientAuth::new(
            ClientConfig {
                limits: lim,
                mutual: c.mutual.unwrap_or(false),
                socket: socket(c.socket),
                policy: policy(c.credential_policy),
            },
            peer_socket(c, ledger),
        )),
        _ => Side::Server(ServerAuth::new(
            ServerConfig {
                limits: lim,
                socket: socket(c.socket),
                policy: policy(c.credential_policy),
            },
            peer_socket(c, ledger),
        )),
    };
    replay(side, group.role, case, plan, states, ledger)
}
