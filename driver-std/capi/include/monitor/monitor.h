/*
 * monitor/monitor.h: the Mercury Monitor IPC API (local authentication
 * and file-descriptor passing over UNIX domain sockets), implemented by
 * mon-ipc (libmonitor.so / libmonitor.a). C99. Beyond the manual: shared
 * memory regions handed over by fd (mon_shm, mon_ipc_send_shm,
 * mon_ipc_recv_shm).
 *
 * The wire protocol is docs/PROTOCOL.md of mon-ipc; the stable code
 * strings of the error codes below are its section 5.
 *
 * File descriptors: every `int fd` given to this API is the caller's. The
 * library never closes it; the caller keeps it open during each call that
 * is given it and, for a handshake, until *_end. An fd received by
 * mon_ipc_recv_fd belongs to the caller and has FD_CLOEXEC set.
 *
 * Server sockets: whoever creates the socket the server reads from turns
 * SO_PASSCRED on where no hello can slip past it: on the listening socket,
 * or on the server's end of a socketpair before the other end is handed
 * out (mon_ipc_auth_server_init turns it on if it is not, but a hello
 * without kernel credentials that arrived before is then refused).
 * mon_ipc_listen and mon_ipc_prepare_listener (Authentication) do it.
 *
 * Threads: every function may be called from any thread; one handshake
 * state must not be stepped by two threads at once (the second call gets
 * MON_E_INVALID_ARGUMENT).
 */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Credentials                                                         */

/* A process's credentials: pid, effective uid, effective gid. */
typedef struct {
    pid_t pid; /* the process ID */
    uid_t uid; /* the effective user ID */
    gid_t gid; /* the effective group ID */
} mon_ipc_creds;

/* Value used when the process ID could not be determined. */
#define MON_IPC_PID_UNKNOWN ((pid_t)0)
/* Value used when the group ID could not be determined. */
#define MON_IPC_GID_UNKNOWN ((gid_t)-1)
/* Value used when the user ID could not be determined (an extension). */
#define MON_IPC_UID_UNKNOWN ((uid_t)-1)

/* ------------------------------------------------------------------ */
/* Return codes                                                        */

/* 0 is success. Positive: call the step function again. */
#define MON_CONTINUE   1 /* progress was made: call again */
#define MON_WANT_READ  2 /* non-blocking fd: call again once it is readable */
#define MON_WANT_WRITE 3 /* non-blocking fd: call again once it is writable */

/*
 * Negative: an error. The numbers are fixed (ABI); mon_ipc_strerror()
 * gives each one's stable code string, shown in the comments.
 * -1 .. -99: the C API and the operating system.
 */
#define MON_E_INVALID_ARGUMENT   (-1)  /* "invalid_argument": NULL pointer, negative or closed fd
                                          (errno EBADF), unknown, ended, busy or other-role
                                          state, or a step on another fd than init's */
#define MON_E_IO                 (-2)  /* "io": a system call failed; see mon_ipc_last_errno() */
#define MON_E_TIMEOUT            (-3)  /* "timeout": a blocking send/recv passed its mon_ipc_set_timeout
                                          deadline; the partial frame is kept: call again. A
                                          blocking handshake step passed the handshake's deadline
                                          (sticky: close the socket) */
