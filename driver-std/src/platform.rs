//! What each supported system provides, as data: which credential policy
//! applies there, and which facilities exist. Pure, so that the policy of
//! every system is tested on Linux (the only system the tests run on).
//!
//! The table in the crate docs and [`platforms`](crate::platforms) say the
//! same in prose, with the man page of each system call.

use mon_ipc::{CredentialPolicy, GID_UNKNOWN, MessageCredentials, Overflow, UID_UNKNOWN};

/// A system the driver is built for.
// One variant is built; all are tested.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum System {
    /// Linux: the reference, and the only system the tests run on.
    Linux,
    /// FreeBSD 13 and later.
    FreeBsd,
    /// macOS.
    MacOs,
    /// NetBSD.
    NetBsd,
    /// OpenBSD.
    OpenBsd,
}

impl System {
    /// The system this crate is built for.
    #[cfg(target_os = "linux")]
    pub(crate) const CURRENT: System = System::Linux;
    /// The system this crate is built for.
    #[cfg(target_os = "freebsd")]
    pub(crate) const CURRENT: System = System::FreeBsd;
    /// The system this crate is built for.
    #[cfg(target_os = "macos")]
    pub(crate) const CURRENT: System = System::MacOs;
    /// The system this crate is built for.
    #[cfg(target_os = "netbsd")]
    pub(crate) const CURRENT: System = System::NetBsd;
    /// The system this crate is built for.
    #[cfg(target_os = "openbsd")]
    pub(crate) const CURRENT: System = System::OpenBsd;

    /// Whether handshake messages carry kernel-attested credentials the
    /// protocol uses: `SCM_CREDENTIALS` (Linux `unix(7)`), `SCM_CREDS` with
    /// a `struct cmsgcred` (FreeBSD `unix(4)`). macOS, NetBSD and OpenBSD:
    /// none, and socket credentials alone decide
    /// ([PROTOCOL.md §2](mon_ipc::spec#2-credentials), step 1).
    pub(crate) const fn message_credentials(self) -> MessageCredentials {
        match self {
            System::Linux | System::FreeBsd => MessageCredentials::Required,
            System::MacOs | System::NetBsd | System::OpenBsd => MessageCredentials::Unavailable,
        }
    }

    /// The credential policy here. `linux_overflow` is Linux's overflow
    /// uid and gid (`/proc/sys/kernel/overflow{uid,gid}`), which mark an
    /// invisible process there. Other systems have no such notion: there
    /// the overflow ids are the unknown ones, which match only triples
    /// that count as absent anyway, so a peer that really runs as uid
    /// 65534 (FreeBSD's `nobody`) with no pid known is not taken for an
    /// invisible one.
    pub(crate) fn policy(self, linux_overflow: Overflow) -> CredentialPolicy {
        let overflow = match self {
            System::Linux => linux_overflow,
            _ => Overflow {
                uid: UID_UNKNOWN,
                gid: GID_UNKNOWN,
            },
        };
        CredentialPolicy {
            message: self.message_credentials(),
            overflow,
        }
    }
}

#[cfg(test)]
mod tests {
    use mon_ipc::{
        Ancillary, Attach, CredentialSource, Limits, PID_UNKNOWN, ServerAuth, ServerConfig,
        SocketCredentials, Step, Ucred,
    };

    use super::*;

    const ALL: [System; 5] = [
        System::Linux,
        System::FreeBsd,
        System::MacOs,
        System::NetBsd,
        System::OpenBsd,
    ];

    fn hello() -> [u8; 16] {
        let mut h = [0u8; 16];
        h[..4].copy_from_slice(b"MON\0");
        h[4] = 1;
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        h[8..12].copy_from_slice(&4096u32.to_le_bytes());
        h
    }

