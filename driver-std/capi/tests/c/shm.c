/* Shared memory from C: a child creates, writes and sends a region, the
   parent receives and reads the same bytes (stream and seqpacket, blocking
   and not, and through the channel a client handshake leaves); a
   read-only region arrives read-only; after the hand-over nobody can
   resize it (EPERM); raw frames built here by hand carrying an unsealed
   memfd, a memfd of the wrong size, a pipe, a regular file, a write-only
   memfd, missing announced seals or no fd are each refused with their
   code, nothing mapped and the fd closed. At the end /proc/self/fd and the
   memfd mappings of /proc/self/maps are as they were. */
#define _GNU_SOURCE
#include "common.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW)
#define TMPFS_MAGIC_ 0x01021994

#define SIZE ((size_t)1 << 20)

/* Mappings of memfds ("/memfd:NAME (deleted)") in /proc/self/maps. */
static int count_memfd_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int n = 0;
    CHECK(f != NULL);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, "/memfd:") != NULL)
            n++;
    }
    fclose(f);
    return n;
}

/* The permissions ("rw-s") of the mapping that starts at addr. */
static void perms_of(const void *addr, char perms[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    CHECK(f != NULL);
    while (!found && fgets(line, sizeof line, f) != NULL) {
        unsigned long start = 0;
        char p[5];
        if (sscanf(line, "%lx-%*x %4s", &start, p) == 2 && start == (unsigned long)(uintptr_t)addr) {
            memcpy(perms, p, 5);
            found = 1;
        }
    }
    fclose(f);
    CHECK(found);
}

static void pattern(unsigned char *p, size_t n, unsigned seed)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 31u + seed) & 0xff);
}

static int seals_of(int fd)
{
    int s = fcntl(fd, F_GET_SEALS);
    CHECK(s != -1);
    return s;
}

/* Nobody can resize a region once it is handed over. */
static void check_not_resizable(int fd, size_t size)
{
    errno = 0;
    CHECK(ftruncate(fd, 0) == -1 && errno == EPERM);
    errno = 0;
    CHECK(ftruncate(fd, (off_t)(size * 2)) == -1 && errno == EPERM);
    CHECK((seals_of(fd) & REQUIRED_SEALS) == REQUIRED_SEALS);
}

/* ------------------------------------------------------------------ */
/* A child writes, the parent reads the same bytes. */

static unsigned char expect[SIZE];

static int writer(int sock, int read_only, unsigned delay_ms)
{
    mon_shm *shm = NULL;
    mon_buffer *app = buffer_of("region");
    unsigned char *p, tmp[64], back[16];
    int fd;

    if (delay_ms > 0)
        usleep(delay_ms * 1000u);
    CHECK_RC(mon_ipc_shm_create(SIZE, &shm), 0);
    CHECK(shm != NULL && mon_ipc_shm_size(shm) == SIZE);
    fd = mon_ipc_shm_fd(shm);
    CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
    /* Sealed against resizing at once, not yet against sealing. */
    CHECK((seals_of(fd) & (F_SEAL_SHRINK | F_SEAL_GROW)) == (F_SEAL_SHRINK | F_SEAL_GROW));
    CHECK((seals_of(fd) & F_SEAL_SEAL) == 0);

    /* Half through the copy function, half through the pointer. */
    CHECK_RC(mon_ipc_shm_write(shm, 0, expect, SIZE / 2), 0);
    p = mon_ipc_shm_data_mut(shm);
    CHECK(p != NULL && (const void *)p == mon_ipc_shm_data(shm));
    memcpy(p + SIZE / 2, expect + SIZE / 2, SIZE / 2);
    CHECK_RC(mon_ipc_shm_read(shm, SIZE - 64, tmp, 64), 0);
    CHECK(memcmp(tmp, expect + SIZE - 64, 64) == 0);

    if (read_only) {
        CHECK_RC(mon_ipc_shm_seal_read_only(shm), 0);
        CHECK_RC(mon_ipc_shm_seal_read_only(shm), 0); /* again: no-op */
        CHECK(mon_ipc_shm_data_mut(shm) == NULL);
        CHECK(memcmp(mon_ipc_shm_data(shm), expect, SIZE) == 0);
        CHECK_RC(mon_ipc_shm_write(shm, 0, "x", 1), MON_E_SHM_READ_ONLY);
        CHECK(seals_of(fd) & F_SEAL_WRITE);
    }

    CHECK_RC(polled_send_shm(sock, shm, app), 0);
    /* After the hand-over: resizing fails with EPERM, and no seal can be
       added any more. */
    check_not_resizable(fd, SIZE);
    if (!read_only) {
        CHECK_RC(mon_ipc_shm_seal_read_only(shm), MON_E_IO);
        CHECK(mon_ipc_last_errno() == EPERM);
        /* The mapping is shared: wait for the parent's answer in it. */
        CHECK(read_all(sock, tmp, 1) == 0);
        CHECK_RC(mon_ipc_shm_read(shm, 4096, back, 12), 0);
        CHECK(memcmp(back, "from parent!", 12) == 0);
    }
    mon_ipc_shm_free(shm);
    mon_buffer_free(app);
    return 0;
}

