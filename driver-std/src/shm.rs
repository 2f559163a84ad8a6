//! Shared memory handed over by fd: sealed memfds, checked before mapping
//! (see [`SharedMemory`]).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use mon_ipc::frame::seals;
use mon_ipc::{PeerError, ShmHeader};

use crate::error::{Error, Result};
use crate::sys;
use crate::sys::memfd::Mapping;

/// The name memfds get (visible in `/proc/PID/maps` and `/proc/PID/fd`).
const NAME: &std::ffi::CStr = c"mon-ipc-shm";

/// A region of shared memory: a sealed memfd and, unless its size is 0,
/// its mapping. Dropping it unmaps the region and closes the fd.
///
/// The sender makes a region with [`SharedMemory::create`]: a memfd of the
/// given size, sealed at once against shrinking and growing, and mapped.
/// It fills it, optionally makes it read-only with
/// [`SharedMemory::seal_read_only`], and sends it with
/// [`Channel::send_shm`](crate::Channel::send_shm), which first adds
/// `F_SEAL_SEAL` (no seal can be added or taken away afterwards).
///
/// The receiver ([`Channel::recv_shm`](crate::Channel::recv_shm),
/// [`Message::into_shm`](crate::Message::into_shm) or
/// [`SharedMemory::from_fd`]) checks the fd before it maps anything, in
/// this order: `F_GET_SEALS` works (a memfd: [`Error::ShmNotMemfd`]); the
/// seals include shrink, grow, seal and every seal announced
/// ([`Error::ShmSealsMissing`]); `fstat` gives exactly the announced size
/// ([`Error::ShmSizeMismatch`]); the fd is open for reading
/// ([`Error::ShmNotReadable`]). The core has already checked the announced
/// seals and the size against the receiver's cap. On any failure nothing is
/// mapped and the fd is closed. As the size can no longer change, no access
/// to the mapping can fault with `SIGBUS`.
///
/// # Access
///
/// A shared mapping can change under you at any moment, so the safe API
/// copies: [`read_at`](SharedMemory::read_at) and
/// [`write_at`](SharedMemory::write_at) copy out of and into the region,
/// and [`read_u64`](SharedMemory::read_u64) /
/// [`write_u64`](SharedMemory::write_u64) are single aligned volatile
/// word accesses. All of them are volatile: the region is treated as memory
/// outside the program (like device memory), which another process changes.
/// Writes take `&mut self`, so threads of this process that share a
/// `&SharedMemory` only read. A slice view is safe only when the region is
/// sealed against writing ([`as_bytes`](SharedMemory::as_bytes));
/// otherwise it is [`unsafe`](SharedMemory::as_slice) with a contract.
///
/// ```
/// use mon_ipc_std::SharedMemory;
/// let mut shm = SharedMemory::create(4096)?;
/// shm.write_at(100, b"hello")?;
/// let mut buf = [0u8; 5];
/// shm.read_at(100, &mut buf)?;
/// assert_eq!(&buf, b"hello");
/// shm.seal_read_only()?;
/// assert_eq!(&shm.as_bytes().unwrap()[100..105], b"hello");
/// # Ok::<(), mon_ipc_std::Error>(())
/// ```
#[derive(Debug)]
pub struct SharedMemory {
    fd: OwnedFd,
    size: usize,
    map: Option<Mapping>,
    /// Mapped (or, for size 0, would be mapped) with `PROT_WRITE`.
    writable: bool,
    /// `F_SEAL_WRITE` is on the fd: the contents can never change.
    immutable: bool,
}

impl SharedMemory {
    /// A new region of `size` bytes, all zero, readable and writable:
    /// `memfd_create` with `MFD_CLOEXEC | MFD_ALLOW_SEALING` (and
    /// `MFD_NOEXEC_SEAL` where the kernel has it), `ftruncate`, then
    /// `F_SEAL_SHRINK | F_SEAL_GROW`. `F_SEAL_SEAL` follows when it is
    /// sent, or with [`seal`](SharedMemory::seal) or
    /// [`seal_read_only`](SharedMemory::seal_read_only). Pages take memory
    /// only once written. Size 0 is legal and maps nothing.
    pub fn create(size: usize) -> Result<SharedMemory> {
        let fd = sys::memfd::create(NAME)?;
        sys::memfd::set_len(fd.as_fd(), size as u64)?;
        sys::memfd::add_seals(fd.as_fd(), seals::SHRINK | seals::GROW)?;
        let map = map(fd.as_fd(), size, true)?;
        Ok(SharedMemory {
            fd,
            size,
            map,
            writable: true,
            immutable: false,
        })
    }

    /// Checks a received fd against the announced `size` and `seals` and
    /// maps it (see [`SharedMemory`] for the checks and their
    /// order). On any error nothing is mapped and `fd` is closed.
    ///
    /// The region is mapped writable if the fd is open for writing and
    /// sealed neither with `F_SEAL_WRITE` nor `F_SEAL_FUTURE_WRITE`.
    pub fn from_fd(fd: OwnedFd, announced: ShmHeader) -> Result<SharedMemory> {
        // The announced seals, as the core checks them (no cap: the caller's
        // decoder has applied its own).
        announced.check(u64::MAX)?;
        let have = sys::memfd::seals(fd.as_fd()).map_err(|_| Error::ShmNotMemfd)?;
        let want = seals::REQUIRED | announced.seals;
        if have & want != want {
            return Err(Error::ShmSealsMissing);
        }
        let info = sys::memfd::info(fd.as_fd())?;
        if !info.regular {
            return Err(Error::ShmNotMemfd);
        }
        if info.size != announced.size {
            return Err(Error::ShmSizeMismatch);
        }
        let size = usize::try_from(announced.size)
            .ok()
            .filter(|&s| s <= isize::MAX as usize)
            .ok_or(Error::Protocol(PeerError::ShmTooLarge.into()))?;
        if !info.readable {
            return Err(Error::ShmNotReadable);
        }
        let writable = info.writable && have & (seals::WRITE | seals::FUTURE_WRITE) == 0;
        let map = map(fd.as_fd(), size, writable)?;
        Ok(SharedMemory {
            fd,
            size,
            map,
            writable,
            immutable: have & seals::WRITE != 0,
        })
    }