#define MON_E_CLOSED             (-4)  /* "closed": mon_ipc_recv_fd: the peer closed at a frame boundary */
#define MON_E_UNSUPPORTED_SOCKET (-5)  /* "unsupported_socket": not an AF_UNIX stream/seqpacket socket */
#define MON_E_TOO_MANY_FDS       (-6)  /* "too_many_fds": more than 253 fds in one sendmsg */
#define MON_E_KERNEL_TOO_OLD     (-7)  /* "kernel_too_old" */
#define MON_E_PEER_GONE          (-8)  /* "peer_gone" */
#define MON_E_NO_MEMORY          (-9)  /* "no_memory" */
#define MON_E_INTERNAL           (-10) /* "internal": a bug in the library (caught panic) */
/* Shared-memory regions the driver refused before mapping (PROTOCOL.md 4.2). */
#define MON_E_SHM_NOT_MEMFD      (-11) /* "shm_not_memfd": F_GET_SEALS fails: not a memfd */
#define MON_E_SHM_SEALS_MISSING  (-12) /* "shm_seals_missing": required or announced seals absent */
#define MON_E_SHM_SIZE_MISMATCH  (-13) /* "shm_size_mismatch": fstat size is not the announced one */
#define MON_E_SHM_NOT_READABLE   (-14) /* "shm_not_readable": the fd is not open for reading */
#define MON_E_SHM_EXPECTED       (-15) /* "shm_expected": a data frame where a region was expected */
#define MON_E_SHM_OUT_OF_RANGE   (-16) /* "shm_out_of_range": an access beyond the region */
#define MON_E_SHM_READ_ONLY      (-17) /* "shm_read_only": a write to a read-only region */
/* The C API's resumable sends. */
#define MON_E_SEND_PENDING       (-18) /* "send_pending": mon_ipc_send_fd / mon_ipc_send_shm with
                                          another buffer or fd while part of an earlier frame is
                                          unsent: call again with the same arguments */

/* -100 .. -199: the peer misbehaved, failed authentication or refused us
   (PROTOCOL.md section 5; the string is the macro's suffix in lower case). */
#define MON_E_EOF_BEFORE_HELLO             (-100)
#define MON_E_HELLO_FDS                    (-101)
#define MON_E_HELLO_SHORT                  (-102)
#define MON_E_HELLO_RECORD_SIZE            (-103)
#define MON_E_HELLO_BAD_MAGIC              (-104)
#define MON_E_HELLO_UNSUPPORTED_VERSION    (-105)
#define MON_E_HELLO_RESERVED               (-106)
#define MON_E_HELLO_LIMIT                  (-107)
#define MON_E_HELLO_TRAILING_BYTES         (-108)
#define MON_E_NO_CREDENTIALS               (-109)
#define MON_E_CREDENTIALS_MISMATCH         (-110)
#define MON_E_DENIED                       (-111)
#define MON_E_REPLY_SHORT                  (-112)
#define MON_E_REPLY_RECORD_SIZE            (-113)
#define MON_E_REPLY_BAD_MAGIC              (-114)
#define MON_E_REPLY_RESERVED               (-115)
#define MON_E_REPLY_BAD_STATUS             (-116)
#define MON_E_REPLY_BAD_VERSION            (-117)
#define MON_E_REPLY_LIMIT                  (-118)
#define MON_E_REFUSED_DENIED               (-119)
#define MON_E_REFUSED_VERSION              (-120)
#define MON_E_REFUSED_NO_CREDENTIALS       (-121)
#define MON_E_REFUSED_MALFORMED            (-122)
#define MON_E_REFUSED_CREDENTIALS_MISMATCH (-123)
#define MON_E_CONTROL_TRUNCATED            (-124)
#define MON_E_FRAME_TOO_LARGE              (-125)
#define MON_E_FRAME_TOO_MANY_FDS           (-126)
#define MON_E_FRAME_BAD_KIND               (-127)
#define MON_E_FRAME_RESERVED               (-128)
#define MON_E_FDS_WITHOUT_FRAME            (-129)
#define MON_E_FDS_MISPLACED                (-130)
#define MON_E_FD_COUNT_MISMATCH            (-131)
#define MON_E_FDS_MISSING                  (-132)
#define MON_E_RECORD_TRUNCATED             (-133)
#define MON_E_RECORD_SIZE                  (-134)
#define MON_E_EOF_IN_FRAME                 (-135)
#define MON_E_SHM_FD_COUNT                 (-136)
#define MON_E_SHM_SHORT                    (-137)
#define MON_E_SHM_SEALS                    (-138)
#define MON_E_SHM_TOO_LARGE                (-139)

