/* Parity with the Rust API: mutual authentication (the client learns the
   server's credentials), the deciding server (MON_DECIDE, accept, deny,
   no_decision_pending), and the listening socket (mon_ipc_listen,
   mon_ipc_prepare_listener):
   1. in one process on a non-blocking socketpair: mutual + accept, and
      deny (the client sees MON_E_REFUSED_DENIED, the server MON_E_DENIED);
   2. input sent while the server decides (refused on accept); accept /
      deny with no decision pending, and bad arguments;
   3. a server on mon_ipc_listen with forked clients: a mutual client of
      the same uid, accepted; as root also a client that became uid/gid
      65534 before connecting, seen as such and denied;
   4. a SOCK_SEQPACKET listener made with mon_ipc_prepare_listener;
   5. the helpers' errors.
   No fd leaks. */
#define _GNU_SOURCE
#include "common.h"

#include <grp.h>
#include <sys/stat.h>
#include <sys/un.h>

#define NOBODY ((uid_t)65534)
#define NOGROUP ((gid_t)65534)

/* The new declarations, with their exact signatures. */
static int (*const client_init_mutual)(int, mon_ipc_creds *, void **) =
    mon_ipc_auth_client_init_mutual;
static int (*const server_init_decide)(int, mon_ipc_creds *, void **) =
    mon_ipc_auth_server_init_decide;
static int (*const server_accept)(int, void *) = mon_ipc_auth_server_accept;
static int (*const server_deny)(int, void *) = mon_ipc_auth_server_deny;
static int (*const listen_)(const char *, int) = mon_ipc_listen;
static int (*const prepare_listener)(int) = mon_ipc_prepare_listener;
typedef char decide_is_positive[(MON_DECIDE > MON_WANT_WRITE) ? 1 : -1];

static void fill_garbage(mon_ipc_creds *c)
{
    memset(c, 0x55, sizeof *c);
}

static int creds_are(const mon_ipc_creds *c, pid_t pid, uid_t uid, gid_t gid)
{
    return c->pid == pid && c->uid == uid && c->gid == gid;
}

/* The listener tests' policy: only processes of our own effective uid. */
static int policy_accepts(const mon_ipc_creds *c)
{
    return c->uid == geteuid();
}

/* Drives a deciding server with poll(): on MON_DECIDE checks that a step
   before the decision says MON_DECIDE again, copies *creds to *seen and
   accepts if accept_it (-1: if policy_accepts). Returns the final code. */
static int drive_deciding(int fd, void *st, int rc, const mon_ipc_creds *creds,
                          mon_ipc_creds *seen, int accept_it)
{
    int decided = 0;
    while (rc > 0) {
        if (rc == MON_DECIDE) {
            CHECK(!decided);
            decided = 1;
            CHECK_RC(mon_ipc_auth_server_step(fd, st), MON_DECIDE);
            *seen = *creds;
            if (accept_it < 0)
                accept_it = policy_accepts(creds);
            CHECK_RC(accept_it ? mon_ipc_auth_server_accept(fd, st)
                               : mon_ipc_auth_server_deny(fd, st),
                     0);
            /* Decided: a second decision is a misuse, tested elsewhere. */
            rc = MON_CONTINUE;
            continue;
        }
        if (rc == MON_WANT_READ || rc == MON_WANT_WRITE)
            wait_for(fd, rc);
        rc = mon_ipc_auth_server_step(fd, st);
    }
    CHECK(decided);
    return rc;
}

/* 1. Both sides in this process on non-blocking sockets, stepped in turn:
   neither waits for long, the other always has work (bounded). */