    /// The region's size in bytes.
    pub fn len(&self) -> usize {
        self.size
    }

    /// Whether the region is 0 bytes long.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Whether this handle may write the region.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// The seals on the fd now (`F_GET_SEALS`), as [`seals`] bits.
    pub fn seals(&self) -> Result<u32> {
        sys::memfd::seals(self.fd.as_fd()).map_err(|e| sys::os("fcntl(F_GET_SEALS)", e))
    }

    /// Adds `F_SEAL_SEAL`: the seals can no longer change, and the region
    /// stays writable for everyone who maps it writable. Nothing happens if
    /// it is already sealed.
    pub fn seal(&self) -> Result<()> {
        if self.seals()? & seals::SEAL == 0 {
            sys::memfd::add_seals(self.fd.as_fd(), seals::SEAL)?;
        }
        Ok(())
    }

    /// Makes the region read-only for good before it is handed over:
    /// unmaps the writable mapping (`F_SEAL_WRITE` is refused while one
    /// exists), adds `F_SEAL_WRITE | F_SEAL_SEAL`, and maps it read-only.
    /// Then [`as_bytes`](SharedMemory::as_bytes) gives a slice. Fails with
    /// `EPERM` if the region is already sealed with `F_SEAL_SEAL`, and with
    /// `EBUSY` if another writable mapping of the file exists (the writable
    /// mapping is then restored).
    pub fn seal_read_only(&mut self) -> Result<()> {
        if self.immutable {
            return Ok(());
        }
        self.map = None;
        if let Err(e) = sys::memfd::add_seals(self.fd.as_fd(), seals::WRITE | seals::SEAL) {
            self.map = map(self.fd.as_fd(), self.size, self.writable)?;
            return Err(e);
        }
        self.writable = false;
        self.immutable = true;
        self.map = map(self.fd.as_fd(), self.size, false)?;
        Ok(())
    }

    /// Copies `buf.len()` bytes at `offset` out of the region.
    /// [`Error::ShmOutOfRange`] if they are not all inside it.
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.range(offset, buf.len())?;
        if let Some(m) = &self.map {
            m.copy_out(offset, buf);
        }
        Ok(())
    }

    /// Copies `data` into the region at `offset`.
    /// [`Error::ShmOutOfRange`] if it does not fit,
    /// [`Error::ShmReadOnly`] if the region is mapped read-only.
    pub fn write_at(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        self.range(offset, data.len())?;
        if !self.writable {
            return Err(Error::ShmReadOnly);
        }
        if let Some(m) = &mut self.map {
            m.copy_in(offset, data);
        }
        Ok(())
    }

    /// One volatile, aligned 8-byte read (native byte order).
    /// [`Error::ShmOutOfRange`] unless `offset` is a multiple of 8 and the
    /// word is inside the region.
    pub fn read_u64(&self, offset: usize) -> Result<u64> {
        self.word(offset)?;
        Ok(self.map.as_ref().map_or(0, |m| m.read_u64(offset)))
    }

    /// One volatile, aligned 8-byte write (native byte order); errors as
    /// for [`read_u64`](SharedMemory::read_u64) and
    /// [`write_at`](SharedMemory::write_at).
    pub fn write_u64(&mut self, offset: usize, value: u64) -> Result<()> {
        self.word(offset)?;
        if !self.writable {
            return Err(Error::ShmReadOnly);
        }
        if let Some(m) = &mut self.map {
            m.write_u64(offset, value);
        }
        Ok(())
    }

    /// The mapping, if the region is not empty.
    pub(crate) fn mapping(&self) -> Option<&Mapping> {
        self.map.as_ref()
    }

    /// Whether `F_SEAL_WRITE` is on the fd (checked when the region was
    /// sealed or received; a seal is never removed).
    pub(crate) fn is_immutable(&self) -> bool {
        self.immutable
    }

    /// The 12-byte header announcing this region: its size and its seals
    /// now.
    pub fn header(&self) -> Result<ShmHeader> {
        Ok(ShmHeader {
            size: self.size as u64,
            seals: self.seals()?,
        })
    }

    fn range(&self, offset: usize, len: usize) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(Error::ShmOutOfRange),
        }
    }

    fn word(&self, offset: usize) -> Result<()> {
        if offset % 8 != 0 {
            return Err(Error::ShmOutOfRange);
        }
        self.range(offset, 8)
    }
}

impl AsFd for SharedMemory {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Maps a file of `size` bytes, or nothing if it is empty.
fn map(fd: BorrowedFd<'_>, size: usize, writable: bool) -> Result<Option<Mapping>> {
    if size == 0 {
        return Ok(None);
    }
    Mapping::new(fd, size, writable).map(Some)
}