static void hand_over(int type, int read_only, int nonblocking)
{
    int sv[2], before = count_fds(), maps = count_memfd_maps(), fd;
    mon_shm *shm = (mon_shm *)&sv; /* must be overwritten */
    mon_buffer *app = buffer_of("app:");
    unsigned char buf[256];
    char perms[5];
    const unsigned char *p;
    pid_t child;

    CHECK(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0);
    fflush(stdout); /* or a child could print the parent's buffer again */
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(sv[0]);
        writer(sv[1], read_only, nonblocking ? 100 : 0);
        close(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    if (nonblocking)
        set_nonblocking(sv[0]); /* MON_WANT_READ until the child sends */

    CHECK_RC(polled_recv_shm(sv[0], app, &shm), 0);
    CHECK(shm != NULL);
    CHECK(buffer_is(app, "app:region"));
    CHECK(mon_ipc_shm_size(shm) == SIZE);
    fd = mon_ipc_shm_fd(shm);
    CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
    check_not_resizable(fd, SIZE);
    CHECK(count_memfd_maps() == maps + 1);

    /* The same bytes, by copy and in place. */
    CHECK_RC(mon_ipc_shm_read(shm, 1000, buf, sizeof buf), 0);
    CHECK(memcmp(buf, expect + 1000, sizeof buf) == 0);
    p = mon_ipc_shm_data(shm);
    CHECK(p != NULL && memcmp(p, expect, SIZE) == 0);
    CHECK_RC(mon_ipc_shm_read(shm, SIZE - 1, buf, 2), MON_E_SHM_OUT_OF_RANGE);
    CHECK_RC(mon_ipc_shm_read(shm, SIZE, buf, 0), 0);

    perms_of(p, perms);
    if (read_only) {
        CHECK(seals_of(fd) & F_SEAL_WRITE);
        CHECK(mon_ipc_shm_data_mut(shm) == NULL);
        CHECK_RC(mon_ipc_shm_write(shm, 0, "x", 1), MON_E_SHM_READ_ONLY);
        CHECK(strcmp(perms, "r--s") == 0);
    } else {
        CHECK(strcmp(perms, "rw-s") == 0);
        CHECK(mon_ipc_shm_data_mut(shm) == p);
        CHECK_RC(mon_ipc_shm_write(shm, 4096, "from parent!", 12), 0);
        CHECK(write(sv[0], "k", 1) == 1);
    }
    reap(child);
    mon_ipc_shm_free(shm);
    mon_buffer_free(app);
    close(sv[0]);
    CHECK(count_fds() == before);
    CHECK(count_memfd_maps() == maps);
    printf("hand-over %s%s%s: ok\n", type == SOCK_STREAM ? "stream" : "seqpacket",
           read_only ? ", read-only" : "", nonblocking ? ", non-blocking" : "");
}

/* ------------------------------------------------------------------ */
/* Through the channel a client handshake leaves: the server sends right
   after its reply, so the frame may come with the reply's read. */

static void after_handshake(void)
{
    int sv[2], before = count_fds(), maps = count_memfd_maps(), rc;
    void *st = NULL;
    mon_shm *shm = NULL;
    mon_buffer *app = mon_buffer_new();
    unsigned char b[8];
    pid_t child;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    set_passcred(sv[0]);
    fflush(stdout); /* or a child could print the parent's buffer again */
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        mon_ipc_creds creds;
        mon_shm *r = NULL;
        close(sv[1]);
        rc = mon_ipc_auth_server_init(sv[0], &creds, &st);
        while (rc == MON_CONTINUE)
            rc = mon_ipc_auth_server_step(sv[0], st);
        CHECK_RC(rc, 0);
        mon_ipc_auth_server_end(st);
        CHECK_RC(mon_ipc_shm_create(4096, &r), 0);
        CHECK_RC(mon_ipc_shm_write(r, 8, "handshake", 9), 0);
        CHECK_RC(mon_ipc_send_shm(sv[0], r, NULL), 0);
        mon_ipc_shm_free(r);
        close(sv[0]);
        _exit(0);
    }
    close(sv[0]);
    rc = mon_ipc_auth_client_init(sv[1], &st);
    while (rc == MON_CONTINUE)
        rc = mon_ipc_auth_client_step(sv[1], st);
    CHECK_RC(rc, 0);
    mon_ipc_auth_client_end(st);
    CHECK_RC(mon_ipc_recv_shm(sv[1], app, &shm), 0);
    CHECK(mon_buffer_length(app) == 0);
    CHECK_RC(mon_ipc_shm_read(shm, 8, b, 8), 0);
    CHECK(memcmp(b, "handshak", 8) == 0);
    mon_ipc_shm_free(shm);
    reap(child);
    CHECK_RC(mon_ipc_recv_shm(sv[1], app, &shm), MON_E_CLOSED);
    CHECK(shm == NULL);
    close(sv[1]);
    mon_buffer_free(app);
    CHECK(count_fds() == before);
    CHECK(count_memfd_maps() == maps);
    printf("after a handshake: ok\n");
}

