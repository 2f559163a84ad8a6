/*
 * The real libdbus, for the `dbus` benchmark (bench/benches/dbus.rs).
 *
 *   libdbus_hello ADDRESS MODE      MODE: "handshake" or "hello"
 *
 * Reads a count N per line on stdin; runs N sequential connections to the
 * bus at ADDRESS and answers one line "TOTAL_NS MEDIAN_NS" (wall time,
 * CLOCK_MONOTONIC, each iteration timed on its own). One iteration:
 *
 *   handshake: dbus_connection_open_private, then dbus_connection_read_write
 *              until dbus_connection_get_is_authenticated (EXTERNAL,
 *              NEGOTIATE_UNIX_FD, BEGIN written), close, unref;
 *   hello:     dbus_connection_open_private, dbus_bus_register (the Hello
 *              call and its reply, the unique name), close, unref.
 *
 * Both check that fd passing was agreed and (hello) that the unique name
 * starts with ':'. Exits 1 on any failure, 0 at the end of stdin.
 *
 * Built by the benchmark with `cc`: against <dbus/dbus.h> when
 * MON_DBUS_HEADERS is defined (pkg-config dbus-1), else with the
 * prototypes below and `-l:libdbus-1.so.3` (no -dev package needed).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef MON_DBUS_HEADERS
#include <dbus/dbus.h>
#else
/* The stable ABI of libdbus-1.so.3 (dbus-types.h, dbus-errors.h, ...). */
typedef uint32_t dbus_bool_t;
typedef struct DBusConnection DBusConnection;
typedef struct DBusError {
    const char *name;
    const char *message;
    unsigned int dummy1 : 1;
    unsigned int dummy2 : 1;
    unsigned int dummy3 : 1;
    unsigned int dummy4 : 1;
    unsigned int dummy5 : 1;
    void *padding1;
} DBusError;
#define DBUS_TYPE_UNIX_FD ((int)'h')
void dbus_error_init(DBusError *error);
void dbus_error_free(DBusError *error);
DBusConnection *dbus_connection_open_private(const char *address, DBusError *error);
dbus_bool_t dbus_connection_read_write(DBusConnection *connection, int timeout_milliseconds);
dbus_bool_t dbus_connection_get_is_authenticated(DBusConnection *connection);
dbus_bool_t dbus_connection_can_send_type(DBusConnection *connection, int type);
dbus_bool_t dbus_bus_register(DBusConnection *connection, DBusError *error);
const char *dbus_bus_get_unique_name(DBusConnection *connection);
void dbus_connection_close(DBusConnection *connection);
void dbus_connection_unref(DBusConnection *connection);
#endif

static void fail(const char *what, DBusError *err)
{
    fprintf(stderr, "libdbus_hello: %s: %s\n", what,
            err && err->message ? err->message : "failed");
    exit(1);
}

/* One connection: open, authenticate (and say Hello), close. */
static void one(const char *address, int hello)
{
    DBusError err;
    dbus_error_init(&err);
    DBusConnection *c = dbus_connection_open_private(address, &err);
    if (!c)
        fail("dbus_connection_open_private", &err);
    if (hello) {
        if (!dbus_bus_register(c, &err))
            fail("dbus_bus_register", &err);
        const char *name = dbus_bus_get_unique_name(c);
        if (!name || name[0] != ':')
            fail("unique name", NULL);
    } else {
        while (!dbus_connection_get_is_authenticated(c))
            if (!dbus_connection_read_write(c, -1))
                fail("authentication (disconnected)", NULL);
    }
    if (!dbus_connection_can_send_type(c, DBUS_TYPE_UNIX_FD))
        fail("NEGOTIATE_UNIX_FD not agreed", NULL);
    dbus_connection_close(c);
    dbus_connection_unref(c);
    dbus_error_free(&err);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "hello") && strcmp(argv[2], "handshake"))) {
        fprintf(stderr, "usage: %s ADDRESS handshake|hello\n", argv[0]);
        return 2;
    }
    const char *address = argv[1];
    int hello = strcmp(argv[2], "hello") == 0;
    unsigned long long n;
    while (scanf("%llu", &n) == 1) {
        uint64_t *t = malloc((n ? n : 1) * sizeof *t);
        uint64_t total = 0;
        if (!t)
            fail("malloc", NULL);
        for (unsigned long long i = 0; i < n; i++) {
            uint64_t start = now_ns();
            one(address, hello);
            t[i] = now_ns() - start;
            total += t[i];
        }
        qsort(t, n, sizeof *t, cmp_u64);
        printf("%llu %llu\n", (unsigned long long)total,
               (unsigned long long)(n ? t[n / 2] : 0));
        fflush(stdout);
        free(t);
    }
    return 0;
}
