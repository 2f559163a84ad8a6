/* Every error path of the C API: NULL pointers, bad, closed and non-socket
   fds, wrong-role, ended and foreign states, a raw peer with a bad magic, a
   refusal, EOF, frames with too many or missing fds or beyond the limit
   the handshake negotiated. Each gives its
   documented negative code, never a crash, and no fd leaks. */
#define _GNU_SOURCE
#include "common.h"

#include <sys/uio.h>

static const unsigned char HELLO_BAD_MAGIC[16] = {
    'N', 'O', 'P', 'E', 1, 0, 32, 0, 0, 0, 0, 1, 0, 0, 0, 0};
/* A valid reply with status 1 (denied). */
static const unsigned char REPLY_DENIED[16] = {
    'M', 'O', 'N', 0, 1, 1, 32, 0, 0, 0, 0, 1, 0, 0, 0, 0};

static void pair(int sv[2])
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    set_passcred(sv[0]);
}

static int run_server(int fd, mon_ipc_creds *creds)
{
    void *st = NULL;
    int rc = mon_ipc_auth_server_init(fd, creds, &st), again;
    while (rc == MON_CONTINUE)
        rc = mon_ipc_auth_server_step(fd, st);
    again = mon_ipc_auth_server_step(fd, st);
    CHECK(again == rc); /* errors are sticky */
    mon_ipc_auth_server_end(st);
    return rc;
}

static int run_client(int fd)
{
    void *st = NULL;
    int rc = mon_ipc_auth_client_init(fd, &st);
    while (rc == MON_CONTINUE)
        rc = mon_ipc_auth_client_step(fd, st);
    mon_ipc_auth_client_end(st);
    return rc;
}

static void null_and_bad_arguments(void)
{
    int sv[2], p[2], fd = 7, closed;
    void *st = (void *)&fd;
    mon_ipc_creds creds;
    mon_buffer *buf = mon_buffer_new();

    pair(sv);
    CHECK(pipe(p) == 0);
    closed = dup(p[0]);
    CHECK(closed >= 0);
    close(closed);

    /* NULL pointers. */
    CHECK_RC(mon_ipc_auth_client_init(sv[1], NULL), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_auth_server_init(sv[0], NULL, &st), MON_E_INVALID_ARGUMENT);
    CHECK(st == NULL);
    CHECK_RC(mon_ipc_auth_server_init(sv[0], &creds, NULL), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_auth_client_step(sv[1], NULL), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_auth_server_step(sv[0], NULL), MON_E_INVALID_ARGUMENT);
    mon_ipc_auth_client_end(NULL);
    mon_ipc_auth_server_end(NULL);
    CHECK_RC(mon_ipc_recv_fd(sv[0], NULL, &fd), MON_E_INVALID_ARGUMENT);
    CHECK(fd == -1);
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, NULL), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_send_fd(sv[0], NULL, -1), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_buffer_append(NULL, "x", 1), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_buffer_append(buf, NULL, 1), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_buffer_append(buf, NULL, 0), 0);
    CHECK(mon_buffer_length(NULL) == 0);
    CHECK(mon_buffer_data(NULL) == NULL);
    CHECK(mon_buffer_data(buf) != NULL);
    mon_buffer_clear(NULL);
    mon_buffer_free(NULL);

    /* Bad and closed fds. */
    CHECK_RC(mon_ipc_auth_client_init(-1, &st), MON_E_INVALID_ARGUMENT);
    CHECK(st == NULL);
    CHECK(mon_ipc_last_errno() == EBADF);
    CHECK_RC(mon_ipc_auth_client_init(closed, &st), MON_E_INVALID_ARGUMENT);
    CHECK(mon_ipc_last_errno() == EBADF && errno == EBADF);
    CHECK_RC(mon_ipc_auth_server_init(closed, &creds, &st), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_recv_fd(closed, buf, &fd), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_recv_fd(-1, buf, &fd), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_send_fd(closed, buf, -1), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_send_fd(sv[0], buf, closed), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_send_fd(sv[0], buf, -2), MON_E_INVALID_ARGUMENT);

    /* Not a socket. */
    CHECK_RC(mon_ipc_auth_client_init(p[0], &st), MON_E_UNSUPPORTED_SOCKET);
    CHECK(st == NULL);
    CHECK_RC(mon_ipc_auth_server_init(p[0], &creds, &st), MON_E_UNSUPPORTED_SOCKET);
    CHECK_RC(mon_ipc_recv_fd(p[0], buf, &fd), MON_E_UNSUPPORTED_SOCKET);
    CHECK_RC(mon_ipc_send_fd(p[1], buf, -1), MON_E_IO);
    CHECK(mon_ipc_last_errno() == ENOTSOCK);

    /* A state that never was one, of the wrong role, on another fd, or
       already ended. */
    CHECK_RC(mon_ipc_auth_client_step(sv[1], (void *)&creds), MON_E_INVALID_ARGUMENT);
    mon_ipc_auth_client_end((void *)&creds); /* ignored, no crash */
    CHECK_RC(mon_ipc_auth_client_init(sv[1], &st), MON_CONTINUE);
    CHECK_RC(mon_ipc_auth_server_step(sv[1], st), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_auth_client_step(sv[0], st), MON_E_INVALID_ARGUMENT);
    mon_ipc_auth_server_end(st); /* wrong role: ignored, still usable */
    CHECK_RC(mon_ipc_auth_client_step(sv[1], st), MON_CONTINUE); /* hello sent */
    mon_ipc_auth_client_end(st);
    mon_ipc_auth_client_end(st); /* second end: no-op */
    CHECK(mon_ipc_last_errno() == EINVAL);
    CHECK_RC(mon_ipc_auth_client_step(sv[1], st), MON_E_INVALID_ARGUMENT);

    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
    mon_buffer_free(buf);
}