/* -200 .. -299: the API was used against its contract (PROTOCOL.md 5). */
#define MON_E_UNEXPECTED_INPUT    (-200)
#define MON_E_NO_DECISION_PENDING (-201)
#define MON_E_NOT_FINISHED        (-202)
#define MON_E_LIMIT_OUT_OF_RANGE  (-203)
#define MON_E_SEND_TOO_MANY_FDS   (-204)
#define MON_E_SEND_TOO_LARGE      (-205)
#define MON_E_SEND_SHM_FD_COUNT   (-206)
#define MON_E_BUFFER_TAMPERED     (-207)
#define MON_E_FRAMES_PENDING      (-208)
#define MON_E_ADVANCE_PAST_END    (-209)

/* The stable code string of a return code ("ok", "continue", "io",
   "hello_bad_magic", ...), or "unknown". Static: never free it. */
const char *mon_ipc_strerror(int code);

/* The errno of this thread's last call that failed with MON_E_IO or
   MON_E_INVALID_ARGUMENT; 0 if it had none. Failing calls set errno too. */
int mon_ipc_last_errno(void);

/* ------------------------------------------------------------------ */
/* Buffers                                                             */

/* A growable byte buffer. */
typedef struct mon_buffer mon_buffer;

/* A new empty buffer, or NULL if memory ran out. */
mon_buffer *mon_buffer_new(void);
/* Frees a buffer; NULL is ignored. */
void mon_buffer_free(mon_buffer *buf);
/* Its bytes (valid until it next changes); NULL only for a NULL buffer. */
const uint8_t *mon_buffer_data(const mon_buffer *buf);
/* Its length; 0 for NULL. */
size_t mon_buffer_length(const mon_buffer *buf);
/* Appends len bytes (data may be NULL if len is 0, and may point into
   buf): 0, MON_E_INVALID_ARGUMENT or MON_E_NO_MEMORY. */
int mon_buffer_append(mon_buffer *buf, const void *data, size_t len);
/* Empties it, keeping its memory; NULL is ignored. */
void mon_buffer_clear(mon_buffer *buf);

/* ------------------------------------------------------------------ */
/* Authentication                                                      */

/*
 * Initialize local authentication on the client side of the connected
 * socket fd. Returns MON_CONTINUE with *state set to an opaque state (call
 * mon_ipc_auth_client_step), or an error code with *state set to NULL.
 * (0, "no further action needed", is never returned by this
 * implementation: authentication always takes steps.)
 */
int mon_ipc_auth_client_init(int fd, void **state);

/*
 * Performs the next step of client authentication. 0: authenticated.
 * MON_CONTINUE: call again. MON_WANT_READ / MON_WANT_WRITE (non-blocking
 * fd): call again once fd is readable / writable. Negative: failed; the
 * error is sticky (later steps return it again); close the socket. After
 * 0, further steps return 0. fd must be the fd given to init.
 *
 * Blocking fd: where a step must wait for the peer it waits (with poll),
 * but never past the handshake's deadline: the fd's mon_ipc_set_timeout
 * when init was called, else 10 s, counted from init. Then
 * MON_E_TIMEOUT, sticky. A non-blocking fd never waits (your
 * poll loop runs the clock, as for every MON_WANT_*).
 */
int mon_ipc_auth_client_step(int fd, void *state);

/* Frees the client state. NULL, an ended state and a server state are
   ignored (never a crash). */
void mon_ipc_auth_client_end(void *state);

/*
 * Initialize local authentication on the server side of fd (accepted, or
 * the server end of a socketpair). creds must stay valid until the
 * authentication succeeds; it then holds the client's pid, effective uid
 * and effective gid (MON_IPC_PID_UNKNOWN where the kernel gave no pid).
 * Returns MON_CONTINUE with *state set, or an error code with *state NULL.
 * Every authenticated client is accepted.
 */
int mon_ipc_auth_server_init(int fd, mon_ipc_creds *creds, void **state);

/* Performs the next step of server authentication; returns as
   mon_ipc_auth_client_step (and MON_DECIDE for a state of
   mon_ipc_auth_server_init_decide, below). On 0, *creds (from init) is
   filled. */