static void one_process(int accept_it, int mutual)
{
    int sv[2], crc, src, spins = 0, decides = 0;
    void *cst = NULL, *sst = NULL;
    mon_ipc_creds creds, server_creds, seen;

    fill_garbage(&creds);
    fill_garbage(&server_creds);
    fill_garbage(&seen);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK_RC(prepare_listener(sv[0]), 0); /* the server's end, before any write */
    set_nonblocking(sv[0]);
    set_nonblocking(sv[1]);

    src = server_init_decide(sv[0], &creds, &sst);
    CHECK_RC(src, MON_CONTINUE);
    crc = mutual ? client_init_mutual(sv[1], &server_creds, &cst)
                 : mon_ipc_auth_client_init(sv[1], &cst);
    CHECK_RC(crc, MON_CONTINUE);
    while (crc > 0 || src > 0) {
        CHECK(++spins < 1000);
        if (crc > 0)
            crc = mon_ipc_auth_client_step(sv[1], cst);
        if (src == MON_DECIDE) {
            decides++;
            /* The client is authenticated: its credentials are in. */
            CHECK(creds_are(&creds, getpid(), geteuid(), getegid()));
            CHECK_RC(mon_ipc_auth_server_step(sv[0], sst), MON_DECIDE);
            seen = creds;
            CHECK_RC(accept_it ? server_accept(sv[0], sst) : server_deny(sv[0], sst), 0);
            src = MON_CONTINUE;
        } else if (src > 0) {
            src = mon_ipc_auth_server_step(sv[0], sst);
        }
    }
    CHECK(decides == 1);
    CHECK(creds_are(&seen, getpid(), geteuid(), getegid()));
    if (accept_it) {
        CHECK_RC(src, 0);
        CHECK_RC(crc, 0);
        CHECK(creds_are(&creds, getpid(), geteuid(), getegid()));
        if (mutual) /* the server is this process too */
            CHECK(creds_are(&server_creds, getpid(), geteuid(), getegid()));
        /* After success there is nothing to decide: a misuse, sticky. */
        CHECK_RC(server_accept(sv[0], sst), MON_E_NO_DECISION_PENDING);
        CHECK_RC(mon_ipc_auth_server_step(sv[0], sst), MON_E_NO_DECISION_PENDING);
    } else {
        CHECK_RC(src, MON_E_DENIED);
        CHECK_RC(crc, MON_E_REFUSED_DENIED);
        /* Sticky on both sides. */
        CHECK_RC(mon_ipc_auth_server_step(sv[0], sst), MON_E_DENIED);
        CHECK_RC(mon_ipc_auth_client_step(sv[1], cst), MON_E_REFUSED_DENIED);
        /* A failed handshake keeps its error. */
        CHECK_RC(server_deny(sv[0], sst), MON_E_DENIED);
        if (mutual) /* not written on failure */
            CHECK(server_creds.uid == (uid_t)0x55555555);
    }
    mon_ipc_auth_server_end(sst);
    mon_ipc_auth_client_end(cst);
    close(sv[0]);
    close(sv[1]);
    printf("one process: mutual %d, %s: ok\n", mutual, accept_it ? "accepted" : "denied");
}

/* A client that writes more while the server decides is refused on
   accept after all (PROTOCOL.md 3.3, check 8): accept says 0, the steps
   fail (server MON_E_HELLO_TRAILING_BYTES, client
   MON_E_REFUSED_MALFORMED). */
