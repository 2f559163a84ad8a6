/* Blocking sockets with mon_ipc_set_timeout: against a silent peer,
   mon_ipc_recv_fd, mon_ipc_send_fd, mon_ipc_recv_shm and mon_ipc_send_shm
   return MON_E_TIMEOUT after the deadline (and within LATE_MS of it: a
   call that ignores its deadline; a tighter bound fails on a loaded
   machine, where a woken thread can wait longer than the deadline for a
   CPU); a frame cut
   by the timeout is kept with its fd and completed by the next call; the
   same through the channel a client handshake leaves; O_NONBLOCK switched
   between the calls of one frame is obeyed; a handshake step
   on a blocking socket whose peer is silent returns MON_E_TIMEOUT (sticky)
   after the socket's timeout. No fd leaks. */
#define _GNU_SOURCE
#include "common.h"

#include <sys/uio.h>
#include <time.h>

#define DEADLINE_MS 200
#define LATE_MS 10000

static long now_ms(void)
{
    struct timespec t;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t) == 0);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* rc must be MON_E_TIMEOUT, after at least the deadline and at most 2x. */
#define CHECK_TIMEOUT(call)                                                    \
    do {                                                                       \
        long t0_ = now_ms(), dt_;                                              \
        CHECK_RC((call), MON_E_TIMEOUT);                                       \
        dt_ = now_ms() - t0_;                                                  \
        printf("  %s: MON_E_TIMEOUT after %ld ms (deadline %d ms)\n", #call,   \
               dt_, DEADLINE_MS);                                              \
        CHECK(dt_ >= DEADLINE_MS && dt_ < DEADLINE_MS + LATE_MS);              \
    } while (0)

static void receive(int type)
{
    int sv[2], p[2], fd = -2, before = count_fds();
    unsigned char f[13] = {5, 0, 0, 0, 1, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    mon_buffer *buf = mon_buffer_new();
    mon_shm *shm = NULL;

    CHECK(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(pipe(p) == 0);
    CHECK_RC(mon_ipc_set_timeout(sv[0], DEADLINE_MS), 0);
    CHECK_RC(mon_ipc_set_timeout(sv[0], -2), MON_E_INVALID_ARGUMENT);

    /* A silent peer. */
    CHECK_TIMEOUT(mon_ipc_recv_fd(sv[0], buf, &fd));
    CHECK(fd == -1 && mon_buffer_length(buf) == 0);
    CHECK_TIMEOUT(mon_ipc_recv_shm(sv[0], buf, &shm));
    CHECK(shm == NULL);

    if (type == SOCK_STREAM) {
        /* Half a header with an fd, then silence: the fd is kept... */
        raw_send(sv[1], f, 4, p[1]);
        CHECK_TIMEOUT(mon_ipc_recv_fd(sv[0], buf, &fd));
        CHECK(fd == -1 && mon_buffer_length(buf) == 0);
        CHECK(count_fds() == before + 5);
        /* ...and the frame completes on the next call. */
        raw_send(sv[1], f + 4, sizeof f - 4, -1);
        CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), 0);
        CHECK(fd >= 0 && buffer_is(buf, "hello"));
        CHECK(close(fd) == 0);
    }

    CHECK_RC(mon_ipc_forget(sv[0]), 0);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    CHECK(count_fds() == before);
    mon_buffer_free(buf);
}

#define BIG (1u << 20)

