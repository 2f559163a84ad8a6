/* Non-blocking mon_ipc_recv_fd / mon_ipc_send_fd cut at every point of a
   frame:
   1. receive: the peer writes a 13-byte frame (8-byte header, 5 bytes of
      payload, one fd with the first byte) in 2 pieces cut at every byte,
      and in 3 pieces cut at every pair of bytes; after each piece but the
      last recv_fd says MON_WANT_READ (holding the fd meanwhile), after the
      last it gives the frame and its fd exactly once;
   2. an fd that comes after the frame's first byte is refused, and
      mon_ipc_forget frees a partial frame with its fd;
   3. send: a 256 KiB frame with an fd through a small socket buffer, the
      reader draining a varying number of bytes between the MON_WANT_WRITE
      retries: the bytes arrive once, in order, the fd once with the first
      byte; a different buffer or fd meanwhile is MON_E_SEND_PENDING.
   No fd leaks. */
#define _GNU_SOURCE
#include "common.h"

#include <sys/stat.h>
#include <sys/uio.h>

#define PAYLOAD "hello"
#define FRAME_LEN 13

static void frame_bytes(unsigned char f[FRAME_LEN])
{
    memset(f, 0, FRAME_LEN);
    f[0] = 5;    /* len, little-endian */
    f[4] = 1;    /* nfds */
    memcpy(f + 8, PAYLOAD, 5);
}

static int same_file(int a, int b)
{
    struct stat sa, sb;
    CHECK(fstat(a, &sa) == 0 && fstat(b, &sb) == 0);
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Sends the frame in pieces ending at cuts[0..n), then the rest; checks
   MON_WANT_READ after every piece but the last, then the frame once. */
static void recv_in_pieces(int sv[2], int pfd, const size_t *cuts, int n)
{
    unsigned char f[FRAME_LEN];
    mon_buffer *buf = mon_buffer_new();
    size_t at = 0;
    int i, fd = -2, base = count_fds();

    frame_bytes(f);
    for (i = 0; i <= n; i++) {
        size_t end = i < n ? cuts[i] : FRAME_LEN;
        raw_send(sv[1], f + at, end - at, at == 0 ? pfd : -1);
        at = end;
        if (i < n) {
            CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_WANT_READ);
            CHECK(fd == -1);
            CHECK(mon_buffer_length(buf) == 0);
            /* The fd came with the first piece: the library holds it. */
            CHECK(count_fds() == base + 1);
        }
    }
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), 0);
    CHECK(fd >= 0 && same_file(fd, pfd));
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK(buffer_is(buf, PAYLOAD));
    CHECK(close(fd) == 0);
    /* Once: nothing more to read. */
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_WANT_READ);
    CHECK(fd == -1 && buffer_is(buf, PAYLOAD));
    CHECK(count_fds() == base);
    mon_buffer_free(buf);
}

static void receive_cuts(void)
{
    int sv[2], p[2], before = count_fds(), two = 0, three = 0;
    size_t i, j, cuts[2];

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    set_nonblocking(sv[0]);
    CHECK(pipe(p) == 0);
    for (i = 1; i < FRAME_LEN; i++) {
        cuts[0] = i;
        recv_in_pieces(sv, p[1], cuts, 1);
        two++;
        for (j = i + 1; j < FRAME_LEN; j++) {
            cuts[1] = j;
            recv_in_pieces(sv, p[1], cuts, 2);
            three++;
        }
    }
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    CHECK(mon_ipc_forget(sv[0]) == 0);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);
    CHECK(count_fds() == before);
    printf("receive cuts: ok (%d two-piece, %d three-piece frames)\n", two, three);
}

static void refusals_and_forget(void)
{
    int sv[2], p[2], fd = -2, before = count_fds();
    unsigned char f[FRAME_LEN];
    mon_buffer *buf = mon_buffer_new();

    frame_bytes(f);
    CHECK(pipe(p) == 0);

    /* An fd with the frame's third byte: refused, and closed. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    set_nonblocking(sv[0]);
    raw_send(sv[1], f, 2, -1);
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_WANT_READ);
    raw_send(sv[1], f + 2, FRAME_LEN - 2, p[1]);
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_E_FDS_WITHOUT_FRAME);
    CHECK(fd == -1 && mon_buffer_length(buf) == 0);
    CHECK(mon_ipc_forget(sv[0]) == 0);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);
    CHECK(count_fds() == before + 2);

    /* A partial frame holding an fd, forgotten before close. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    set_nonblocking(sv[0]);
    raw_send(sv[1], f, 4, p[1]);
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_WANT_READ);
    CHECK(count_fds() == before + 5);
    CHECK(mon_ipc_forget(sv[0]) == 0);
    CHECK(count_fds() == before + 4);
    CHECK(mon_ipc_forget(sv[0]) == 0); /* nothing kept: no error */
    CHECK_RC(mon_ipc_forget(-1), MON_E_INVALID_ARGUMENT);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);

    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    CHECK(count_fds() == before);
    mon_buffer_free(buf);
    printf("refusals and forget: ok\n");
}