int mon_ipc_auth_server_step(int fd, void *state);

/* Frees the server state. NULL, an ended state and a client state are
   ignored (never a crash). */
void mon_ipc_auth_server_end(void *state);

/*
 * Beyond the manual (parity with the Rust API): mutual authentication,
 * the server's own accept/deny decision, and the listening socket.
 */

/*
 * Initialize a mutual authentication on the client side of the connected
 * socket fd: as mon_ipc_auth_client_init (step with
 * mon_ipc_auth_client_step, free with mon_ipc_auth_client_end), and the
 * client also asks for the server's credentials, which the kernel
 * attaches to the reply (SO_PASSCRED is turned on on fd before the hello
 * is sent). They are checked as the server checks the client's: a reply
 * without them, or with ids that contradict the socket's SO_PEERCRED,
 * fails the step. When the step returns 0, *server_creds holds the
 * server's pid, effective uid and effective gid (sentinels as for the
 * server's creds); judging them is the caller's: if it does not trust
 * the server, it closes the socket. server_creds must stay valid until
 * the authentication ends; NULL is MON_E_INVALID_ARGUMENT. Any server of
 * this library answers a mutual client (no server-side change).
 */
int mon_ipc_auth_client_init_mutual(int fd, mon_ipc_creds *server_creds, void **state);

/* mon_ipc_auth_server_step of a state made by
   mon_ipc_auth_server_init_decide: the client is authenticated, *creds
   holds its credentials; call mon_ipc_auth_server_accept or
   mon_ipc_auth_server_deny, then step again. */
#define MON_DECIDE 4 /* "decide" */

/*
 * Initialize the server side as mon_ipc_auth_server_init, except that the
 * server decides whether to accept the client (an authorization hook):
 * once the client is authenticated, mon_ipc_auth_server_step returns
 * MON_DECIDE with *creds filled (its pid, euid and egid as the kernel
 * attested them). The caller then calls mon_ipc_auth_server_accept or
 * mon_ipc_auth_server_deny (at once, or later: stepping again before
 * deciding returns MON_DECIDE again) and goes on stepping:
 *   accepted: the steps send the reply and end with 0 (*creds as above);
 *   denied:   the steps send the refusal, then fail with MON_E_DENIED;
 *             the client's step fails with MON_E_REFUSED_DENIED.
 * mon_ipc_auth_server_init keeps the manual's behaviour: every
 * authenticated client is accepted, MON_DECIDE never comes.
 */
int mon_ipc_auth_server_init_decide(int fd, mon_ipc_creds *creds, void **state);

/*
 * Accept / deny the client after mon_ipc_auth_server_step returned
 * MON_DECIDE: 0, then step on. accept first looks once more, without
 * blocking, for input the client sent while waiting for the answer: such
 * a client is refused after all (PROTOCOL.md 3.3), and the steps fail.
 * With no decision pending (a state of mon_ipc_auth_server_init, before
 * MON_DECIDE, after the decision or after success):
 * MON_E_NO_DECISION_PENDING, and the handshake fails with it (sticky, as
 * every error); on a handshake that failed already: its error.
 * MON_E_INVALID_ARGUMENT as for the step (unknown or client state,
 * another fd than init's).
 */
int mon_ipc_auth_server_accept(int fd, void *state);
int mon_ipc_auth_server_deny(int fd, void *state);

/*
 * The server's listening socket. Linux attaches credentials to a message
 * when it is sent, and only if the receiving socket has SO_PASSCRED on at
 * that moment: a hello sent before the server turned it on arrives
 * without them and is refused (MON_E_NO_CREDENTIALS / the client's
 * MON_E_REFUSED_NO_CREDENTIALS). On the listening socket it is on before
 * any client can connect, and every accepted connection inherits it.
 */

