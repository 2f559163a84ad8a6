/* The header alone, with no feature-test macros: it must compile cleanly
   as C99 and declare every item of the manual with its exact signature. */
#include <monitor/monitor.h>

static int (*const client_init)(int, void **) = mon_ipc_auth_client_init;
static int (*const client_step)(int, void *) = mon_ipc_auth_client_step;
static void (*const client_end)(void *) = mon_ipc_auth_client_end;
static int (*const server_init)(int, mon_ipc_creds *, void **) = mon_ipc_auth_server_init;
static int (*const server_step)(int, void *) = mon_ipc_auth_server_step;
static void (*const server_end)(void *) = mon_ipc_auth_server_end;
static int (*const recv_fd)(int, mon_buffer *, int *) = mon_ipc_recv_fd;
static int (*const send_fd)(int, mon_buffer *, int) = mon_ipc_send_fd;
static mon_buffer *(*const buffer_new)(void) = mon_buffer_new;
static void (*const buffer_free)(mon_buffer *) = mon_buffer_free;
static const uint8_t *(*const buffer_data)(const mon_buffer *) = mon_buffer_data;
static size_t (*const buffer_length)(const mon_buffer *) = mon_buffer_length;
static int (*const buffer_append)(mon_buffer *, const void *, size_t) = mon_buffer_append;
static void (*const buffer_clear)(mon_buffer *) = mon_buffer_clear;
static const char *(*const strerror_)(int) = mon_ipc_strerror;
static int (*const last_errno)(void) = mon_ipc_last_errno;
/* The shared-memory extension. */
static int (*const shm_create)(size_t, mon_shm **) = mon_ipc_shm_create;
static int (*const shm_seal_read_only)(mon_shm *) = mon_ipc_shm_seal_read_only;
static size_t (*const shm_size)(const mon_shm *) = mon_ipc_shm_size;
static const void *(*const shm_data)(const mon_shm *) = mon_ipc_shm_data;
static void *(*const shm_data_mut)(mon_shm *) = mon_ipc_shm_data_mut;
static int (*const shm_read)(const mon_shm *, size_t, void *, size_t) = mon_ipc_shm_read;
static int (*const shm_write)(mon_shm *, size_t, const void *, size_t) = mon_ipc_shm_write;
static int (*const shm_fd)(const mon_shm *) = mon_ipc_shm_fd;
static void (*const shm_free)(mon_shm *) = mon_ipc_shm_free;
static int (*const send_shm)(int, const mon_shm *, const mon_buffer *) = mon_ipc_send_shm;
static int (*const recv_shm)(int, mon_buffer *, mon_shm **) = mon_ipc_recv_shm;
/* Non-blocking sockets and timeouts. */
static int (*const set_timeout)(int, int) = mon_ipc_set_timeout;
static int (*const forget)(int) = mon_ipc_forget;

typedef char positive_codes[(MON_CONTINUE > 0 && MON_WANT_READ > 0 && MON_WANT_WRITE > 0) ? 1 : -1];
typedef char pid_sentinel[(MON_IPC_PID_UNKNOWN == 0) ? 1 : -1];
typedef char gid_sentinel[(MON_IPC_GID_UNKNOWN == (gid_t)-1) ? 1 : -1];

int main(void)
{
    mon_ipc_creds c;
    c.pid = MON_IPC_PID_UNKNOWN;
    c.uid = MON_IPC_UID_UNKNOWN;
    c.gid = MON_IPC_GID_UNKNOWN;
    return (c.pid == 0 && client_init && client_step && client_end && server_init &&
            server_step && server_end && recv_fd && send_fd && buffer_new && buffer_free &&
            buffer_data && buffer_length && buffer_append && buffer_clear && strerror_ &&
            last_errno && shm_create && shm_seal_read_only && shm_size && shm_data &&
            shm_data_mut && shm_read && shm_write && shm_fd && shm_free && send_shm && recv_shm &&
            set_timeout && forget && MON_E_TIMEOUT == -3 && MON_E_SEND_PENDING == -18 &&
            MON_E_INVALID_ARGUMENT < 0 && MON_E_SHM_NOT_MEMFD == -11 && MON_E_SHM_READ_ONLY == -17)
               ? 0
               : 1;
}
