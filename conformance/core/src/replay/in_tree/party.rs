//! The core's handshake sides (native and D-Bus) as a [`Party`]: one
//! wrapper over the core's own [`Handshake`] trait, which drives either.

use mon_ipc::dbus::{
    self, ClientConfig as DbusClientConfig, ClientMechanism, Mechanism,
    ServerConfig as DbusServerConfig,
};
use mon_ipc::{
    Ancillary, Attach, ClientAuth, ClientConfig, Credentials, Error, ErrorCode, Established,
    Handshake, ServerAuth, ServerConfig, Step,
};

use super::config::{limits, peer_socket, policy, socket, ucred};
use crate::Fd;
use crate::model::{Config, Creds, DbusMechanism, DbusOutcome, Decision, MisuseCall, Role};
use crate::replay::subject::{
    Answer, AuthPeer, Authenticated, Code, Party, PartyStep, Read, Received, Stop,
};

/// A side of the core (native or D-Bus, client or server).
struct Side<H>(H);

/// What a side's `finish` gives, in the vectors' terms.
trait Outcome {
    fn outcome(self) -> Authenticated;
}

impl Outcome for Established<Fd> {
    fn outcome(self) -> Authenticated {
        Authenticated {
            version: Some(self.version),
            limits: Some(crate::model::WireLimits {
                max_fds: self.limits.max_fds().into(),
                max_payload: self.limits.max_payload(),
            }),
            dbus: None,
            peer: self.peer.map(auth_peer),
            leftover: received(self.leftover),
        }
    }
}

impl Outcome for dbus::Authenticated<Fd> {
    fn outcome(self) -> Authenticated {
        Authenticated {
            version: None,
            limits: None,
            dbus: Some(DbusOutcome {
                mechanism: match self.mechanism {
                    Mechanism::External => DbusMechanism::External,
                    Mechanism::Anonymous => DbusMechanism::Anonymous,
                },
                guid: self.guid,
                unix_fd: self.unix_fd,
            }),
            peer: self.peer.map(auth_peer),
            leftover: received(self.leftover),
        }
    }
}

fn auth_peer(c: Credentials<Fd>) -> AuthPeer {
    let (pid, uid, gid) = c.ucred.to_raw();
    AuthPeer {
        creds: Creds { pid, uid, gid },
        source: c.source.name().to_owned(),
        pidfd: c.pidfd,
    }
}

fn received(l: mon_ipc::Leftover<Fd>) -> Received {
    Received {
        bytes: l.bytes,
        fds: l.fds,
        eof: l.eof,
    }
}

fn code<E: ErrorCode>(e: E) -> Code {
    e.code().to_owned()
}

impl<H> Party for Side<H>
where
    H: Handshake<Fd>,
    H::Output: Outcome,
{
    fn receive(&mut self, read: Read<'_>) -> Answer<()> {
        let anc = Ancillary {
            creds: read.creds.map(ucred),
            pidfd: read.pidfd,
            fds: read.fds,
            ctrunc: read.ctrunc,
            trunc: read.trunc,
        };
        let _ = self.0.receive(read.bytes, anc); // sticky: `step` reports it
        Ok(())
    }

    fn receive_eof(&mut self) -> Answer<Option<Code>> {
        Ok(self.0.receive_eof().err().map(code))
    }

    fn step(&mut self) -> Answer<PartyStep> {
        let mut out = Vec::new();
        Ok(match self.0.step(&mut out) {
            Step::Send(a) => PartyStep::Send {
                bytes: out,
                own_credentials: a == Attach::OwnCredentials,
            },
            Step::NeedInput => PartyStep::NeedInput,
            Step::Decide => PartyStep::Decide,
            Step::Done => PartyStep::Done,
            Step::Failed(e) => PartyStep::Failed(code(e)),
        })
    }

    fn decide(&mut self, decision: Decision) -> Answer<()> {
        let _ = match decision {
            Decision::Accept => self.0.accept(),
            Decision::Deny => self.0.deny(),
        };
        Ok(())
    }

    fn misuse(&mut self, call: MisuseCall) -> Answer<Option<Code>> {
        match call {
            MisuseCall::ReceiveEof => self.receive_eof(),
            other => Err(format!("{other:?} is not a handshake call").into()),
        }
    }

    fn finish(self: Box<Self>) -> Answer<Result<Authenticated, Code>> {
        Ok(self.0.finish().map(Outcome::outcome).map_err(code))
    }

    fn state(&self) -> Option<&'static str> {
        Some(self.0.state())
    }
}

/// The side `role` configured by `c`, or the code of a configuration the
/// core refuses.
pub(super) fn party(
    role: Role,
    c: &Config,
    pidfd: Option<Fd>,
) -> Answer<Result<Box<dyn Party>, Code>> {
    let line = |n: u64| usize::try_from(n).map_err(|_| Stop::from("config: maxLine too large"));
    Ok(Ok(match role {
        Role::DbusClient => {
            let d = c.dbus_client.ok_or("config.dbusClient missing")?;
            Box::new(Side(dbus::ClientAuth::new(DbusClientConfig {
                mechanism: match d.mechanism {
                    DbusMechanism::External => ClientMechanism::External { uid: d.uid },
                    DbusMechanism::Anonymous => ClientMechanism::Anonymous,
                },
                unix_fd: d.unix_fd,
                require_unix_fd: d.require_unix_fd,
                max_line: line(d.max_line)?,
            })))
        }
        Role::DbusServer => {
            let d = c.dbus_server.as_ref().ok_or("config.dbusServer missing")?;
            let guid: [u8; 16] = d
                .guid
                .0
                .as_slice()
                .try_into()
                .map_err(|_| "config.dbusServer.guid is not 16 bytes")?;
            let config = DbusServerConfig {
                guid,
                policy: policy(c.credential_policy),
                unix_fd: d.unix_fd,
                anonymous: d.allow_anonymous,
                max_line: line(d.max_line)?,
                max_failures: d.max_failures,
            };
            Box::new(Side(dbus::ServerAuth::new(config, peer_socket(c, pidfd))))
        }
        Role::ClientHandshake | Role::ServerHandshake => {
            let lim = match limits(c.limits.ok_or("config.limits missing")?) {
                Ok(l) => l,
                Err(e) => return Ok(Err(code(Error::from(e)))),
            };
            let (socket, policy) = (socket(c.socket), policy(c.credential_policy));
            if role == Role::ClientHandshake {
                let config = ClientConfig {
                    limits: lim,
                    mutual: c.mutual.unwrap_or(false),
                    socket,
                    policy,
                };
                Box::new(Side(ClientAuth::new(config, peer_socket(c, pidfd))))
            } else {
                let config = ServerConfig {
                    limits: lim,
                    socket,
                    policy,
                };
                Box::new(Side(ServerAuth::new(config, peer_socket(c, pidfd))))
            }
        }
        other => return Err(format!("{} is not a handshake role", other.name()).into()),
    }))
}
