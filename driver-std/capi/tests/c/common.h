/* Helpers shared by the C tests of libmonitor. C99 + POSIX + Linux. */
#ifndef MON_TEST_COMMON_H
#define MON_TEST_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <monitor/monitor.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: [pid %ld] check failed: %s\n", __FILE__,  \
                    __LINE__, (long)getpid(), #cond);                          \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

/* A call that must return exactly `want`; prints the code string if not. */
#define CHECK_RC(call, want)                                                   \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ != (want)) {                                                   \
            fprintf(stderr, "%s:%d: [pid %ld] %s = %d (%s), want %d (%s)\n",   \
                    __FILE__, __LINE__, (long)getpid(), #call, rc_,            \
                    mon_ipc_strerror(rc_), (want), mon_ipc_strerror(want));    \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

/* The number of open fds of this process, from /proc/self/fd (the
   directory's own fd not counted). */
static inline int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    CHECK(d != NULL);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1;
}

static inline void set_passcred(int fd)
{
    int on = 1;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
}

static inline void set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl != -1);
    CHECK(fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
}

/* Waits for a child and checks that it exited with 0. */
static inline void reap(pid_t pid)
{
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child %ld failed (status %d)\n", (long)pid, status);
        exit(1);
    }
}

/* Waits until fd is readable (want == MON_WANT_READ) or writable. */
static inline void wait_for(int fd, int want)
{
    struct pollfd p;
    p.fd = fd;
    p.events = want == MON_WANT_READ ? POLLIN : POLLOUT;
    p.revents = 0;
    CHECK(poll(&p, 1, 10000) == 1);
}

/* Drives a handshake step function with poll() to its final code (0 or
   an error), counting the MON_WANT_READ seen in *want_reads unless NULL.
   Not for a deciding server: MON_DECIDE fails the test. */
static inline int drive(int (*step)(int, void *), int fd, void *st, int rc, int *want_reads)
{
    while (rc > 0) {
        CHECK(rc != MON_DECIDE);
        if (rc == MON_WANT_READ || rc == MON_WANT_WRITE) {
            if (rc == MON_WANT_READ && want_reads)
                (*want_reads)++;
            wait_for(fd, rc);
        }
        rc = step(fd, st);
    }
    return rc;
}

/* A buffer holding the bytes of a string (without its NUL). */
static inline mon_buffer *buffer_of(const char *s)
{
    mon_buffer *b = mon_buffer_new();
    CHECK(b != NULL);
    CHECK_RC(mon_buffer_append(b, s, strlen(s)), 0);
    return b;
}

/* Whether the buffer holds exactly the bytes of s. */
static inline int buffer_is(const mon_buffer *b, const char *s)
{
    size_t n = strlen(s);
    return mon_buffer_length(b) == n && memcmp(mon_buffer_data(b), s, n) == 0;
}

/* Reads exactly n bytes (blocking fd); returns 0 on success. */
static inline int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One raw sendmsg of n bytes, with fd (or -1) in SCM_RIGHTS. */
static inline void raw_send(int sock, const unsigned char *p, size_t n, int fd)
{
    struct iovec iov;
    struct msghdr m;
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } c;
    memset(&m, 0, sizeof m);
    memset(&c, 0, sizeof c);
    iov.iov_base = (void *)p;
    iov.iov_len = n;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (fd >= 0) {
        struct cmsghdr *h;
        m.msg_control = c.b;
        m.msg_controllen = sizeof c.b;
        h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &fd, sizeof fd);
    }
    CHECK(sendmsg(sock, &m, MSG_NOSIGNAL) == (ssize_t)n);
}

/* The resumable calls, waiting with poll() while they say MON_WANT_*
   (a no-op loop on a blocking socket). */
static inline int polled_recv_fd(int sock, mon_buffer *buf, int *fd)
{
    int rc;
    while ((rc = mon_ipc_recv_fd(sock, buf, fd)) == MON_WANT_READ)
        wait_for(sock, rc);
    return rc;
}

static inline int polled_send_fd(int sock, mon_buffer *buf, int fd)
{
    int rc;
    while ((rc = mon_ipc_send_fd(sock, buf, fd)) == MON_WANT_WRITE)
        wait_for(sock, rc);
    return rc;
}

static inline int polled_recv_shm(int sock, mon_buffer *app, mon_shm **shm)
{
    int rc;
    while ((rc = mon_ipc_recv_shm(sock, app, shm)) == MON_WANT_READ)
        wait_for(sock, rc);
    return rc;
}

static inline int polled_send_shm(int sock, const mon_shm *shm, const mon_buffer *app)
{
    int rc;
    while ((rc = mon_ipc_send_shm(sock, shm, app)) == MON_WANT_WRITE)
        wait_for(sock, rc);
    return rc;
}

#endif
