/*
 * mon-ipc-c-shim: the program under test of `mon-ipc-conformance peer
 * --exec` (docs/SHIM.md) on libmonitor's public C API, <monitor/monitor.h>,
 * and nothing else of mon-ipc: the C API verified by the same cases as the
 * reference shim (conformance/src/bin/mon-ipc-shim.rs).
 *
 *   mon-ipc-c-shim --role client|server --case NAME --socket stream|seqpacket
 *
 * with the connected socket on fd 3. A case the C API cannot express is
 * answered with exit status 89 and the reason on stderr (UNIMPLEMENTED):
 * see unimplemented() below, the C API's gaps, which
 * conformance/tests/c_shim.rs lists.
 *
 * Plain C11 (POSIX 2008 for the fd calls).
 */
#define _POSIX_C_SOURCE 200809L
#include <monitor/monitor.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SOCK 3
#define EXIT_UNIMPLEMENTED 89

/* The code of a check of the shim's own (SHIM.md 2: any code but the
   expected one). */
#define SHIM_CHECK 1000
/* The shim could not do its part (a pipe, a write, memory). */
#define SHIM_SYSTEM 1001

/* One frame of a case: payload length and fd count (SHIM.md 3, F). */
struct frame {
    size_t len;
    int nfds;
};

enum action {
    IDLE,    /* read until EOF */
    RECV,    /* receive the frames, write each fd's marker, then EOF */
    SEND,    /* send the frames, each fd a pipe holding its marker */
    ECHO,    /* send every frame back with the same fds */
    HOLD,    /* server/recv-cloexec */
    RECV_FD, /* the manual's recv_fd */
    SEND_FD, /* the manual's send_fd */
    SHM,     /* one shared-memory frame */
    DRAIN    /* adversarial input: receive until EOF, closing every fd */
};

struct shim_case {
    const char *name;
    int server;
    int mutual;
    int deny;
    enum action action;
    const struct frame *frames;
    size_t nframes;
};

static const struct frame FRAMES_0_1_MANY[] = {{5, 0}, {6, 1}, {7, 4}};
static const struct frame ECHO_FRAMES[] = {{5, 0}, {3000, 1}, {9, 3}};
static const struct frame EARLY_FRAMES[] = {{5, 0}, {6, 1}};
static const struct frame MANUAL_FRAME[] = {{12, 1}};
static const struct frame HOLD_FRAME[] = {{4, 1}};
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define FRAMES(a) (a), N(a)
#define SHM_SIZE 4096
#define SHM_APP_LEN 5