/*
 * Creates an AF_UNIX SOCK_STREAM socket (FD_CLOEXEC, blocking) with
 * SO_PASSCRED (and SO_PASSPIDFD where the kernel has it) on, binds it to
 * the file system path and listens with backlog (as listen(2); SOMAXCONN
 * is fine). Returns the fd, the caller's (accept(2) from it; close it and
 * unlink path when done), or a negative
 * code: MON_E_INVALID_ARGUMENT (NULL or empty path; errno ENAMETOOLONG if
 * it does not fit a sockaddr_un), MON_E_IO with errno (e.g. EADDRINUSE:
 * path exists; unlink a stale socket first). Nothing is left behind on
 * error.
 */
int mon_ipc_listen(const char *path, int backlog);

/*
 * For a socket mon_ipc_listen does not make (SOCK_SEQPACKET, an abstract
 * address, one inherited from a service manager) or the server's end of a
 * socketpair: checks that fd is an AF_UNIX SOCK_STREAM or SOCK_SEQPACKET
 * socket and turns SO_PASSCRED (and SO_PASSPIDFD where the kernel has it)
 * on. Call it before any client can connect (after socket, before listen)
 * or write (before handing out the other socketpair end). 0,
 * MON_E_INVALID_ARGUMENT (negative or closed fd), MON_E_UNSUPPORTED_SOCKET,
 * or MON_E_IO. The fd stays the caller's.
 */
int mon_ipc_prepare_listener(int fd);

/* ------------------------------------------------------------------ */
/* Messages with file descriptors                                      */

/*
 * Non-blocking sockets and timeouts (mon_ipc_recv_fd, mon_ipc_send_fd,
 * mon_ipc_recv_shm, mon_ipc_send_shm):
 *
 * - On an O_NONBLOCK socket these calls never wait. Where the socket
 *   would block they return MON_WANT_READ / MON_WANT_WRITE: poll() for
 *   POLLIN / POLLOUT and call again. Part of a frame that already came
 *   (with its fd) or already went out is kept by the library for this
 *   socket, so the next call continues the same frame: no byte and no fd
 *   is lost, duplicated or delivered twice.
 * - A send resumed must be called with the same bytes and the same fd
 *   (the library compares them with its copy of the frame); anything else
 *   is MON_E_SEND_PENDING and changes nothing. Sending and receiving are
 *   independent: a socket may have a partial frame each way.
 * - On a blocking socket they wait, for ever by default, or at most
 *   mon_ipc_set_timeout()'s time per call: then MON_E_TIMEOUT, with the
 *   partial frame kept exactly as after MON_WANT_*. A timed-out call
 *   sent/consumed nothing or only a part that the next call continues.
 * - The per-socket state (keyed by the fd and the socket's st_dev/st_ino,
 *   so a reused fd number never gets another socket's state) is created
 *   when a call returns MON_WANT_* / MON_E_TIMEOUT with part of a frame
 *   done, or by mon_ipc_set_timeout; a client handshake's leftover input
 *   is kept there too. A partial frame is freed when it completes, on EOF
 *   and on any error (the connection is then unusable: close it). Call
 *   mon_ipc_forget(fd) before close(fd): it frees everything kept for the
 *   socket, closing any fd of a partial frame. (A forgotten entry of a
 *   closed socket is freed later, when the library notices.)
 * - Seqpacket sockets send and receive whole records, so they never have
 *   a partial frame; they still return MON_WANT_* / MON_E_TIMEOUT.
 * - One socket: at most one thread receiving and one sending at a time
 *   (a second concurrent call the same way is MON_E_INVALID_ARGUMENT,
 *   errno EBUSY).
 */

/*
 * Receives one message (one frame) from the UNIX domain socket source_fd
 * and appends its data to dst. *fd_received is the fd that came with it
 * (the caller's, FD_CLOEXEC), or -1 if none did. Returns 0 or an error
 * code; on error nothing is appended, *fd_received is -1 and every fd
 * that arrived is closed. A message with more than one fd is an error
 * (MON_E_CONTROL_TRUNCATED, MON_E_FRAME_TOO_MANY_FDS or
 * MON_E_FD_COUNT_MISMATCH). MON_E_CLOSED: the peer closed the connection.
 * MON_WANT_READ (non-blocking socket) or MON_E_TIMEOUT (blocking, with a
 * timeout): call again; nothing was appended yet (see above).
 */