static void trailing_input(void)
{
    int sv[2], crc, src, spins = 0;
    void *cst = NULL, *sst = NULL;
    mon_ipc_creds creds;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK_RC(prepare_listener(sv[0]), 0);
    set_nonblocking(sv[0]);
    set_nonblocking(sv[1]);
    CHECK_RC(server_init_decide(sv[0], &creds, &sst), MON_CONTINUE);
    CHECK_RC(mon_ipc_auth_client_init(sv[1], &cst), MON_CONTINUE);
    src = MON_CONTINUE;
    crc = MON_CONTINUE;
    while (src != MON_DECIDE) {
        CHECK(++spins < 1000);
        if (crc > 0)
            crc = mon_ipc_auth_client_step(sv[1], cst);
        src = mon_ipc_auth_server_step(sv[0], sst);
        CHECK(src > 0);
    }
    CHECK(write(sv[1], "x", 1) == 1); /* behind the client's back */
    CHECK_RC(server_accept(sv[0], sst), 0);
    while (src > 0) {
        CHECK(++spins < 1000);
        src = mon_ipc_auth_server_step(sv[0], sst);
    }
    CHECK_RC(src, MON_E_HELLO_TRAILING_BYTES);
    while (crc > 0) {
        CHECK(++spins < 1000);
        crc = mon_ipc_auth_client_step(sv[1], cst);
    }
    CHECK_RC(crc, MON_E_REFUSED_MALFORMED);
    printf("trailing input on accept: server %s, client %s: ok\n", mon_ipc_strerror(src),
           mon_ipc_strerror(crc));
    mon_ipc_auth_server_end(sst);
    mon_ipc_auth_client_end(cst);
    close(sv[0]);
    close(sv[1]);
}

/* 2. accept / deny with no decision pending, and bad arguments. */
static void misuse(void)
{
    int sv[2], other[2];
    void *st = NULL, *cst = NULL;
    mon_ipc_creds creds;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, other) == 0);

    /* A deciding server before MON_DECIDE: fails, sticky. */
    CHECK_RC(server_init_decide(sv[0], &creds, &st), MON_CONTINUE);
    CHECK_RC(server_accept(other[0], st), MON_E_INVALID_ARGUMENT); /* another fd */
    CHECK_RC(server_accept(sv[0], st), MON_E_NO_DECISION_PENDING);
    CHECK_RC(mon_ipc_auth_server_step(sv[0], st), MON_E_NO_DECISION_PENDING);
    CHECK_RC(server_deny(sv[0], st), MON_E_NO_DECISION_PENDING);
    mon_ipc_auth_server_end(st);
    CHECK_RC(server_accept(sv[0], st), MON_E_INVALID_ARGUMENT); /* ended */

    /* The manual's server never decides. */
    CHECK_RC(mon_ipc_auth_server_init(sv[0], &creds, &st), MON_CONTINUE);
    CHECK_RC(server_deny(sv[0], st), MON_E_NO_DECISION_PENDING);
    CHECK_RC(mon_ipc_auth_server_step(sv[0], st), MON_E_NO_DECISION_PENDING);
    mon_ipc_auth_server_end(st);

    /* A client state is not a server's. */
    CHECK_RC(client_init_mutual(sv[1], &creds, &cst), MON_CONTINUE);
    CHECK_RC(server_accept(sv[1], cst), MON_E_INVALID_ARGUMENT);
    CHECK_RC(server_deny(sv[1], cst), MON_E_INVALID_ARGUMENT);
    mon_ipc_auth_client_end(cst);

    CHECK_RC(server_accept(sv[0], NULL), MON_E_INVALID_ARGUMENT);
    CHECK_RC(server_deny(-1, NULL), MON_E_INVALID_ARGUMENT);

    /* NULL credentials. */
    cst = &creds;
    CHECK_RC(client_init_mutual(sv[1], NULL, &cst), MON_E_INVALID_ARGUMENT);
    CHECK(cst == NULL);
    st = &creds;
    CHECK_RC(server_init_decide(sv[0], NULL, &st), MON_E_INVALID_ARGUMENT);
    CHECK(st == NULL);
    CHECK_RC(client_init_mutual(sv[1], &creds, NULL), MON_E_INVALID_ARGUMENT);
    CHECK_RC(client_init_mutual(-1, &creds, &cst), MON_E_INVALID_ARGUMENT);
    CHECK(cst == NULL);

    CHECK(strcmp(mon_ipc_strerror(MON_DECIDE), "decide") == 0);
    CHECK(strcmp(mon_ipc_strerror(MON_E_NO_DECISION_PENDING), "no_decision_pending") == 0);

    close(sv[0]);
    close(sv[1]);
    close(other[0]);
    close(other[1]);
    printf("misuse: ok\n");
}