static void sending(void)
{
    int sv[2], p[2], rc, before = count_fds(), small = 4096, timeouts = 0;
    unsigned char *src = malloc(BIG), *out = malloc(BIG + 8);
    size_t i, got = 0;
    mon_buffer *buf = mon_buffer_new();
    mon_shm *shm = NULL;

    CHECK(src != NULL && out != NULL);
    for (i = 0; i < BIG; i++)
        src[i] = (unsigned char)(i * 5 + 1);
    CHECK_RC(mon_buffer_append(buf, src, BIG), 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    CHECK(pipe(p) == 0);
    CHECK_RC(mon_ipc_set_timeout(sv[0], DEADLINE_MS), 0);

    /* The peer reads nothing: the frame stops part way. */
    CHECK_TIMEOUT(mon_ipc_send_fd(sv[0], buf, p[1]));
    /* Read what came, then resume; repeat until the frame is out (with
       timeout 0: MON_E_TIMEOUT as soon as the socket is full). */
    CHECK_RC(mon_ipc_set_timeout(sv[0], 0), 0);
    for (;;) {
        ssize_t r;
        while ((r = recv(sv[1], out + got, BIG + 8 - got, MSG_DONTWAIT)) > 0)
            got += (size_t)r;
        rc = mon_ipc_send_fd(sv[0], buf, p[1]);
        if (rc == 0)
            break;
        CHECK_RC(rc, MON_E_TIMEOUT);
        timeouts++;
    }
    CHECK(read_all(sv[1], out + got, BIG + 8 - got) == 0);
    CHECK(out[2] == (BIG >> 16) && out[4] == 1);
    CHECK(memcmp(out + 8, src, BIG) == 0);
    /* The fd arrived (once): the received copy was closed by the drain's
       plain recv, so count only what is left open here. */

    /* A shared-memory frame against a full socket buffer. */
    CHECK_RC(mon_ipc_shm_create(4096, &shm), 0);
    CHECK_RC(mon_ipc_send_fd(sv[0], buf, -1), MON_E_TIMEOUT);
    CHECK_RC(mon_ipc_send_shm(sv[0], shm, NULL), MON_E_SEND_PENDING);
    mon_ipc_shm_free(shm);

    CHECK_RC(mon_ipc_forget(sv[0]), 0);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    CHECK(count_fds() == before);
    mon_buffer_free(buf);
    free(src);
    free(out);
    printf("  send resumed after %d more timeouts\n", timeouts);
}

/* O_NONBLOCK switched between the calls of one frame: each wait follows
   the socket's mode at that moment (MON_WANT_READ, then MON_E_TIMEOUT,
   then MON_WANT_READ again), and the frame cut across them is whole. */
static void mode_switched(void)
{
    int sv[2], p[2], fd = -2, before = count_fds();
    unsigned char f[13] = {5, 0, 0, 0, 1, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    mon_buffer *buf = mon_buffer_new();
    int flags;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(pipe(p) == 0);
    CHECK_RC(mon_ipc_set_timeout(sv[0], DEADLINE_MS), 0);
    set_nonblocking(sv[0]);
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_WANT_READ);
    raw_send(sv[1], f, 4, p[1]);
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_WANT_READ);
    flags = fcntl(sv[0], F_GETFL);
    CHECK(fcntl(sv[0], F_SETFL, flags & ~O_NONBLOCK) == 0);
    CHECK_TIMEOUT(mon_ipc_recv_fd(sv[0], buf, &fd));
    set_nonblocking(sv[0]);
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_WANT_READ);
    CHECK(fd == -1 && mon_buffer_length(buf) == 0);
    raw_send(sv[1], f + 4, sizeof f - 4, -1);
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), 0);
    CHECK(buffer_is(buf, "hello") && fd >= 0);
    CHECK(close(fd) == 0);

    CHECK_RC(mon_ipc_forget(sv[0]), 0);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    CHECK(count_fds() == before);
    mon_buffer_free(buf);
}