int mon_ipc_recv_fd(int source_fd, mon_buffer *dst, int *fd_received);

/*
 * Sends the data of src as one message on the UNIX domain socket
 * target_fd, with fd_to_send attached (the caller keeps it; the peer gets
 * its own). Extension: fd_to_send = -1 sends the data without an fd.
 * Returns 0 or an error code. MON_WANT_WRITE (non-blocking socket) or
 * MON_E_TIMEOUT (blocking, with a timeout): call again with the same src
 * contents and fd_to_send (see above); MON_E_SEND_PENDING: another frame
 * is half sent on this socket.
 */
int mon_ipc_send_fd(int target_fd, mon_buffer *src, int fd_to_send);

/*
 * The timeout of the blocking mon_ipc_send_fd, mon_ipc_recv_fd,
 * mon_ipc_send_shm and mon_ipc_recv_shm on the socket fd: each call gets
 * timeout_ms milliseconds to complete its frame, then returns
 * MON_E_TIMEOUT. -1: none (the default). No effect on non-blocking
 * sockets. Set before mon_ipc_auth_*_init, it is also the whole
 * handshake's limit on a blocking socket (default 10 s there, never
 * none). Kept until mon_ipc_forget(fd). Returns 0
 * or MON_E_INVALID_ARGUMENT (closed fd, timeout_ms < -1).
 */
int mon_ipc_set_timeout(int fd, int timeout_ms);

/*
 * Frees everything the library keeps for the socket fd (a partial frame
 * either way, closing its fd; a client handshake's leftover input; the
 * limits a server's handshake negotiated; the timeout). Call it before close(fd) on every socket given to the calls
 * above. Returns 0 (also when nothing was kept), or MON_E_INVALID_ARGUMENT
 * for a negative fd.
 */
int mon_ipc_forget(int fd);

/* ------------------------------------------------------------------ */
/* Shared memory (an extension: PROTOCOL.md 4.2, SHARED-MEMORY.md)     */

/*
 * A shared-memory region: a memfd sealed so that it can never shrink or
 * grow, and its MAP_SHARED mapping. Large data crosses between processes
 * as a region handed over by fd: the pages are shared, never copied.
 *
 * Sender: mon_ipc_shm_create, fill it (mon_ipc_shm_write or the pointer
 * of mon_ipc_shm_data_mut), optionally mon_ipc_shm_seal_read_only, then
 * mon_ipc_send_shm. Receiver: mon_ipc_recv_shm, which refuses any fd that
 * is not a memfd of exactly the announced size with the required seals
 * before it maps anything, so no access to a region can ever fault with
 * SIGBUS (no signal handler needed).
 *
 * The mapping is shared: unless the region is sealed read-only, the peer
 * may change any byte at any moment, also while it is being read. Copy
 * out what you check (mon_ipc_shm_read) rather than reading it twice in
 * place. A mon_shm may be read by several threads at once; a call that
 * changes it (write, seal, free) needs it to itself.
 */
typedef struct mon_shm mon_shm;

/* Creates a region of size bytes, all zero, readable and writable (size
   0 is legal and maps nothing). 0 with *shm set, or an error code
   (MON_E_INVALID_ARGUMENT, MON_E_IO, MON_E_NO_MEMORY) with *shm NULL. */
int mon_ipc_shm_create(size_t size, mon_shm **shm);

/* Makes the region read-only for good (F_SEAL_WRITE | F_SEAL_SEAL) and
   maps it again read-only: call before mon_ipc_send_shm. Pointers from
   mon_ipc_shm_data / _data_mut are invalid afterwards. 0 (also if it is
   read-only already), MON_E_INVALID_ARGUMENT or MON_E_IO (errno EPERM:
   already sealed, i.e. sent or received; EBUSY: another writable mapping
   of it exists). */
int mon_ipc_shm_seal_read_only(mon_shm *shm);