static void raw_peers(void)
{
    int sv[2];
    unsigned char reply[16], hello[16];
    mon_ipc_creds creds;

    /* Bad magic from a raw client: refused with status 4. */
    pair(sv);
    CHECK(write(sv[1], HELLO_BAD_MAGIC, 16) == 16);
    memset(&creds, 0x55, sizeof creds);
    CHECK_RC(run_server(sv[0], &creds), MON_E_HELLO_BAD_MAGIC);
    CHECK(strcmp(mon_ipc_strerror(MON_E_HELLO_BAD_MAGIC), "hello_bad_magic") == 0);
    CHECK(read_all(sv[1], reply, 16) == 0);
    CHECK(memcmp(reply, "MON", 4) == 0 && reply[5] == 4);
    CHECK(creds.pid == (pid_t)0x55555555); /* untouched on failure */
    close(sv[0]);
    close(sv[1]);

    /* EOF before any byte: no reply. */
    pair(sv);
    close(sv[1]);
    CHECK_RC(run_server(sv[0], &creds), MON_E_EOF_BEFORE_HELLO);
    close(sv[0]);

    /* A short hello. */
    pair(sv);
    CHECK(write(sv[1], "MON", 3) == 3);
    CHECK(shutdown(sv[1], SHUT_WR) == 0);
    CHECK_RC(run_server(sv[0], &creds), MON_E_HELLO_SHORT);
    close(sv[0]);
    close(sv[1]);

    /* A raw server that answers with a bad magic, then one that denies. */
    pair(sv);
    CHECK(write(sv[0], HELLO_BAD_MAGIC, 16) == 16); /* arrives as the reply */
    CHECK_RC(run_client(sv[1]), MON_E_REPLY_BAD_MAGIC);
    CHECK(read_all(sv[0], hello, 16) == 0);
    CHECK(memcmp(hello, "MON", 4) == 0 && hello[4] == 1);
    close(sv[0]);
    close(sv[1]);

    pair(sv);
    CHECK(write(sv[0], REPLY_DENIED, 16) == 16);
    CHECK_RC(run_client(sv[1]), MON_E_REFUSED_DENIED);
    close(sv[0]);
    close(sv[1]);

    /* The server goes away before replying. */
    pair(sv);
    close(sv[0]);
    {
        int rc = run_client(sv[1]);
        CHECK(rc == MON_E_REPLY_SHORT || rc == MON_E_IO);
    }
    close(sv[1]);
}

