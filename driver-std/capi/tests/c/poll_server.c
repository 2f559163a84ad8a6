/* A single-threaded poll() server on non-blocking sockets, 100 clients
   (threads of this process, blocking sockets):
   - 98 clients authenticate and make 3 exchanges each: a message with the
     write end of a pipe, echoed back by the server with the same fd;
   - client 0 authenticates, sends half a frame header and stalls;
   - client 1 authenticates, asks for an 8 MiB reply and never reads it.
   The server keeps a deadline per connection (poll's timeout, reset on
   each readiness of that connection) and drops a connection that misses
   it: exactly the two stalled ones, while every other client completes.
   No fd leaks (/proc/self/fd before and after); no sleeps.

   The deadlines are armed only once the 98 have completed and both
   stalled clients have said (through an eventfd) that their stall is in
   the socket: so the two stalls cannot hold up the others (which complete
   while both are connected), and no healthy client can miss a deadline
   however slowly it runs (valgrind serialises the 101 threads, and the
   tests run in parallel on a loaded machine: a time budget for them
   failed once). */
#define _GNU_SOURCE
#include "common.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#define CLIENTS 100
#define EXCHANGES 3
#define STALL_HEADER 0
#define STALL_READ 1
#define BIG ((size_t)8 << 20)
#define DEADLINE_MS 100

static int stalls_fd;  /* an eventfd: a stalled client's stall is in the socket */
static int stalls;     /* how many are (atomic) */

static struct sockaddr_un addr;
static socklen_t addr_len;
static int client_ok[CLIENTS];

