//! How a side authenticates.

use std::time::Duration;

use mon_ipc::Limits;

/// The blocking handshake's default timeout
/// ([PROTOCOL.md §3.3](mon_ipc::spec#33-the-server), §6).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of the client side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// What this client accepts per frame.
    pub limits: Limits,
    /// Mutual authentication: the server attaches its credentials to the
    /// reply, and the client judges them as the server judges the client's.
    pub mutual: bool,
    /// Limit of the blocking [`client`](crate::client) call; `None` waits
    /// forever. The step-wise API has no clock: its caller runs the timer.
    pub timeout: Option<Duration>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            limits: Limits::default(),
            mutual: false,
            timeout: Some(DEFAULT_TIMEOUT),
        }
    }
}

impl ClientOptions {
    /// With mutual authentication on or off.
    pub fn mutual(mut self, on: bool) -> Self {
        self.mutual = on;
        self
    }

    /// With these limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// With this timeout for the blocking call.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Options of the server side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerOptions {
    /// What this server accepts per frame; also sent in every reply.
    pub limits: Limits,
    /// Limit of the blocking [`server`](crate::server) call; `None` waits
    /// forever.
    pub timeout: Option<Duration>,
    /// Step-wise API only: stop with [`Progress::Decide`] once the client
    /// is authenticated, so the caller can run its own (possibly
    /// asynchronous) policy before the reply. Off: every authenticated
    /// client is accepted, as the manual's C API server does.
    ///
    /// [`Progress::Decide`]: crate::Progress::Decide
    pub decide: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            limits: Limits::default(),
            timeout: Some(DEFAULT_TIMEOUT),
            decide: false,
        }
    }
}

impl ServerOptions {
    /// With these limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// With this timeout for the blocking call.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Pausing for the caller's decision on or off.
    pub fn decide(mut self, on: bool) -> Self {
        self.decide = on;
        self
    }
}