/* The client's receive through the channel its handshake left. */
static void channel(void)
{
    int sv[2], rc, fd = -2, before = count_fds();
    void *cst = NULL, *sst = NULL;
    mon_ipc_creds creds;
    mon_buffer *buf = mon_buffer_new(), *msg = buffer_of("late");
    int flags;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    set_passcred(sv[0]);
    set_nonblocking(sv[0]);
    set_nonblocking(sv[1]);
    rc = mon_ipc_auth_client_init(sv[1], &cst);
    while (rc == MON_CONTINUE)
        rc = mon_ipc_auth_client_step(sv[1], cst);
    CHECK_RC(rc, MON_WANT_READ);
    rc = mon_ipc_auth_server_init(sv[0], &creds, &sst);
    CHECK_RC(drive(mon_ipc_auth_server_step, sv[0], sst, rc, NULL), 0);
    mon_ipc_auth_server_end(sst);
    CHECK_RC(drive(mon_ipc_auth_client_step, sv[1], cst, MON_CONTINUE, NULL), 0);
    mon_ipc_auth_client_end(cst);

    /* Blocking client socket with a timeout. */
    flags = fcntl(sv[1], F_GETFL);
    CHECK(fcntl(sv[1], F_SETFL, flags & ~O_NONBLOCK) == 0);
    CHECK_RC(mon_ipc_set_timeout(sv[1], DEADLINE_MS), 0);
    CHECK_TIMEOUT(mon_ipc_recv_fd(sv[1], buf, &fd));
    CHECK_RC(polled_send_fd(sv[0], msg, -1), 0);
    CHECK_RC(mon_ipc_recv_fd(sv[1], buf, &fd), 0);
    CHECK(fd == -1 && buffer_is(buf, "late"));

    CHECK_RC(mon_ipc_forget(sv[0]), 0);
    CHECK_RC(mon_ipc_forget(sv[1]), 0);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);
    CHECK(count_fds() == before);
    mon_buffer_free(buf);
    mon_buffer_free(msg);
}

/* Both sides' handshake on blocking sockets with a silent peer. */
static void handshake(void)
{
    int sv[2], before = count_fds();
    void *st = NULL;
    mon_ipc_creds creds;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    set_passcred(sv[0]);
    /* The server waits for a hello that never comes. */
    CHECK_RC(mon_ipc_set_timeout(sv[0], DEADLINE_MS), 0);
    CHECK_RC(mon_ipc_auth_server_init(sv[0], &creds, &st), MON_CONTINUE);
    CHECK_TIMEOUT(mon_ipc_auth_server_step(sv[0], st));
    CHECK_RC(mon_ipc_auth_server_step(sv[0], st), MON_E_TIMEOUT); /* sticky */
    mon_ipc_auth_server_end(st);
    /* The client sends its hello, then waits for a reply that never comes. */
    CHECK_RC(mon_ipc_set_timeout(sv[1], DEADLINE_MS), 0);
    {
        long t0 = now_ms(), dt;
        int rc = mon_ipc_auth_client_init(sv[1], &st);
        CHECK_RC(rc, MON_CONTINUE);
        rc = mon_ipc_auth_client_step(sv[1], st);
        CHECK_RC(rc, MON_CONTINUE); /* the hello is out: one step at a time */
        rc = mon_ipc_auth_client_step(sv[1], st);
        dt = now_ms() - t0;
        CHECK_RC(rc, MON_E_TIMEOUT);
        printf("  client handshake: MON_E_TIMEOUT %ld ms after init (deadline %d ms)\n", dt,
               DEADLINE_MS);
        CHECK(dt >= DEADLINE_MS && dt < DEADLINE_MS + LATE_MS);
    }
    mon_ipc_auth_client_end(st);
    CHECK_RC(mon_ipc_forget(sv[0]), 0);
    CHECK_RC(mon_ipc_forget(sv[1]), 0);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);
    CHECK(count_fds() == before);
}

int main(void)
{
    alarm(60);
    printf("stream receive:\n");
    receive(SOCK_STREAM);
    printf("seqpacket receive:\n");
    receive(SOCK_SEQPACKET);
    printf("send:\n");
    sending();
    printf("mode switched mid-frame:\n");
    mode_switched();
    printf("channel receive:\n");
    channel();
    printf("handshake:\n");
    handshake();
    printf("timeouts: ok\n");
    return 0;
}