/* The region's size in bytes; 0 for NULL. */
size_t mon_ipc_shm_size(const mon_shm *shm);

/* The mapping, for reading: mon_ipc_shm_size bytes, valid until
   mon_ipc_shm_free (or mon_ipc_shm_seal_read_only). NULL for NULL or an
   empty region. The bytes may change under the reader (see above); the
   region never shrinks, so every byte stays readable. */
const void *mon_ipc_shm_data(const mon_shm *shm);

/* The mapping, for writing; NULL for NULL, an empty region, or a region
   mapped read-only (sealed with F_SEAL_WRITE, or received on a read-only
   fd). Valid as mon_ipc_shm_data's. */
void *mon_ipc_shm_data_mut(mon_shm *shm);

/* Copies len bytes at offset out of the region into buf. 0,
   MON_E_INVALID_ARGUMENT (NULL shm, NULL buf with len > 0, buf inside
   the region) or MON_E_SHM_OUT_OF_RANGE (offset + len beyond its size). */
int mon_ipc_shm_read(const mon_shm *shm, size_t offset, void *buf, size_t len);

/* Copies len bytes from data into the region at offset. 0,
   MON_E_INVALID_ARGUMENT, MON_E_SHM_OUT_OF_RANGE or MON_E_SHM_READ_ONLY. */
int mon_ipc_shm_write(mon_shm *shm, size_t offset, const void *data, size_t len);

/* The region's memfd, borrowed: the region keeps it (do not close it;
   mon_ipc_shm_free does). -1 for NULL. */
int mon_ipc_shm_fd(const mon_shm *shm);

/* Unmaps the region and closes its fd; NULL is ignored. */
void mon_ipc_shm_free(mon_shm *shm);

/*
 * Sends the region as one shared-memory frame on the UNIX domain socket
 * target_fd, with the bytes of app_bytes (NULL: none, at most 16 MiB - 12)
 * after the frame's 12-byte header. Adds F_SEAL_SEAL first (if it is not
 * there yet), so from then on no seal can be added or removed and the size
 * never changes, for the sender too (ftruncate fails with EPERM). The peer
 * gets its own fd; the caller keeps shm. Returns 0 or an error code;
 * MON_WANT_WRITE / MON_E_TIMEOUT / MON_E_SEND_PENDING as mon_ipc_send_fd.
 */
int mon_ipc_send_shm(int target_fd, const mon_shm *shm, const mon_buffer *app_bytes);

/*
 * Receives one shared-memory frame from the UNIX domain socket source_fd:
 * 0 with *shm set to the region (the caller's; mon_ipc_shm_free) and the
 * application's bytes appended to app_bytes. Before mapping anything it
 * checks, in this order: the frame (MON_E_SHM_FD_COUNT, MON_E_SHM_SHORT),
 * the announced seals (MON_E_SHM_SEALS) and size (MON_E_SHM_TOO_LARGE,
 * above 4 GiB), then the fd itself: a memfd (MON_E_SHM_NOT_MEMFD) with
 * shrink, grow, seal and every announced seal (MON_E_SHM_SEALS_MISSING),
 * exactly the announced size (MON_E_SHM_SIZE_MISMATCH), open for reading
 * (MON_E_SHM_NOT_READABLE). A data frame is MON_E_SHM_EXPECTED; a NULL
 * app_bytes or shm is MON_E_INVALID_ARGUMENT; other errors as
 * mon_ipc_recv_fd. On error *shm is NULL, nothing is appended
 * or mapped, and every fd that came is closed. A refusal is a channel
 * error (PROTOCOL.md 4.2): close the connection. The region is mapped
 * writable only if its fd is open for writing and it is not sealed with
 * F_SEAL_WRITE / F_SEAL_FUTURE_WRITE. MON_WANT_READ / MON_E_TIMEOUT as
 * mon_ipc_recv_fd.
 */
int mon_ipc_recv_shm(int source_fd, mon_buffer *app_bytes, mon_shm **shm);

#ifdef __cplusplus
}
#endif

#endif /* MONITOR_MONITOR_H */