/* A client process: connects to path (after dropping to nobody if
   as_nobody), runs a mutual handshake and checks the server's
   credentials; expects `want` (0 or the refusal). Never returns. */
static void client_process(const char *path, int type, int as_nobody, int want,
                           pid_t server_pid, uid_t server_uid, gid_t server_gid,
                           int before)
{
    struct sockaddr_un a;
    mon_ipc_creds sc;
    void *st = NULL;
    int fd, rc;

    if (as_nobody) {
        /* Before the socket exists: SO_PEERCRED and the message's
           credentials then agree (changing ids on a connected socket is
           refused as credentials_mismatch). */
        CHECK(setgroups(0, NULL) == 0);
        CHECK(setgid(NOGROUP) == 0);
        CHECK(setuid(NOBODY) == 0);
        CHECK(geteuid() == NOBODY && getegid() == NOGROUP);
    }
    fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    CHECK(strlen(path) < sizeof a.sun_path);
    strcpy(a.sun_path, path);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);

    fill_garbage(&sc);
    rc = client_init_mutual(fd, &sc, &st);
    CHECK(st != NULL);
    CHECK_RC(drive(mon_ipc_auth_client_step, fd, st, rc, NULL), want);
    mon_ipc_auth_client_end(st);
    if (want == 0) {
        /* The server's pid, euid and egid, as the kernel attested them. */
        CHECK(creds_are(&sc, server_pid, server_uid, server_gid));
        printf("client %ld: server pid %ld uid %ld gid %ld\n", (long)getpid(),
               (long)sc.pid, (long)sc.uid, (long)sc.gid);
    }
    close(fd);
    CHECK(count_fds() == before);
    exit(0);
}

/* Accepts one connection from lfd and authenticates it with a deciding
   server that accepts only its own uid; returns the final code and the
   credentials it decided on. */
static int serve_one(int lfd, mon_ipc_creds *seen)
{
    mon_ipc_creds creds;
    void *st = NULL;
    int fd, rc, on = 0;
    socklen_t len = sizeof on;

    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    CHECK(fd >= 0);
    /* Inherited from the listener. */
    CHECK(getsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, &len) == 0 && on == 1);
    fill_garbage(&creds);
    rc = server_init_decide(fd, &creds, &st);
    CHECK(st != NULL);
    /* Decided on the credentials of MON_DECIDE (policy_accepts). */
    rc = drive_deciding(fd, st, rc, &creds, seen, -1);
    mon_ipc_auth_server_end(st);
    close(fd);
    return rc;
}

/* A unique directory for socket files, searchable by everyone (the
   nobody client connects from there). */
static void make_dir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/mon-capi-parity-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chmod(dir, 0711) == 0);
}

/* 3. / 4. A listener (made by mon_ipc_listen, or by hand and prepared),
   a mutual client of our uid (accepted) and, as root, one of nobody
   (denied). */