/* ------------------------------------------------------------------ */
/* Raw frames from a child, each refused with its code. */

/* Frame header (8) + shm header (12), with `fd` attached unless -1. */
static void send_raw_shm(int sock, int fd, uint64_t size, uint32_t seals)
{
    unsigned char frame[20];
    int i;

    memset(frame, 0, sizeof frame);
    frame[0] = 12;            /* len, u32 LE */
    frame[4] = fd >= 0;       /* nfds */
    frame[5] = 1;             /* kind: shared memory */
    for (i = 0; i < 8; i++)   /* size, u64 LE */
        frame[8 + i] = (unsigned char)(size >> (8 * i));
    for (i = 0; i < 4; i++)   /* seals, u32 LE */
        frame[16 + i] = (unsigned char)(seals >> (8 * i));
    raw_send(sock, frame, sizeof frame, fd);
}

static int sealed_memfd(size_t size, unsigned seals)
{
    int fd = memfd_create("raw", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, (off_t)size) == 0);
    if (seals != 0)
        CHECK(fcntl(fd, F_ADD_SEALS, seals) == 0);
    return fd;
}

enum bad {
    UNSEALED,
    WRONG_SIZE,
    PIPE,
    REGULAR_FILE,
    WRITE_ONLY,
    ANNOUNCED_NOT_APPLIED,
    ANNOUNCED_TOO_FEW,
    NO_FD,
    DATA_FRAME
};