/* conformance/src/peer/cases.rs, CASES. */
static const struct shim_case CASES[] = {
    {"client/handshake", 0, 0, 0, IDLE, NULL, 0},
    {"client/mutual", 0, 1, 0, IDLE, NULL, 0},
    {"client/refused-denied", 0, 0, 0, IDLE, NULL, 0},
    {"client/reply-bad-magic", 0, 0, 0, IDLE, NULL, 0},
    {"client/reply-reserved", 0, 0, 0, IDLE, NULL, 0},
    {"client/hangup-mid-reply", 0, 0, 0, IDLE, NULL, 0},
    {"client/reply-with-fds", 0, 0, 0, IDLE, NULL, 0},
    {"client/early-frames", 0, 0, 0, RECV, FRAMES(EARLY_FRAMES)},
    {"client/recv-fds", 0, 0, 0, RECV, FRAMES(FRAMES_0_1_MANY)},
    {"client/send-fds", 0, 0, 0, SEND, FRAMES(FRAMES_0_1_MANY)},
    {"client/echo", 0, 0, 0, ECHO, FRAMES(ECHO_FRAMES)},
    {"client/send-fd", 0, 0, 0, SEND_FD, FRAMES(MANUAL_FRAME)},
    {"server/handshake", 1, 0, 0, IDLE, NULL, 0},
    {"server/mutual", 1, 1, 0, IDLE, NULL, 0},
    {"server/deny", 1, 0, 1, IDLE, NULL, 0},
    {"server/bad-magic", 1, 0, 0, IDLE, NULL, 0},
    {"server/hello-reserved", 1, 0, 0, IDLE, NULL, 0},
    {"server/hello-fds", 1, 0, 0, IDLE, NULL, 0},
    {"server/hello-trailing", 1, 0, 0, IDLE, NULL, 0},
    {"server/hangup-mid-hello", 1, 0, 0, IDLE, NULL, 0},
    {"server/hello-no-credentials", 1, 0, 0, IDLE, NULL, 0},
    {"server/recv-fds", 1, 0, 0, RECV, FRAMES(FRAMES_0_1_MANY)},
    {"server/send-fds", 1, 0, 0, SEND, FRAMES(FRAMES_0_1_MANY)},
    {"server/echo", 1, 0, 0, ECHO, FRAMES(ECHO_FRAMES)},
    {"server/recv-fd", 1, 0, 0, RECV_FD, FRAMES(MANUAL_FRAME)},
    {"server/recv-cloexec", 1, 0, 0, HOLD, FRAMES(HOLD_FRAME)},
    {"server/shm", 1, 0, 0, SHM, NULL, 0},
    {"server/surplus-fds", 1, 0, 0, DRAIN, NULL, 0},
    {"server/fds-without-frame", 1, 0, 0, DRAIN, NULL, 0},
    {"server/oversized-frame", 1, 0, 0, DRAIN, NULL, 0},
    {"server/frame-reserved", 1, 0, 0, DRAIN, NULL, 0},
    {"server/hangup-mid-frame", 1, 0, 0, DRAIN, NULL, 0},
    {"client/mutual-echo", 0, 1, 0, ECHO, FRAMES(ECHO_FRAMES)},
    {"server/mutual-echo", 1, 1, 0, ECHO, FRAMES(ECHO_FRAMES)},
    {"client/surplus-fds", 0, 0, 0, DRAIN, NULL, 0},
    {"client/fds-without-frame", 0, 0, 0, DRAIN, NULL, 0},
    {"client/oversized-frame", 0, 0, 0, DRAIN, NULL, 0},
    {"client/frame-reserved", 0, 0, 0, DRAIN, NULL, 0},
    {"client/hangup-mid-frame", 0, 0, 0, DRAIN, NULL, 0},
};

/* The one gap of the C API the cases meet: a frame carries 0 or 1 fd
   (mon_ipc_send_fd / mon_ipc_recv_fd, the manual's functions), and the
   handshakes advertise 1 fd per frame accordingly. */
static const char *unimplemented(const struct shim_case *c)
{
    size_t i;
    for (i = 0; i < c->nframes; i++)
        if (c->frames[i].nfds > 1)
            return "a frame with more than one fd: mon_ipc_send_fd / mon_ipc_recv_fd "
                   "carry 0 or 1 fd per frame (and the handshakes advertise 1)";
    if (strstr(c->name, "/surplus-fds") != NULL)
        return "2 fds in one read where 1 is announced: with the 1 fd per frame the "
               "C API advertises, the read is control_truncated (PROTOCOL.md 4.4), "
               "not the case's fd_count_mismatch";
    return NULL;
}

/* Detail for stderr before the code; the last detail wins. */
static char detail[256];

static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return code;
}

static const char *code_name(int code)
{
    if (code == SHIM_CHECK)
        return "shim_check";
    if (code == SHIM_SYSTEM)
        return "shim_system";
    return mon_ipc_strerror(code);
}

