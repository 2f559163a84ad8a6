/* Blocking client and server in two processes over a socketpair: the
   credentials the server sees, then a pipe passed with send_fd/recv_fd
   and used, a message without an fd, and EOF. No fd leaks. */
#define _GNU_SOURCE
#include "common.h"

static int client(int sock)
{
    void *st = NULL;
    mon_buffer *buf = mon_buffer_new();
    mon_buffer *bye = buffer_of("bye");
    int fd = -2, rc;
    const char *msg = "written by the child";

    rc = mon_ipc_auth_client_init(sock, &st);
    CHECK(st != NULL);
    while (rc == MON_CONTINUE)
        rc = mon_ipc_auth_client_step(sock, st);
    CHECK_RC(rc, 0);
    CHECK_RC(mon_ipc_auth_client_step(sock, st), 0); /* done stays done */
    mon_ipc_auth_client_end(st);

    /* The server sends right after its reply: this frame may have come
       with the reply's read. */
    CHECK_RC(mon_ipc_recv_fd(sock, buf, &fd), 0);
    CHECK(buffer_is(buf, "pipe"));
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK(write(fd, msg, strlen(msg)) == (ssize_t)strlen(msg));
    CHECK(close(fd) == 0);

    CHECK_RC(mon_ipc_send_fd(sock, bye, -1), 0);
    mon_buffer_free(buf);
    mon_buffer_free(bye);
    return 0;
}

int main(void)
{
    int sv[2], p[2], fd = -2, before;
    void *st = NULL;
    mon_ipc_creds creds;
    mon_buffer *buf, *out;
    pid_t child;
    char got[64];
    int rc;

    alarm(60);
    before = count_fds();
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    set_passcred(sv[0]); /* the server's end, before the client can write */

    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(sv[0]);
        rc = client(sv[1]);
        close(sv[1]);
        CHECK(count_fds() == before);
        _exit(rc);
    }
    close(sv[1]);

    memset(&creds, 0x55, sizeof creds);
    rc = mon_ipc_auth_server_init(sv[0], &creds, &st);
    CHECK(st != NULL);
    while (rc == MON_CONTINUE)
        rc = mon_ipc_auth_server_step(sv[0], st);
    CHECK_RC(rc, 0);
    mon_ipc_auth_server_end(st);
    CHECK(creds.pid == child);
    CHECK(creds.uid == geteuid());
    CHECK(creds.gid == getegid());
    printf("server: client pid %ld uid %ld gid %ld\n", (long)creds.pid,
           (long)creds.uid, (long)creds.gid);

    /* A pipe: its write end to the child, which writes into it. */
    CHECK(pipe(p) == 0);
    out = buffer_of("pipe");
    CHECK_RC(mon_ipc_send_fd(sv[0], out, p[1]), 0);
    CHECK(close(p[1]) == 0); /* ours; the child has its own */
    memset(got, 0, sizeof got);
    CHECK(read_all(p[0], got, strlen("written by the child")) == 0);
    CHECK(strcmp(got, "written by the child") == 0);
    CHECK(read(p[0], got, 1) == 0); /* the child closed its copy */
    CHECK(close(p[0]) == 0);

    /* A message without an fd. */
    buf = mon_buffer_new();
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), 0);
    CHECK(fd == -1);
    CHECK(buffer_is(buf, "bye"));

    /* The child exits: EOF at a frame boundary. */
    reap(child);
    mon_buffer_clear(buf);
    CHECK_RC(mon_ipc_recv_fd(sv[0], buf, &fd), MON_E_CLOSED);
    CHECK(fd == -1);
    CHECK(mon_buffer_length(buf) == 0);

    mon_buffer_free(buf);
    mon_buffer_free(out);
    close(sv[0]);
    CHECK(count_fds() == before);
    printf("blocking: ok\n");
    return 0;
}