static void listener(int seqpacket, int before)
{
    char dir[64], path[128];
    int lfd, rc, type = seqpacket ? SOCK_SEQPACKET : SOCK_STREAM;
    int nobody = geteuid() == 0;
    mon_ipc_creds seen;
    pid_t child, me = getpid();

    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/sock", dir);
    if (seqpacket) {
        struct sockaddr_un a;
        lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        CHECK(lfd >= 0);
        CHECK_RC(prepare_listener(lfd), 0); /* before listen */
        memset(&a, 0, sizeof a);
        a.sun_family = AF_UNIX;
        strcpy(a.sun_path, path);
        CHECK(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0);
        CHECK(listen(lfd, 8) == 0);
    } else {
        lfd = listen_(path, SOMAXCONN);
        CHECK(lfd >= 0);
        CHECK(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
    }
    CHECK(chmod(path, 0666) == 0);

    /* Our uid: accepted; the client learns who we are. */
    fflush(NULL); /* nothing buffered for the child to print again */
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(lfd);
        client_process(path, type, 0, 0, me, geteuid(), getegid(), before);
    }
    fill_garbage(&seen);
    rc = serve_one(lfd, &seen);
    CHECK_RC(rc, 0);
    CHECK(creds_are(&seen, child, geteuid(), getegid()));
    reap(child);

    /* Another uid: seen as such, denied. */
    if (nobody) {
        fflush(NULL); /* nothing buffered for the child to print again */
    child = fork();
        CHECK(child >= 0);
        if (child == 0) {
            close(lfd);
            client_process(path, type, 1, MON_E_REFUSED_DENIED, 0, 0, 0, before);
        }
        fill_garbage(&seen);
        rc = serve_one(lfd, &seen);
        CHECK_RC(rc, MON_E_DENIED);
        CHECK(creds_are(&seen, child, NOBODY, NOGROUP));
        printf("server: denied pid %ld uid %ld gid %ld\n", (long)seen.pid, (long)seen.uid,
               (long)seen.gid);
        reap(child);
    } else {
        printf("SKIPPED the nobody client: not root\n");
    }

    close(lfd);
    CHECK(unlink(path) == 0);
    CHECK(rmdir(dir) == 0);
    printf("listener (%s): ok\n", seqpacket ? "seqpacket, prepared" : "mon_ipc_listen");
}

/* 5. The helpers' errors. */
static void helper_errors(void)
{
    char dir[64], path[128], longpath[200];
    int p[2], fd, on = 0;
    socklen_t len = sizeof on;
    struct stat st;

    CHECK_RC(listen_(NULL, 1), MON_E_INVALID_ARGUMENT);
    CHECK_RC(listen_("", 1), MON_E_INVALID_ARGUMENT);
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    CHECK_RC(listen_(longpath, 1), MON_E_INVALID_ARGUMENT);
    CHECK(mon_ipc_last_errno() == ENAMETOOLONG);

    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/sock", dir);
    fd = listen_(path, 1);
    CHECK(fd >= 0);
    CHECK_RC(listen_(path, 1), MON_E_IO); /* the path exists */
    CHECK(mon_ipc_last_errno() == EADDRINUSE);
    CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode)); /* and stays */
    close(fd);
    CHECK(unlink(path) == 0);
    snprintf(path, sizeof path, "%s/missing/sock", dir);
    CHECK_RC(listen_(path, 1), MON_E_IO);
    CHECK(mon_ipc_last_errno() == ENOENT);
    CHECK(rmdir(dir) == 0);

    CHECK_RC(prepare_listener(-1), MON_E_INVALID_ARGUMENT);
    CHECK(pipe(p) == 0);
    CHECK_RC(prepare_listener(p[0]), MON_E_UNSUPPORTED_SOCKET);
    close(p[0]);
    close(p[1]);
    CHECK_RC(prepare_listener(p[0]), MON_E_INVALID_ARGUMENT); /* closed */
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    CHECK_RC(prepare_listener(fd), MON_E_UNSUPPORTED_SOCKET);
    close(fd);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        CHECK_RC(prepare_listener(fd), MON_E_UNSUPPORTED_SOCKET);
        close(fd);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    CHECK_RC(prepare_listener(fd), 0);
    CHECK(getsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, &len) == 0 && on == 1);
    close(fd);
    printf("helper errors: ok\n");
}

int main(void)
{
    int before;

    alarm(60);
    before = count_fds();
    one_process(1, 1);
    one_process(1, 0);
    one_process(0, 1);
    one_process(0, 0);
    trailing_input();
    misuse();
    listener(0, before);
    listener(1, before);
    helper_errors();
    CHECK(count_fds() == before);
    printf("parity: ok\n");
    return 0;
}