/* Byte k of the payload of frame i: (k + 7 i) mod 251 (SHIM.md 2). */
static int payload_append(mon_buffer *b, size_t i, size_t len)
{
    size_t k;
    for (k = 0; k < len; k++) {
        uint8_t byte = (uint8_t)((k + 7 * i) % 251);
        int rc = mon_buffer_append(b, &byte, 1);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int payload_is(const uint8_t *p, size_t n, size_t i, size_t len)
{
    size_t k;
    if (n != len)
        return 0;
    for (k = 0; k < len; k++)
        if (p[k] != (uint8_t)((k + 7 * i) % 251))
            return 0;
    return 1;
}

/* Writes the marker "i:j" into fd (a received pipe's write end) and closes
   it. */
static int write_marker(int fd, size_t i, int j)
{
    char m[32];
    int n = snprintf(m, sizeof m, "%zu:%d", i, j);
    ssize_t w = write(fd, m, (size_t)n);
    int err = errno;
    close(fd);
    if (w != n)
        return fail(SHIM_SYSTEM, "frame %zu fd %d: write: %s", i, j, strerror(err));
    return 0;
}

/* A new pipe holding the marker "i:j", write end closed: its read end in
   *out. */
static int marked_pipe(size_t i, int j, int *out)
{
    int p[2];
    char m[32];
    int n = snprintf(m, sizeof m, "%zu:%d", i, j);
    if (pipe(p) != 0)
        return fail(SHIM_SYSTEM, "pipe: %s", strerror(errno));
    if (write(p[1], m, (size_t)n) != n) {
        int err = errno;
        close(p[0]);
        close(p[1]);
        return fail(SHIM_SYSTEM, "write: %s", strerror(err));
    }
    close(p[1]);
    *out = p[0];
    return 0;
}

static int check_frame(size_t i, const struct frame *f, const mon_buffer *b, int fd)
{
    if (!payload_is(mon_buffer_data(b), mon_buffer_length(b), i, f->len))
        return fail(SHIM_CHECK, "frame %zu: payload differs (%zu bytes)", i, mon_buffer_length(b));
    if ((fd >= 0) != (f->nfds == 1))
        return fail(SHIM_CHECK, "frame %zu: %d fds, expected %d", i, fd >= 0, f->nfds);
    return 0;
}

/* Receives one data frame into b (cleared first), its fd in *fd (-1:
   none). MON_E_CLOSED at EOF. */
static int recv_frame(mon_buffer *b, int *fd)
{
    mon_buffer_clear(b);
    return mon_ipc_recv_fd(SOCK, b, fd);
}

/* Reads until EOF: a frame is an error. */
static int expect_eof(mon_buffer *b)
{
    int fd = -1;
    int rc = recv_frame(b, &fd);
    if (rc == MON_E_CLOSED)
        return 0;
    if (rc != 0)
        return fail(rc, "reading until EOF: %s", mon_ipc_strerror(rc));
    if (fd >= 0)
        close(fd);
    return fail(SHIM_CHECK, "a frame where EOF was expected");
}

static int recv_frames(const struct shim_case *c, mon_buffer *b)
{
    size_t i;
    for (i = 0; i < c->nframes; i++) {
        int fd = -1, rc = recv_frame(b, &fd);
        if (rc == MON_E_CLOSED)
            return fail(SHIM_CHECK, "EOF before frame %zu", i);
        if (rc != 0)
            return fail(rc, "frame %zu: %s", i, mon_ipc_strerror(rc));
        rc = check_frame(i, &c->frames[i], b, fd);
        if (rc != 0) {
            if (fd >= 0)
                close(fd);
            return rc;
        }
        if (fd >= 0 && (rc = write_marker(fd, i, 0)) != 0)
            return rc;
    }
    return expect_eof(b);
}

static int send_frames(const struct shim_case *c, mon_buffer *b)
{
    size_t i;
    for (i = 0; i < c->nframes; i++) {
        int fd = -1, rc;
        mon_buffer_clear(b);
        if ((rc = payload_append(b, i, c->frames[i].len)) != 0)
            return fail(rc, "payload: %s", mon_ipc_strerror(rc));
        if (c->frames[i].nfds == 1 && (rc = marked_pipe(i, 0, &fd)) != 0)
            return rc;
        rc = mon_ipc_send_fd(SOCK, b, fd);
        if (fd >= 0)
            close(fd);
        if (rc != 0)
            return fail(rc, "sending frame %zu: %s", i, mon_ipc_strerror(rc));
    }
    return expect_eof(b);
}

/* Sends every frame back, same payload and the very fd it came with. */
static int echo(mon_buffer *b)
{
    size_t i;
    for (i = 0;; i++) {
        int fd = -1, rc = recv_frame(b, &fd);
        if (rc == MON_E_CLOSED)
            return 0;
        if (rc != 0)
            return fail(rc, "frame %zu: %s", i, mon_ipc_strerror(rc));
        if (i >= N(ECHO_FRAMES)) {
            if (fd >= 0)
                close(fd);
            return fail(SHIM_CHECK, "unexpected frame %zu", i);
        }
        rc = mon_ipc_send_fd(SOCK, b, fd);
        if (fd >= 0)
            close(fd);
        if (rc != 0)
            return fail(rc, "echoing frame %zu: %s", i, mon_ipc_strerror(rc));
    }
}

/* server/recv-cloexec: holds the frame's fd while it sends "held". */
static int hold(mon_buffer *b)
{
    int fd = -1, rc = recv_frame(b, &fd);
    if (rc == MON_E_CLOSED)
        return fail(SHIM_CHECK, "EOF before frame 0");
    if (rc != 0)
        return fail(rc, "frame 0: %s", mon_ipc_strerror(rc));
    rc = check_frame(0, &HOLD_FRAME[0], b, fd);
    if (rc == 0) {
        mon_buffer_clear(b);
        rc = mon_buffer_append(b, "held", 4);
        if (rc == 0)
            rc = mon_ipc_send_fd(SOCK, b, -1);
        if (rc != 0)
            rc = fail(rc, "sending held: %s", mon_ipc_strerror(rc));
    }
    if (rc == 0)
        rc = expect_eof(b);
    if (rc != 0) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    return write_marker(fd, 0, 0);
}

static int shm(mon_buffer *b)
{
    mon_shm *region = NULL;
    uint8_t *bytes;
    int rc;
    mon_buffer_clear(b);
    rc = mon_ipc_recv_shm(SOCK, b, &region);
    if (rc == MON_E_CLOSED)
        return fail(SHIM_CHECK, "EOF before the shared-memory frame");
    if (rc != 0)
        return fail(rc, "shared-memory frame: %s", mon_ipc_strerror(rc));
    if (mon_ipc_shm_size(region) != SHM_SIZE) {
        rc = fail(SHIM_CHECK, "region of %zu bytes", mon_ipc_shm_size(region));
        mon_ipc_shm_free(region);
        return rc;
    }
    /* Copied out: the mapping is shared with the sender. */
    bytes = malloc(SHM_SIZE);
    if (bytes == NULL) {
        mon_ipc_shm_free(region);
        return fail(SHIM_SYSTEM, "out of memory");
    }
    rc = mon_ipc_shm_read(region, 0, bytes, SHM_SIZE);
    if (rc != 0)
        rc = fail(rc, "reading the region: %s", mon_ipc_strerror(rc));
    else if (!payload_is(bytes, SHM_SIZE, 1, SHM_SIZE) ||
             !payload_is(mon_buffer_data(b), mon_buffer_length(b), 0, SHM_APP_LEN))
        rc = fail(SHIM_CHECK, "shared memory or its bytes differ");
    free(bytes);
    mon_ipc_shm_free(region);
    return rc != 0 ? rc : expect_eof(b);
}

/* Adversarial input: frames until EOF, every fd closed. */
static int drain(mon_buffer *b)
{
    for (;;) {
        int fd = -1, rc = recv_frame(b, &fd);
        if (fd >= 0)
            close(fd);
        if (rc == MON_E_CLOSED)
            return 0;
        if (rc != 0)
            return fail(rc, "receiving: %s", mon_ipc_strerror(rc));
    }
}

static int act(const struct shim_case *c)
{
    mon_buffer *b = mon_buffer_new();
    int rc;
    if (b == NULL)
        return fail(SHIM_SYSTEM, "out of memory");
    switch (c->action) {
    case IDLE:
        rc = expect_eof(b);
        break;
    case RECV:
    case RECV_FD:
        rc = recv_frames(c, b);
        break;
    case SEND:
    case SEND_FD:
        rc = send_frames(c, b);
        break;
    case ECHO:
        rc = echo(b);
        break;
    case HOLD:
        rc = hold(b);
        break;
    case SHM:
        rc = shm(b);
        break;
    case DRAIN:
    default:
        rc = drain(b);
        break;
    }
    mon_buffer_free(b);
    return rc;
}

static int client_handshake(const struct shim_case *c)
{
    mon_ipc_creds server;
    void *state = NULL;
    int rc = c->mutual ? mon_ipc_auth_client_init_mutual(SOCK, &server, &state)
                       : mon_ipc_auth_client_init(SOCK, &state);
    /* fd 3 is blocking: the steps wait (within the handshake's deadline). */
    while (rc == MON_CONTINUE)
        rc = mon_ipc_auth_client_step(SOCK, state);
    mon_ipc_auth_client_end(state);
    if (rc != 0)
        return fail(rc, "client handshake: %s", mon_ipc_strerror(rc));
    if (c->mutual && (server.uid != geteuid() || server.gid != getegid()))
        return fail(SHIM_CHECK, "server credentials uid %ld gid %ld", (long)server.uid,
                    (long)server.gid);
    return 0;
}

static int server_handshake(const struct shim_case *c)
{
    mon_ipc_creds client;
    void *state = NULL;
    int rc = mon_ipc_auth_server_init_decide(SOCK, &client, &state);
    while (rc == MON_CONTINUE || rc == MON_DECIDE) {
        if (rc == MON_DECIDE) {
            rc = c->deny ? mon_ipc_auth_server_deny(SOCK, state)
                         : mon_ipc_auth_server_accept(SOCK, state);
            if (rc != 0)
                break;
        }
        rc = mon_ipc_auth_server_step(SOCK, state);
    }
    mon_ipc_auth_server_end(state);
    if (rc != 0)
        return fail(rc, "server handshake: %s", mon_ipc_strerror(rc));
    return 0;
}

static const struct shim_case *find(const char *name)
{
    size_t i;
    for (i = 0; i < N(CASES); i++)
        if (strcmp(CASES[i].name, name) == 0)
            return &CASES[i];
    return NULL;
}

/* Waits for the runner to close stdin (it inspects /proc/PID/fd meanwhile,
   SHIM.md 2.4). */
static void wait_for_stdin_eof(void)
{
    char buf[256];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR))
            return;
    }
}