#define BIG (256u << 10)

/* Reads up to n bytes (non-blocking) into out + *got; counts fds. */
static size_t drain(int sock, unsigned char *out, size_t *got, size_t n, int *fds, int pfd)
{
    struct iovec iov;
    struct msghdr m;
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(4 * sizeof(int))];
    } c;
    struct cmsghdr *h;
    ssize_t r;
    memset(&m, 0, sizeof m);
    if (n > BIG + 8 - *got)
        n = BIG + 8 - *got;
    iov.iov_base = out + *got;
    iov.iov_len = n;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = c.b;
    m.msg_controllen = sizeof c.b;
    r = recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (r < 0) {
        CHECK(errno == EAGAIN);
        return 0;
    }
    CHECK(!(m.msg_flags & MSG_CTRUNC));
    for (h = CMSG_FIRSTHDR(&m); h != NULL; h = CMSG_NXTHDR(&m, h)) {
        int fd;
        CHECK(h->cmsg_type == SCM_RIGHTS && h->cmsg_len == CMSG_LEN(sizeof(int)));
        memcpy(&fd, CMSG_DATA(h), sizeof fd);
        CHECK(*got == 0); /* with the first byte */
        CHECK(same_file(fd, pfd));
        CHECK(close(fd) == 0);
        (*fds)++;
    }
    *got += (size_t)r;
    return (size_t)r;
}

static void send_cuts(size_t step)
{
    int sv[2], p[2], rc, fds = 0, wants = 0, pending_checked = 0, before = count_fds();
    int small = 4096;
    unsigned char *src = malloc(BIG), *out = malloc(BIG + 8);
    size_t i, got = 0;
    mon_buffer *buf = mon_buffer_new(), *other = mon_buffer_new();

    CHECK(src != NULL && out != NULL);
    for (i = 0; i < BIG; i++)
        src[i] = (unsigned char)(i * 13 + step);
    CHECK_RC(mon_buffer_append(buf, src, BIG), 0);
    CHECK_RC(mon_buffer_append(other, src, BIG - 1), 0);
    CHECK(pipe(p) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    set_nonblocking(sv[0]);

    while ((rc = mon_ipc_send_fd(sv[0], buf, p[1])) == MON_WANT_WRITE) {
        wants++;
        if (got > 0 && !pending_checked) {
            /* Part of the frame is out: only the same call continues it. */
            CHECK_RC(mon_ipc_send_fd(sv[0], other, p[1]), MON_E_SEND_PENDING);
            CHECK_RC(mon_ipc_send_fd(sv[0], buf, p[0]), MON_E_SEND_PENDING);
            CHECK_RC(mon_ipc_send_fd(sv[0], buf, -1), MON_E_SEND_PENDING);
            pending_checked = 1;
        }
        /* Drain a varying amount: 1, step, 2*step+1, ... bytes. */
        CHECK(drain(sv[1], out, &got, 1 + (size_t)wants * step % 9973, &fds, p[1]) > 0);
    }
    CHECK_RC(rc, 0);
    while (got < BIG + 8)
        CHECK(drain(sv[1], out, &got, BIG + 8 - got, &fds, p[1]) > 0);
    CHECK(drain(sv[1], out, &got, 1, &fds, p[1]) == 0); /* nothing more */
    CHECK(fds == 1);
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == (BIG >> 16) && out[3] == 0);
    CHECK(out[4] == 1 && out[5] == 0 && out[6] == 0 && out[7] == 0);
    CHECK(memcmp(out + 8, src, BIG) == 0);
    CHECK(wants > 1 && pending_checked);

    CHECK(mon_ipc_forget(sv[0]) == 0);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    CHECK(count_fds() == before);
    mon_buffer_free(buf);
    mon_buffer_free(other);
    free(src);
    free(out);
    printf("send cuts (step %zu): ok, %d MON_WANT_WRITE\n", step, wants);
}

int main(void)
{
    alarm(60);
    receive_cuts();
    refusals_and_forget();
    send_cuts(1);
    send_cuts(7);
    send_cuts(1021);
    printf("cuts: ok\n");
    return 0;
}
