/* A single-threaded server on a non-blocking socket: handshake, then
   echo each message with its fd; a connection that makes no progress for
   DEADLINE_MS is dropped. The client is a child process on a blocking
   socket with a timeout. */
#define _GNU_SOURCE /* SO_PASSCRED */
#include <monitor/monitor.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_MS 5000

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* One connection, driven until it would block. 0: wait for *want;
   1: the peer closed; < 0: error. */
static int serve(int fd, void **auth, mon_ipc_creds *creds, mon_buffer *msg,
                 int *reply_fd, int *replying, int *want)
{
    for (;;) {
        int rc;
        if (*auth != NULL) {
            rc = mon_ipc_auth_server_step(fd, *auth);
            if (rc == MON_CONTINUE)
                continue;
            if (rc == 0) {
                mon_ipc_auth_server_end(*auth);
                *auth = NULL;
                printf("client pid %ld\n", (long)creds->pid);
                continue;
            }
        } else if (*replying) {
            /* A retry after MON_WANT_WRITE: the same buffer and fd. */
            rc = mon_ipc_send_fd(fd, msg, *reply_fd);
            if (rc == 0) {
                if (*reply_fd >= 0)
                    close(*reply_fd);
                *reply_fd = -1;
                *replying = 0;
                mon_buffer_clear(msg);
                continue;
            }
        } else {
            /* A partial frame stays in the library between calls. */
            rc = mon_ipc_recv_fd(fd, msg, reply_fd);
            if (rc == 0) {
                *replying = 1;
                continue;
            }
            if (rc == MON_E_CLOSED)
                return 1;
        }
        if (rc == MON_WANT_READ || rc == MON_WANT_WRITE) {
            *want = rc;
            return 0;
        }
        return rc;
    }
}

static int server(int fd)
{
    mon_ipc_creds creds;
    void *auth = NULL;
    mon_buffer *msg = mon_buffer_new();
    int reply_fd = -1, replying = 0, want = MON_WANT_READ, rc;
    long deadline = now_ms() + DEADLINE_MS;

    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    rc = mon_ipc_auth_server_init(fd, &creds, &auth);
    while (rc >= 0) {
        struct pollfd p;
        long left = deadline - now_ms();
        p.fd = fd;
        p.events = want == MON_WANT_WRITE ? POLLOUT : POLLIN;
        p.revents = 0;
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            rc = MON_E_TIMEOUT; /* stalled: drop it */
            break;
        }
        rc = serve(fd, &auth, &creds, msg, &reply_fd, &replying, &want);
        if (rc == 1)
            break;
        deadline = now_ms() + DEADLINE_MS;
    }
    if (rc < 0)
        fprintf(stderr, "dropped: %s\n", mon_ipc_strerror(rc));
    mon_ipc_auth_server_end(auth); /* NULL-safe */
    if (reply_fd >= 0)
        close(reply_fd);
    mon_buffer_free(msg);
    mon_ipc_forget(fd); /* frees a partial frame and its fd */
    close(fd);
    return rc == 1 ? 0 : 1;
}

static int client(int fd)
{
    void *auth = NULL;
    mon_buffer *msg = mon_buffer_new();
    int p[2], got = -1, rc, ok;

    rc = mon_ipc_auth_client_init(fd, &auth);
    while (rc == MON_CONTINUE)
        rc = mon_ipc_auth_client_step(fd, auth);
    mon_ipc_auth_client_end(auth);
    mon_ipc_set_timeout(fd, DEADLINE_MS); /* blocking: MON_E_TIMEOUT */
    if (rc == 0 && pipe(p) == 0) {
        mon_buffer_append(msg, "ping", 4);
        rc = mon_ipc_send_fd(fd, msg, p[1]);
        mon_buffer_clear(msg);
        if (rc == 0)
            rc = mon_ipc_recv_fd(fd, msg, &got);
        close(p[0]);
        close(p[1]);
    }
    ok = rc == 0 && got >= 0 && mon_buffer_length(msg) == 4 &&
         memcmp(mon_buffer_data(msg), "ping", 4) == 0;
    if (got >= 0)
        close(got);
    mon_buffer_free(msg);
    mon_ipc_forget(fd);
    close(fd);
    return ok ? 0 : 1;
}

int main(void)
{
    int sv[2], on = 1, status = 1, rc;
    pid_t child;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 1;
    setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    child = fork();
    if (child == 0) {
        close(sv[0]);
        _exit(client(sv[1]));
    }
    close(sv[1]);
    rc = server(sv[0]);
    waitpid(child, &status, 0);
    printf("server %s, client %s\n", rc == 0 ? "ok" : "failed",
           status == 0 ? "ok" : "failed");
    return rc == 0 && status == 0 ? 0 : 1;
}
