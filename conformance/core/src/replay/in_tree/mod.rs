//! The in-tree core as an [`Implementation`]: the replay calls it
//! directly, handing it the case's fd tokens, so the ledger sees every fd
//! the core drops or delivers.

mod codec;
mod config;
mod party;

use crate::Fd;
use crate::replay::subject::{
    Answer, Code, FrameDecoder, FrameEncoder, Implementation, Party, Setup,
};

pub use config::{limits, policy};

/// The in-tree core (`mon_ipc`), called directly.
#[derive(Debug, Clone, Copy, Default)]
pub struct InTree;

impl InTree {
    /// [`Implementation::party`], owning its side (no borrow of `self`).
    pub fn party(setup: &Setup<'_>, pidfd: Option<Fd>) -> Answer<Result<Box<dyn Party>, Code>> {
        party::party(setup.role, setup.config, pidfd)
    }

    /// [`Implementation::decoder`], owning its decoder.
    pub fn decoder(setup: &Setup<'_>) -> Answer<Result<Box<dyn FrameDecoder>, Code>> {
        codec::decoder(setup)
    }

    /// [`Implementation::encoder`], owning its encoder.
    pub fn encoder(setup: &Setup<'_>) -> Answer<Result<Box<dyn FrameEncoder>, Code>> {
        codec::encoder(setup)
    }
}

impl Implementation for InTree {
    fn party(
        &mut self,
        setup: &Setup<'_>,
        pidfd: Option<Fd>,
    ) -> Answer<Result<Box<dyn Party + '_>, Code>> {
        InTree::party(setup, pidfd)
    }

    fn decoder(&mut self, setup: &Setup<'_>) -> Answer<Result<Box<dyn FrameDecoder + '_>, Code>> {
        InTree::decoder(setup)
    }

    fn encoder(&mut self, setup: &Setup<'_>) -> Answer<Result<Box<dyn FrameEncoder + '_>, Code>> {
        InTree::encoder(setup)
    }
}