static long now_ms(void)
{
    struct timespec t;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t) == 0);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int same_file(int a, int b)
{
    struct stat sa, sb;
    CHECK(fstat(a, &sa) == 0 && fstat(b, &sb) == 0);
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Tells the server this client's stall is in the socket, then waits
   until the server closes the connection (main's alarm() is the guard
   against a hang). */
static void stall_until_hangup(int s)
{
    struct pollfd p;
    uint64_t one = 1;
    __atomic_add_fetch(&stalls, 1, __ATOMIC_SEQ_CST);
    CHECK(write(stalls_fd, &one, sizeof one) == sizeof one);
    p.fd = s;
    p.events = 0;
    p.revents = 0;
    CHECK(poll(&p, 1, -1) == 1 && (p.revents & POLLHUP));
}

static void *client(void *arg)
{
    int i = (int)(ptrdiff_t)arg, s, rc, e;
    void *st = NULL;

    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(s >= 0);
    CHECK(connect(s, (struct sockaddr *)&addr, addr_len) == 0);
    /* A guard against a hang, not a synchronisation: the handshake's
       default deadline (10 s) is too short for 101 threads that valgrind
       runs one at a time beside the other tests (it failed once). */
    CHECK_RC(mon_ipc_set_timeout(s, 120000), 0);
    rc = mon_ipc_auth_client_init(s, &st);
    while (rc == MON_CONTINUE)
        rc = mon_ipc_auth_client_step(s, st);
    CHECK_RC(rc, 0);
    mon_ipc_auth_client_end(st);

    if (i == STALL_HEADER) {
        CHECK(write(s, "\x05\0\0\0", 4) == 4);
        stall_until_hangup(s);
    } else if (i == STALL_READ) {
        mon_buffer *big = buffer_of("big");
        CHECK_RC(mon_ipc_send_fd(s, big, -1), 0);
        mon_buffer_free(big);
        stall_until_hangup(s);
    } else {
        for (e = 0; e < EXCHANGES; e++) {
            char text[64];
            int p[2], fd = -2;
            mon_buffer *out, *in = mon_buffer_new();
            snprintf(text, sizeof text, "client %d exchange %d", i, e);
            out = buffer_of(text);
            CHECK(pipe(p) == 0);
            CHECK_RC(mon_ipc_send_fd(s, out, p[1]), 0);
            CHECK_RC(mon_ipc_recv_fd(s, in, &fd), 0);
            CHECK(buffer_is(in, text));
            CHECK(fd >= 0 && same_file(fd, p[1]));
            CHECK(close(fd) == 0 && close(p[0]) == 0 && close(p[1]) == 0);
            mon_buffer_free(in);
            mon_buffer_free(out);
        }
    }
    client_ok[i] = 1;
    CHECK_RC(mon_ipc_forget(s), 0);
    CHECK(close(s) == 0);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The server. */

struct conn {
    int fd;          /* -1: free */
    void *auth;      /* the handshake, until it is done */
    mon_ipc_creds creds;
    int want;        /* MON_WANT_READ or MON_WANT_WRITE */
    long deadline;
    mon_buffer *in;
    mon_buffer *reply;  /* the frame being sent, or NULL */
    int reply_fd;       /* its fd, ours, or -1 */
    int exchanges;
};

static struct conn conns[CLIENTS];
static mon_buffer *big_reply;

/* Runs a connection until it would block: 0 (wait for c->want), 1 (the
   client closed) or an error code. */
static int serve(struct conn *c)
{
    int rc, fd;
    for (;;) {
        if (c->auth != NULL) {
            rc = mon_ipc_auth_server_step(c->fd, c->auth);
            if (rc == MON_CONTINUE)
                continue;
            if (rc == MON_WANT_READ || rc == MON_WANT_WRITE) {
                c->want = rc;
                return 0;
            }
            mon_ipc_auth_server_end(c->auth);
            c->auth = NULL;
            if (rc != 0)
                return rc;
        } else if (c->reply != NULL) {
            rc = mon_ipc_send_fd(c->fd, c->reply, c->reply_fd);
            if (rc == MON_WANT_WRITE) {
                c->want = rc;
                return 0;
            }
            if (rc != 0)
                return rc;
            if (c->reply_fd >= 0)
                CHECK(close(c->reply_fd) == 0);
            c->reply_fd = -1;
            if (c->reply != big_reply)
                mon_buffer_free(c->reply);
            c->reply = NULL;
            c->exchanges++;
        } else {
            rc = mon_ipc_recv_fd(c->fd, c->in, &fd);
            if (rc == MON_WANT_READ) {
                c->want = rc;
                return 0;
            }
            if (rc == MON_E_CLOSED)
                return 1;
            if (rc != 0)
                return rc;
            if (buffer_is(c->in, "big")) {
                c->reply = big_reply;
                if (fd >= 0)
                    CHECK(close(fd) == 0);
            } else {
                c->reply = c->in; /* echo, with the same fd */
                c->reply_fd = fd;
                c->in = mon_buffer_new();
            }
            mon_buffer_clear(c->in);
        }
    }
}

/* Ends a connection: everything the library keeps for it, then close. */
static void drop(struct conn *c)
{
    if (c->auth != NULL)
        mon_ipc_auth_server_end(c->auth);
    CHECK_RC(mon_ipc_forget(c->fd), 0);
    CHECK(close(c->fd) == 0);
    if (c->reply_fd >= 0)
        CHECK(close(c->reply_fd) == 0);
    if (c->reply != NULL && c->reply != big_reply)
        mon_buffer_free(c->reply);
    mon_buffer_free(c->in);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->reply_fd = -1;
}

static void run_server(int listener, int *completed, int *dropped, int *dropped_mask)
{
    int accepted = 0, live = 0, armed = 0, i;
    struct pollfd pfds[CLIENTS + 2];
    int which[CLIENTS + 2];

    while (accepted < CLIENTS || live > 0) {
        int n = 0, timeout = -1;
        long now = now_ms();
        if (!armed && *completed == CLIENTS - 2 &&
            __atomic_load_n(&stalls, __ATOMIC_SEQ_CST) == 2) {
            armed = 1; /* a fresh deadline for the two left */
            for (i = 0; i < CLIENTS; i++)
                conns[i].deadline = now + DEADLINE_MS;
        }
        pfds[n].fd = stalls_fd;
        pfds[n].events = POLLIN;
        which[n++] = -2;
        if (accepted < CLIENTS) {
            pfds[n].fd = listener;
            pfds[n].events = POLLIN;
            which[n++] = -1;
        }
        for (i = 0; i < CLIENTS; i++) {
            long left;
            if (conns[i].fd < 0)
                continue;
            pfds[n].fd = conns[i].fd;
            pfds[n].events = conns[i].want == MON_WANT_WRITE ? POLLOUT : POLLIN;
            which[n++] = i;
            if (!armed)
                continue;
            left = conns[i].deadline - now;
            if (left < 0)
                left = 0;
            if (timeout < 0 || left < timeout)
                timeout = (int)left;
        }
        CHECK(poll(pfds, (nfds_t)n, timeout) >= 0);
        now = now_ms();
        for (i = 0; i < n; i++) {
            struct conn *c;
            int rc;
            if (pfds[i].revents == 0)
                continue;
            if (which[i] == -2) {
                uint64_t count;
                CHECK(read(stalls_fd, &count, sizeof count) == sizeof count);
                continue;
            }
            if (which[i] < 0) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    int k = 0;
                    while (conns[k].fd >= 0)
                        k++;
                    c = &conns[k];
                    c->fd = fd;
                    c->in = mon_buffer_new();
                    c->reply_fd = -1;
                    CHECK_RC(mon_ipc_auth_server_init(fd, &c->creds, &c->auth), MON_CONTINUE);
                    c->want = MON_WANT_READ;
                    c->deadline = now + DEADLINE_MS;
                    accepted++;
                    live++;
                }
                CHECK(errno == EAGAIN);
                continue;
            }
            c = &conns[which[i]];
            c->deadline = now + DEADLINE_MS;
            rc = serve(c);
            if (rc == 1) {
                CHECK(c->exchanges == EXCHANGES);
                (*completed)++;
                drop(c);
                live--;
            } else if (rc != 0) {
                fprintf(stderr, "connection failed: %s\n", mon_ipc_strerror(rc));
                exit(1);
            }
        }
        /* The deadline: drop whoever missed it. */
        for (i = 0; armed && i < CLIENTS; i++) {
            if (conns[i].fd >= 0 && conns[i].deadline <= now) {
                /* Only the two stalled clients may get here: one with
                   half a header, one with the big reply pending. */
                CHECK(conns[i].exchanges == 0);
                *dropped_mask |= conns[i].reply == big_reply ? 2 : 1;
                (*dropped)++;
                drop(&conns[i]);
                live--;
            }
        }
    }
}

