/* Non-blocking sockets, driven with poll():
   1. client and server in two processes; the server sees MON_WANT_READ;
   2. a 4 MiB message with an fd on non-blocking sockets (more than the
      socket buffer holds: send_fd and recv_fd return MON_WANT_* and are
      resumed after poll);
   3. in one process, the server's first message arrives together with its
      reply in the client's handshake read, and is not lost.
   No fd leaks. */
#define _GNU_SOURCE
#include "common.h"

#define BIG (4u << 20)

static void fill(unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + 3);
}

static int client(int sock)
{
    void *st = NULL;
    int rc, p[2];
    mon_buffer *big = mon_buffer_new();
    unsigned char *bytes = malloc(BIG);
    char got[8];

    rc = mon_ipc_auth_client_init(sock, &st);
    CHECK_RC(drive(mon_ipc_auth_client_step, sock, st, rc, NULL), 0);
    mon_ipc_auth_client_end(st);

    /* 4 MiB and the write end of a pipe; the parent answers through it. */
    CHECK(bytes != NULL);
    fill(bytes, BIG);
    CHECK_RC(mon_buffer_append(big, bytes, BIG), 0);
    CHECK(pipe(p) == 0);
    CHECK_RC(polled_send_fd(sock, big, p[1]), 0);
    CHECK(close(p[1]) == 0);
    memset(got, 0, sizeof got);
    CHECK(read_all(p[0], got, 2) == 0);
    CHECK(strcmp(got, "ok") == 0);
    CHECK(read(p[0], got, 1) == 0);
    CHECK(close(p[0]) == 0);
    free(bytes);
    mon_buffer_free(big);
    return 0;
}

static void two_processes(void)
{
    int sv[2], rc, fd = -2, want_reads = 0, before = count_fds();
    void *st = NULL;
    mon_ipc_creds creds;
    mon_buffer *buf = mon_buffer_new();
    unsigned char *expect = malloc(BIG);
    pid_t child;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    set_passcred(sv[0]);
    set_nonblocking(sv[0]);
    set_nonblocking(sv[1]);

    /* The server starts before the client exists: nothing to read yet. */
    rc = mon_ipc_auth_server_init(sv[0], &creds, &st);
    CHECK_RC(rc, MON_CONTINUE);
    while (rc == MON_CONTINUE)
        rc = mon_ipc_auth_server_step(sv[0], st);
    CHECK_RC(rc, MON_WANT_READ);

    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(sv[0]);
        mon_ipc_auth_server_end(st); /* the parent's state, copied */
        rc = client(sv[1]);
        close(sv[1]);
        _exit(rc);
    }
    close(sv[1]);

    CHECK_RC(drive(mon_ipc_auth_server_step, sv[0], st, rc, &want_reads), 0);
    mon_ipc_auth_server_end(st);
    CHECK(want_reads >= 1);
    CHECK(creds.pid == child);
    CHECK(creds.uid == geteuid());
    CHECK(creds.gid == getegid());

    CHECK_RC(polled_recv_fd(sv[0], buf, &fd), 0);
    CHECK(fd >= 0);
    CHECK(mon_buffer_length(buf) == BIG);
    CHECK(expect != NULL);
    fill(expect, BIG);
    CHECK(memcmp(mon_buffer_data(buf), expect, BIG) == 0);
    CHECK(write(fd, "ok", 2) == 2);
    CHECK(close(fd) == 0);

    reap(child);
    CHECK_RC(polled_recv_fd(sv[0], buf, &fd), MON_E_CLOSED);
    close(sv[0]);
    free(expect);
    mon_buffer_free(buf);
    CHECK(count_fds() == before);
    printf("two processes: ok (server saw MON_WANT_READ %d times)\n", want_reads);
}

/* The server's first message arrives in the read that brings the reply. */
static void early_frame(void)
{
    int sv[2], p[2], rc, fd = -2, before = count_fds();
    void *cst = NULL, *sst = NULL;
    mon_ipc_creds creds;
    mon_buffer *buf = mon_buffer_new();
    mon_buffer *early = buffer_of("early");
    mon_buffer *later = buffer_of("later");
    char got[8];

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    set_passcred(sv[0]);
    set_nonblocking(sv[0]);
    set_nonblocking(sv[1]);

    /* Client: the hello goes out, then it would wait for the reply. */
    rc = mon_ipc_auth_client_init(sv[1], &cst);
    while (rc == MON_CONTINUE)
        rc = mon_ipc_auth_client_step(sv[1], cst);
    CHECK_RC(rc, MON_WANT_READ);

    /* Server: reads the hello, replies, and sends a pipe at once. */
    rc = mon_ipc_auth_server_init(sv[0], &creds, &sst);
    CHECK_RC(drive(mon_ipc_auth_server_step, sv[0], sst, rc, NULL), 0);
    mon_ipc_auth_server_end(sst);
    CHECK(creds.pid == getpid());
    CHECK(pipe(p) == 0);
    CHECK_RC(polled_send_fd(sv[0], early, p[1]), 0);
    CHECK(close(p[1]) == 0);

    /* Client: one read brings the reply and the frame with its fd. */
    CHECK_RC(drive(mon_ipc_auth_client_step, sv[1], cst, MON_CONTINUE, NULL), 0);
    mon_ipc_auth_client_end(cst);
    CHECK_RC(polled_recv_fd(sv[1], buf, &fd), 0);
    CHECK(buffer_is(buf, "early"));
    CHECK(fd >= 0);
    CHECK(write(fd, "hi", 2) == 2);
    CHECK(close(fd) == 0);
    memset(got, 0, sizeof got);
    CHECK(read_all(p[0], got, 2) == 0);
    CHECK(strcmp(got, "hi") == 0);
    CHECK(read(p[0], got, 1) == 0); /* every copy of the write end is closed */
    CHECK(close(p[0]) == 0);

    /* And the frames after it. */
    mon_buffer_clear(buf);
    CHECK_RC(polled_send_fd(sv[0], later, -1), 0);
    CHECK_RC(polled_recv_fd(sv[1], buf, &fd), 0);
    CHECK(fd == -1);
    CHECK(buffer_is(buf, "later"));

    /* Both directions. */
    mon_buffer_clear(buf);
    CHECK_RC(polled_send_fd(sv[1], later, -1), 0);
    CHECK_RC(polled_recv_fd(sv[0], buf, &fd), 0);
    CHECK(buffer_is(buf, "later"));

    close(sv[0]);
    CHECK_RC(polled_recv_fd(sv[1], buf, &fd), MON_E_CLOSED);
    close(sv[1]);
    mon_buffer_free(buf);
    mon_buffer_free(early);
    mon_buffer_free(later);
    CHECK(count_fds() == before);
    printf("early frame: ok\n");
}

int main(void)
{
    alarm(60);
    two_processes();
    early_frame();
    printf("nonblocking: ok\n");
    return 0;
}