static const char *tmpdir(void)
{
    const char *d = getenv("MON_TEST_TMPDIR");
    return d != NULL && d[0] != '\0' ? d : "/tmp";
}

/* Whether files in tmpdir() are on tmpfs (there F_GET_SEALS answers
   F_SEAL_SEAL: shm_seals_missing, elsewhere it fails: shm_not_memfd). */
static int tmpdir_is_tmpfs(void)
{
    struct statfs s;
    CHECK(statfs(tmpdir(), &s) == 0);
    return s.f_type == TMPFS_MAGIC_;
}

static void send_bad(int sock, enum bad what)
{
    int fd = -1, p[2];
    char path[4096];
    mon_buffer *b;

    switch (what) {
    case UNSEALED: /* allows sealing, carries none */
        fd = sealed_memfd(4096, 0);
        send_raw_shm(sock, fd, 4096, REQUIRED_SEALS);
        break;
    case WRONG_SIZE:
        fd = sealed_memfd(4096, REQUIRED_SEALS);
        send_raw_shm(sock, fd, 8192, REQUIRED_SEALS);
        break;
    case PIPE:
        CHECK(pipe(p) == 0);
        send_raw_shm(sock, p[0], 4096, REQUIRED_SEALS);
        close(p[1]);
        fd = p[0];
        break;
    case REGULAR_FILE:
        snprintf(path, sizeof path, "%s/mon-shm-test-%ld", tmpdir(), (long)getpid());
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        CHECK(unlink(path) == 0);
        CHECK(ftruncate(fd, 4096) == 0);
        send_raw_shm(sock, fd, 4096, REQUIRED_SEALS);
        break;
    case WRITE_ONLY: {
        int rw = sealed_memfd(4096, REQUIRED_SEALS);
        snprintf(path, sizeof path, "/proc/self/fd/%d", rw);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        close(rw);
        send_raw_shm(sock, fd, 4096, REQUIRED_SEALS);
        break;
    }
    case ANNOUNCED_NOT_APPLIED: /* announces F_SEAL_WRITE, lacks it */
        fd = sealed_memfd(4096, REQUIRED_SEALS);
        send_raw_shm(sock, fd, 4096, REQUIRED_SEALS | F_SEAL_WRITE);
        break;
    case ANNOUNCED_TOO_FEW: /* the frame itself announces no F_SEAL_SEAL */
        fd = sealed_memfd(4096, REQUIRED_SEALS);
        send_raw_shm(sock, fd, 4096, F_SEAL_SHRINK | F_SEAL_GROW);
        break;
    case NO_FD:
        send_raw_shm(sock, -1, 4096, REQUIRED_SEALS);
        break;
    case DATA_FRAME:
        CHECK(pipe(p) == 0);
        b = buffer_of("data");
        CHECK_RC(mon_ipc_send_fd(sock, b, p[0]), 0);
        mon_buffer_free(b);
        close(p[1]);
        fd = p[0];
        break;
    }
    if (fd >= 0)
        close(fd);
}