static int usage(const char *why)
{
    fprintf(stderr, "mon-ipc-c-shim: %s\n", why);
    fprintf(stderr, "usage: mon-ipc-c-shim --role client|server --case NAME "
                    "--socket stream|seqpacket\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *role = NULL, *name = NULL, *socket = NULL, *gap;
    const struct shim_case *c;
    int i, rc, status;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--role") == 0)
            role = argv[i + 1];
        else if (strcmp(argv[i], "--case") == 0)
            name = argv[i + 1];
        else if (strcmp(argv[i], "--socket") == 0)
            socket = argv[i + 1];
        else
            return usage("unknown option");
    }
    if (i != argc || role == NULL || name == NULL || socket == NULL)
        return usage("missing option or value");
    if ((strcmp(role, "client") != 0 && strcmp(role, "server") != 0) ||
        (strcmp(socket, "stream") != 0 && strcmp(socket, "seqpacket") != 0))
        return usage("bad --role or --socket");
    /* The socket type needs nothing of the shim: the library finds it. */
    c = find(name);
    gap = c == NULL ? "no such case for this role" : unimplemented(c);
    if (c != NULL && c->server != (strcmp(role, "server") == 0))
        gap = "no such case for this role";
    if (gap != NULL) {
        fprintf(stderr, "mon-ipc-c-shim: %s: unimplemented: %s\n", name, gap);
        close(SOCK);
        return EXIT_UNIMPLEMENTED;
    }
    if (fcntl(SOCK, F_GETFD) < 0) {
        rc = fail(SHIM_CHECK, "no socket on fd 3");
    } else {
        rc = c->server ? server_handshake(c) : client_handshake(c);
        if (rc == 0)
            rc = act(c);
        mon_ipc_forget(SOCK);
        close(SOCK);
    }
    status = 0;
    if (rc != 0) {
        if (detail[0] != '\0')
            fprintf(stderr, "mon-ipc-c-shim: %s\n", detail);
        fprintf(stderr, "%s\n", code_name(rc));
        status = 1;
    }
    wait_for_stdin_eof();
    return status;
}