/* sendmsg of a frame header + payload with `nfds` fds attached. */
static void send_raw_frame(int sock, unsigned char announce, const int *fds, int nfds)
{
    unsigned char frame[11] = {3, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 'c'};
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    struct iovec iov;
    struct msghdr mh;
    frame[4] = announce;
    iov.iov_base = frame;
    iov.iov_len = sizeof frame;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (nfds > 0) {
        struct cmsghdr *c;
        memset(&u, 0, sizeof u);
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    CHECK(sendmsg(sock, &mh, 0) == (ssize_t)sizeof frame);
}

static void bad_frames(void)
{
    int sv[2], p[2], fd = 5, before, rc;
    mon_buffer *buf = mon_buffer_new();

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    before = count_fds();

    /* Two fds in one frame: an error, and both fds closed. */
    CHECK(pipe(p) == 0);
    send_raw_frame(sv[1], 2, p, 2);
    close(p[0]);
    close(p[1]);
    CHECK_RC(mon_buffer_append(buf, "kept", 4), 0);
    rc = mon_ipc_recv_fd(sv[0], buf, &fd);
    CHECK(rc == MON_E_CONTROL_TRUNCATED || rc == MON_E_FRAME_TOO_MANY_FDS ||
          rc == MON_E_FD_COUNT_MISMATCH);
    printf("two fds in one frame: %s\n", mon_ipc_strerror(rc));
    CHECK(fd == -1);
    CHECK(buffer_is(buf, "kept")); /* nothing appended */
    CHECK(count_fds() == before);
    close(sv[0]);
    close(sv[1]);

    /* A frame that announces an fd that does not come. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    send_raw_frame(sv[1], 1, NULL, 0);
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_E_FDS_MISSING);
    close(sv[0]);
    close(sv[1]);

    /* EOF inside a frame. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(write(sv[1], "\x03\0\0\0\0\0\0\0a", 9) == 9);
    close(sv[1]);
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_E_EOF_IN_FRAME);
    close(sv[0]);
    CHECK(buffer_is(buf, "kept"));
    mon_buffer_free(buf);
}

/* A client that advertises less than the C API's 16 MiB: the server's
   receive checks each frame against the negotiated 100 bytes, on a stream
   and on seqpacket (PROTOCOL.md 4.4), before reading any payload. */
static void negotiated_limits(void)
{
    static const unsigned char HELLO_100[16] = {
        'M', 'O', 'N', 0, 1, 0, 1, 0, 100, 0, 0, 0, 0, 0, 0, 0};
    static const int types[2] = {SOCK_STREAM, SOCK_SEQPACKET};
    unsigned char reply[16], frame[8 + 100];
    mon_ipc_creds creds;
    int i, sv[2], fd = 5;

    memset(frame, 7, sizeof frame);
    for (i = 0; i < 2; i++) {
        mon_buffer *buf = mon_buffer_new();
        int before = count_fds();
        CHECK(socketpair(AF_UNIX, types[i] | SOCK_CLOEXEC, 0, sv) == 0);
        set_passcred(sv[0]);
        CHECK(write(sv[1], HELLO_100, 16) == 16);
        CHECK_RC(run_server(sv[0], &creds), 0);
        CHECK(read(sv[1], reply, 16) == 16 && reply[5] == 0);
        /* 100 bytes: within the limit. */
        frame[0] = 100;
        frame[1] = frame[2] = frame[3] = frame[4] = frame[5] = frame[6] = frame[7] = 0;
        CHECK(write(sv[1], frame, sizeof frame) == (ssize_t)sizeof frame);
        CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), 0);
        CHECK(mon_buffer_length(buf) == 100 && fd == -1);
        /* 101 announced: refused on its header alone (without the check,
           EOF in the frame). */
        frame[0] = 101;
        CHECK(write(sv[1], frame, 8) == 8);
        CHECK(shutdown(sv[1], SHUT_WR) == 0);
        CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_E_FRAME_TOO_LARGE);
        CHECK(mon_buffer_length(buf) == 100 && fd == -1);
        CHECK_RC(mon_ipc_forget(sv[0]), 0);
        close(sv[0]);
        close(sv[1]);
        mon_buffer_free(buf);
        CHECK(count_fds() == before);
    }
}

static void strings_and_buffers(void)
{
    mon_buffer *b = buffer_of("abc");
    CHECK(strcmp(mon_ipc_strerror(0), "ok") == 0);
    CHECK(strcmp(mon_ipc_strerror(MON_CONTINUE), "continue") == 0);
    CHECK(strcmp(mon_ipc_strerror(MON_WANT_READ), "want_read") == 0);
    CHECK(strcmp(mon_ipc_strerror(MON_WANT_WRITE), "want_write") == 0);
    CHECK(strcmp(mon_ipc_strerror(MON_E_INVALID_ARGUMENT), "invalid_argument") == 0);
    CHECK(strcmp(mon_ipc_strerror(MON_E_IO), "io") == 0);
    CHECK(strcmp(mon_ipc_strerror(MON_E_ADVANCE_PAST_END), "advance_past_end") == 0);
    CHECK(strcmp(mon_ipc_strerror(-9999), "unknown") == 0);
    /* Appending the buffer's own bytes, while it grows. */
    CHECK_RC(mon_buffer_append(b, mon_buffer_data(b), 3), 0);
    CHECK(buffer_is(b, "abcabc"));
    mon_buffer_clear(b);
    CHECK(mon_buffer_length(b) == 0);
    mon_buffer_free(b);
}

int main(void)
{
    int before = count_fds();
    alarm(60);
    null_and_bad_arguments();
    raw_peers();
    bad_frames();
    negotiated_limits();
    strings_and_buffers();
    CHECK(count_fds() == before);
    printf("errors: ok\n");
    return 0;
}