    /// Runs a server of `system`'s policy on one hello read carrying
    /// `message` credentials, with `socket` as the socket credentials:
    /// the peer it accepts, or the code it refuses with.
    fn serve(
        system: System,
        socket: Option<Ucred>,
        message: Option<Ucred>,
    ) -> Result<mon_ipc::Credentials<u32>, &'static str> {
        let config = ServerConfig {
            limits: Limits::new(4, 4096).unwrap(),
            policy: system.policy(Overflow::default()),
            ..ServerConfig::default()
        };
        let sock = SocketCredentials {
            ucred: socket,
            ..SocketCredentials::default()
        };
        let mut s = ServerAuth::<u32>::new(config, sock);
        let anc = Ancillary {
            creds: message,
            ..Ancillary::default()
        };
        s.receive(&hello(), anc).unwrap();
        let mut out = Vec::new();
        match s.step(&mut out) {
            Step::Decide => {}
            Step::Send(Attach::Nothing) => match s.step(&mut out) {
                Step::Failed(e) => return Err(e.code()),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        s.accept().unwrap();
        assert_eq!(s.step(&mut out), Step::Send(Attach::Nothing));
        assert_eq!(s.step(&mut out), Step::Done);
        Ok(s.finish().unwrap().peer.unwrap())
    }

    #[test]
    fn message_credentials_are_required_on_linux_and_freebsd_only() {
        for system in ALL {
            let want = match system {
                System::Linux | System::FreeBsd => MessageCredentials::Required,
                _ => MessageCredentials::Unavailable,
            };
            assert_eq!(
                system.policy(Overflow::default()).message,
                want,
                "{system:?}"
            );
        }
    }

    #[test]
    fn without_message_credentials_the_socket_decides_and_an_unknown_pid_stays_unknown() {
        // macOS when LOCAL_PEERPID fails: uid and gid, no pid.
        let sock = Ucred::from_raw(PID_UNKNOWN, 501, 20);
        for system in [System::MacOs, System::NetBsd, System::OpenBsd] {
            let peer = serve(system, Some(sock), None).unwrap();
            assert_eq!(peer.source, CredentialSource::Socket, "{system:?}");
            assert_eq!(peer.pid(), None);
            assert_eq!(peer.ucred.to_raw(), (PID_UNKNOWN, 501, 20));
            // Nothing at all: refused.
            assert_eq!(serve(system, None, None).unwrap_err(), "no_credentials");
        }
    }

    #[test]
    fn where_message_credentials_exist_a_hello_without_them_is_refused() {
        let sock = Ucred::from_raw(77, 1000, 1000);
        for system in [System::Linux, System::FreeBsd] {
            assert_eq!(
                serve(system, Some(sock), None).unwrap_err(),
                "no_credentials"
            );
            let peer = serve(system, Some(sock), Some(sock)).unwrap();
            assert_eq!(peer.source, CredentialSource::Both);
        }
    }

    #[test]
    fn freebsd_socketpairs_without_socket_credentials_rest_on_the_message() {
        // LOCAL_PEERCRED gave nothing (`None`): the cmsgcred decides, with
        // its pid.
        let msg = Ucred::from_raw(77, 1000, 1000);
        let peer = serve(System::FreeBsd, None, Some(msg)).unwrap();
        assert_eq!(peer.source, CredentialSource::Message);
        assert_eq!(peer.pid().map(|p| p.get()), Some(77));
    }

    #[test]
    fn freebsd_mismatching_effective_ids_are_refused() {
        // Socket credentials (xucred: effective ids) against the message's
        // effective ids: a socket handed to another identity.
        let sock = Ucred::from_raw(77, 1000, 1000);
        let msg = Ucred::from_raw(78, 0, 1000);
        assert_eq!(
            serve(System::FreeBsd, Some(sock), Some(msg)).unwrap_err(),
            "credentials_mismatch"
        );
    }

    #[test]
    fn only_linux_has_invisible_peers() {
        // uid and gid 65534 with no pid: Linux's "cannot map this process";
        // elsewhere (FreeBSD's nobody, LOCAL_PEERPID failing on macOS) an
        // ordinary peer.
        let nobody = Ucred::from_raw(PID_UNKNOWN, 65534, 65534);
        assert_eq!(
            serve(System::Linux, Some(nobody), Some(nobody)).unwrap_err(),
            "no_credentials"
        );
        let peer = serve(System::MacOs, Some(nobody), None).unwrap();
        assert_eq!(peer.ucred, nobody);
        let peer = serve(System::FreeBsd, None, Some(nobody)).unwrap();
        assert_eq!(peer.ucred, nobody);
    }
}
