//! Replaying a D-Bus client or server case (`mon_ipc::dbus`), by the same
//! loop as the native handshake ([`super::script`]). The error compared is
//! the profile's own (a `dbus_` code or a usage code).

use std::collections::BTreeSet;

use mon_ipc::Credentials;
use mon_ipc::dbus::{
    Authenticated, ClientAuth, ClientConfig, ClientMechanism, Mechanism, ServerAuth, ServerConfig,
};

use super::config::{peer_socket, policy};
use super::script::{Profile, replay};
use crate::chunking::Plan;
use crate::model::{DbusMechanism, DbusOutcome, Expected, Role, TestCase, TestGroup};
use crate::{Fd, Ledger};

/// The D-Bus profile, either side.
struct Dbus;

impl Profile for Dbus {
    type Output = Authenticated<Fd>;
    const NAME: &'static str = "D-Bus";
    const DECIDES: bool = false;

    /// The client's `send_*` states are left within the `step` that
    /// produces their line, so `state()` never shows them between calls
    /// (docs/DBUS.md); the line sent names the state that sent it.
    fn passed_through(role: Role, line: &[u8]) -> Option<&'static str> {
        if role != Role::DbusClient {
            return None;
        }
        let name = match line {
            [0, ..] => "send_auth",
            b"DATA\r\n" => "send_data",
            b"CANCEL\r\n" => "send_cancel",
            b"NEGOTIATE_UNIX_FD\r\n" => "send_negotiate",
            b"BEGIN\r\n" => "send_begin",
            _ => return None,
        };
        Some(name)
    }
    fn show(bytes: &[u8]) -> String {
        format!("{:?}", String::from_utf8_lossy(bytes))
    }
    fn check_done<'d>(
        done: &'d Authenticated<Fd>,
        want: &Expected,
    ) -> Result<(&'d Option<Credentials<Fd>>, &'d mon_ipc::Leftover<Fd>), String> {
        let outcome = DbusOutcome {
            mechanism: match done.mechanism {
                Mechanism::External => DbusMechanism::External,
                Mechanism::Anonymous => DbusMechanism::Anonymous,
            },
            guid: done.guid.clone(),
            unix_fd: done.unix_fd,
        };
        if Some(&outcome) != want.dbus.as_ref() {
            return Err(format!("expected {:?}, got {outcome:?}", want.dbus));
        }
        Ok((&done.peer, &done.leftover))
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
    let line = |n: u64| usize::try_from(n).map_err(|_| "config: maxLine too large".to_owned());
    match group.role {
        Role::DbusClient => {
            let d = c.dbus_client.ok_or("config.dbusClient missing")?;
            let side = ClientAuth::new(ClientConfig {
                mechanism: match d.mechanism {
                    DbusMechanism::External => ClientMechanism::External { uid: d.uid },
                    DbusMechanism::Anonymous => ClientMechanism::Anonymous,
                },
                unix_fd: d.unix_fd,
                require_unix_fd: d.require_unix_fd,
                max_line: line(d.max_line)?,
            });
            replay::<Dbus, _>(side, group.role, case, plan, states, ledger)
        }
        Role::DbusServer => {
            let d = c.dbus_server.as_ref().ok_or("config.dbusServer missing")?;
            let guid: [u8; 16] = d
                .guid
                .0
                .as_slice()
                .try_into()
                .map_err(|_| "config.dbusServer.guid is not 16 bytes")?;
            let side = ServerAuth::new(
                ServerConfig {
                    guid,
                    policy: policy(c.credential_policy),
                    unix_fd: d.unix_fd,
                    anonymous: d.allow_anonymous,
                    max_line: line(d.max_line)?,
                    max_failures: d.max_failures,
                },
                peer_socket(c, ledger),
            );
            replay::<Dbus, _>(side, group.role, case, plan, states, ledger)
        }
        other => Err(format!("{} is not a D-Bus role", other.name())),
    }
}