int main(void)
{
    int before = count_fds(), listener, i, on = 1;
    int completed = 0, dropped = 0, dropped_mask = 0, clients_ok = 0;
    pthread_t threads[CLIENTS];
    long t0 = now_ms();
    unsigned char *chunk;

    alarm(600); /* a hang guard only */
    stalls_fd = eventfd(0, EFD_CLOEXEC);
    CHECK(stalls_fd >= 0);
    for (i = 0; i < CLIENTS; i++) {
        conns[i].fd = -1;
        conns[i].reply_fd = -1;
    }
    big_reply = mon_buffer_new();
    chunk = calloc(1, BIG);
    CHECK(chunk != NULL);
    CHECK_RC(mon_buffer_append(big_reply, chunk, BIG), 0);
    free(chunk);

    /* An abstract socket: nothing to clean up. */
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "mon-ipc-poll-server-%ld", (long)getpid());
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(addr.sun_path + 1));
    listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    CHECK(listener >= 0);
    CHECK(setsockopt(listener, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
    CHECK(bind(listener, (struct sockaddr *)&addr, addr_len) == 0);
    CHECK(listen(listener, CLIENTS) == 0);

    for (i = 0; i < CLIENTS; i++)
        CHECK(pthread_create(&threads[i], NULL, client, (void *)(ptrdiff_t)i) == 0);
    run_server(listener, &completed, &dropped, &dropped_mask);
    for (i = 0; i < CLIENTS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        clients_ok += client_ok[i];
    }
    CHECK(close(listener) == 0);
    CHECK(close(stalls_fd) == 0);
    mon_buffer_free(big_reply);

    printf("poll server: %d clients completed %d exchanges each, %d dropped "
           "(half header: %s, unread 8 MiB: %s), fds before %d after %d, %ld ms\n",
           completed, EXCHANGES, dropped, dropped_mask & 1 ? "yes" : "no",
           dropped_mask & 2 ? "yes" : "no", before, count_fds(), now_ms() - t0);
    CHECK(completed == CLIENTS - 2);
    CHECK(dropped == 2 && dropped_mask == 3);
    CHECK(clients_ok == CLIENTS);
    CHECK(count_fds() == before);
    return 0;
}