static void refused(int type, enum bad what, int want, const char *name)
{
    int sv[2], before = count_fds(), maps = count_memfd_maps();
    mon_shm *shm = (mon_shm *)&sv;
    mon_buffer *app = buffer_of("kept");
    pid_t child;

    CHECK(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0);
    fflush(stdout); /* or a child could print the parent's buffer again */
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(sv[0]);
        send_bad(sv[1], what);
        close(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    CHECK_RC(mon_ipc_recv_shm(sv[0], app, &shm), want);
    CHECK(shm == NULL);
    CHECK(buffer_is(app, "kept")); /* nothing appended */
    CHECK(count_fds() == before + 1);  /* only the socket: the fd was closed */
    CHECK(count_memfd_maps() == maps); /* nothing mapped */
    reap(child);
    close(sv[0]);
    mon_buffer_free(app);
    CHECK(count_fds() == before);
    printf("refused %-9s %-32s %s\n", type == SOCK_STREAM ? "stream" : "seqpacket", name,
           mon_ipc_strerror(want));
}

static void refusals(int type)
{
    refused(type, UNSEALED, MON_E_SHM_SEALS_MISSING, "unsealed memfd");
    refused(type, WRONG_SIZE, MON_E_SHM_SIZE_MISMATCH, "memfd of the wrong size");
    refused(type, PIPE, MON_E_SHM_NOT_MEMFD, "pipe");
    refused(type, REGULAR_FILE, tmpdir_is_tmpfs() ? MON_E_SHM_SEALS_MISSING : MON_E_SHM_NOT_MEMFD,
            "regular file");
    refused(type, WRITE_ONLY, MON_E_SHM_NOT_READABLE, "write-only memfd");
    refused(type, ANNOUNCED_NOT_APPLIED, MON_E_SHM_SEALS_MISSING, "announced seal not applied");
    refused(type, ANNOUNCED_TOO_FEW, MON_E_SHM_SEALS, "announces too few seals");
    refused(type, NO_FD, MON_E_SHM_FD_COUNT, "no fd");
    refused(type, DATA_FRAME, MON_E_SHM_EXPECTED, "data frame");
}

/* ------------------------------------------------------------------ */
/* Arguments, and a region of size 0, in one process. */

static void arguments(void)
{
    int sv[2], p[2], closed, before = count_fds(), maps = count_memfd_maps();
    mon_shm *shm = NULL, *got = (mon_shm *)&sv, *empty = NULL;
    mon_buffer *app = mon_buffer_new();
    unsigned char b[16];
    unsigned char *m;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(pipe(p) == 0);

    CHECK_RC(mon_ipc_shm_create(64, NULL), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_shm_create(64, &shm), 0);
    CHECK_RC(mon_ipc_shm_seal_read_only(NULL), MON_E_INVALID_ARGUMENT);
    CHECK(mon_ipc_shm_size(NULL) == 0);
    CHECK(mon_ipc_shm_data(NULL) == NULL && mon_ipc_shm_data_mut(NULL) == NULL);
    CHECK(mon_ipc_shm_fd(NULL) == -1);
    mon_ipc_shm_free(NULL);
    CHECK_RC(mon_ipc_shm_read(NULL, 0, b, 1), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_shm_write(NULL, 0, b, 1), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_shm_read(shm, 0, NULL, 1), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_shm_write(shm, 0, NULL, 1), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_shm_read(shm, 0, NULL, 0), 0);
    /* Out of range, also where offset + len overflows. */
    CHECK_RC(mon_ipc_shm_read(shm, 60, b, 5), MON_E_SHM_OUT_OF_RANGE);
    CHECK_RC(mon_ipc_shm_write(shm, 65, b, 0), MON_E_SHM_OUT_OF_RANGE);
    CHECK_RC(mon_ipc_shm_read(shm, (size_t)-1, b, 2), MON_E_SHM_OUT_OF_RANGE);
    CHECK_RC(mon_ipc_shm_write(shm, (size_t)-1, b, 2), MON_E_SHM_OUT_OF_RANGE);
    /* A copy from or into the region itself: use the pointer instead. */
    m = mon_ipc_shm_data_mut(shm);
    CHECK_RC(mon_ipc_shm_read(shm, 0, m + 8, 8), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_shm_write(shm, 0, m + 8, 8), MON_E_INVALID_ARGUMENT);

    closed = dup(p[0]); /* a number no fd has (until the next one is made) */
    CHECK(closed >= 0);
    close(closed);
    CHECK_RC(mon_ipc_send_shm(sv[0], NULL, NULL), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_send_shm(-1, shm, NULL), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_send_shm(closed, shm, NULL), MON_E_INVALID_ARGUMENT);
    CHECK(mon_ipc_last_errno() == EBADF);
    CHECK_RC(mon_ipc_send_shm(p[1], shm, NULL), MON_E_IO);
    CHECK(mon_ipc_last_errno() == ENOTSOCK);
    CHECK_RC(mon_ipc_recv_shm(sv[1], app, NULL), MON_E_INVALID_ARGUMENT);
    CHECK_RC(mon_ipc_recv_shm(sv[1], NULL, &got), MON_E_INVALID_ARGUMENT);
    CHECK(got == NULL);
    got = (mon_shm *)&sv;
    CHECK_RC(mon_ipc_recv_shm(closed, app, &got), MON_E_INVALID_ARGUMENT);
    CHECK(got == NULL);
    CHECK_RC(mon_ipc_recv_shm(p[0], app, &got), MON_E_UNSUPPORTED_SOCKET);

    /* A region of size 0 maps nothing, and crosses all the same. */
    CHECK_RC(mon_ipc_shm_create(0, &empty), 0);
    CHECK(mon_ipc_shm_size(empty) == 0 && mon_ipc_shm_data(empty) == NULL);
    CHECK(mon_ipc_shm_data_mut(empty) == NULL);
    CHECK_RC(mon_ipc_shm_read(empty, 0, b, 0), 0);
    CHECK_RC(mon_ipc_shm_read(empty, 0, b, 1), MON_E_SHM_OUT_OF_RANGE);
    CHECK_RC(mon_ipc_send_shm(sv[0], empty, NULL), 0);
    CHECK_RC(mon_ipc_recv_shm(sv[1], app, &got), 0);
    CHECK(got != NULL && mon_ipc_shm_size(got) == 0 && mon_ipc_shm_data(got) == NULL);
    mon_ipc_shm_free(got);
    mon_ipc_shm_free(empty);

    /* Sent twice, received twice: two mappings of one file. */
    CHECK_RC(mon_ipc_shm_write(shm, 0, "twice", 5), 0);
    CHECK_RC(mon_ipc_send_shm(sv[0], shm, NULL), 0);
    CHECK_RC(mon_ipc_send_shm(sv[0], shm, NULL), 0);
    CHECK_RC(mon_ipc_recv_shm(sv[1], app, &got), 0);
    CHECK_RC(mon_ipc_recv_shm(sv[1], app, &empty), 0);
    CHECK(memcmp(mon_ipc_shm_data(got), "twice", 5) == 0);
    CHECK(memcmp(mon_ipc_shm_data(empty), "twice", 5) == 0);
    CHECK(count_memfd_maps() == maps + 3);
    mon_ipc_shm_free(got);
    mon_ipc_shm_free(empty);

    /* Too many application bytes for one frame. */
    {
        size_t big = ((size_t)16 << 20) - 11;
        void *z = calloc(1, big);
        CHECK(z != NULL);
        CHECK_RC(mon_buffer_append(app, z, big), 0);
        free(z);
        CHECK_RC(mon_ipc_send_shm(sv[0], shm, app), MON_E_SEND_TOO_LARGE);
    }

    mon_ipc_shm_free(shm);
    mon_buffer_free(app);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
    CHECK(count_fds() == before);
    CHECK(count_memfd_maps() == maps);
    printf("arguments: ok\n");
}

int main(void)
{
    int before = count_fds(), maps = count_memfd_maps();
    alarm(120);
    pattern(expect, SIZE, 7);

    hand_over(SOCK_STREAM, 0, 0);
    hand_over(SOCK_STREAM, 1, 0);
    hand_over(SOCK_STREAM, 0, 1);
    hand_over(SOCK_SEQPACKET, 0, 0);
    hand_over(SOCK_SEQPACKET, 1, 1);
    after_handshake();
    refusals(SOCK_STREAM);
    refusals(SOCK_SEQPACKET);
    arguments();

    CHECK(count_fds() == before);
    CHECK(count_memfd_maps() == maps);
    printf("shm: ok\n");
    return 0;
}
