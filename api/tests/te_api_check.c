/* Checks every call of api/include/mooncake/transfer_engine.h between two
 * processes on loopback: this one and a forked peer that owns a buffer
 * and verifies what lands in it. Runs in P2PHANDSHAKE mode and, when the
 * path of mooncake_http_metadata_server is given, against that server.
 *   te_api_check [HTTP_METADATA_SERVER_BIN]
 * Exit 0 when every check passed. */
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "mooncake/transfer_engine.h"

static int failures;

#define CHECK(cond)                                                                             \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
                    mooncake_te_last_error());                                                  \
            failures++;                                                                         \
        }                                                                                       \
    } while (0)

#define PEER_BUF (1u << 20)

static uint8_t pattern(unsigned seed, size_t i) { return (uint8_t)(seed * 131u + i * 7u + (i >> 8)); }

static void fill(uint8_t *p, size_t n, unsigned seed, size_t off)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern(seed, off + i);
}

static bool same(const uint8_t *p, size_t n, unsigned seed, size_t off)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(seed, off + i))
            return false;
    return true;
}

static bool read_line(FILE *f, char *buf, size_t n) { return fgets(buf, (int)n, f) != NULL; }

/* ---- the peer process ----
 * Protocol over two pipes, one line each way:
 *   -> "<segment> <addr>"              after start
 *   <- "check OFF LEN SEED" -> "ok"|"bad"   bytes at buffer+OFF
 *   <- "fill OFF LEN SEED"  -> "ok"         writes the pattern there
 *   <- "notifies"           -> "N name=msg ..."
 *   <- "quit" */
static int peer_main(FILE *in, FILE *out, const char *meta)
{
    mooncake_te_t *te = mooncake_te_new();
    if (!te || mooncake_te_initialize(te, "127.0.0.1", meta, "tcp", "") != 0) {
        fprintf(stderr, "peer: initialize failed: %s\n", mooncake_te_last_error());
        return 1;
    }
    uintptr_t buf = mooncake_te_allocate_managed_buffer(te, PEER_BUF);
    if (!buf)
        return 1;
    memset((void *)buf, 0, PEER_BUF);
    fprintf(out, "%s %lu\n", mooncake_te_segment_name(te), (unsigned long)buf);
    fflush(out);
    char line[256];
    while (read_line(in, line, sizeof line)) {
        unsigned long off, len;
        unsigned seed;
        if (sscanf(line, "check %lu %lu %u", &off, &len, &seed) == 3) {
            fprintf(out, "%s\n", off + len <= PEER_BUF && same((uint8_t *)buf + off, len, seed, 0) ? "ok" : "bad");
        } else if (sscanf(line, "fill %lu %lu %u", &off, &len, &seed) == 3) {
            fill((uint8_t *)buf + off, len, seed, 0);
            fprintf(out, "ok\n");
        } else if (strncmp(line, "notifies", 8) == 0) {
            mooncake_te_notify_t *v;
            size_t n = mooncake_te_get_notifies(te, &v);
            fprintf(out, "%zu", n);
            for (size_t i = 0; i < n; i++)
                fprintf(out, " %s=%s", v[i].name, v[i].msg);
            fprintf(out, "\n");
            mooncake_te_notifies_free(v, n);
        } else {
            break;
        }
        fflush(out);
    }
    mooncake_te_destroy(te);
    return 0;
}

typedef struct peer {
    pid_t pid;
    FILE *to, *from;
    char seg[300];
    uintptr_t buf;
} peer_t;

static bool peer_start(peer_t *p, const char *meta)
{
    int a[2], b[2];
    if (pipe(a) || pipe(b))
        return false;
    fflush(NULL);
    p->pid = fork();
    if (p->pid == 0) {
        close(a[1]);
        close(b[0]);
        _exit(peer_main(fdopen(a[0], "r"), fdopen(b[1], "w"), meta));
    }
    close(a[0]);
    close(b[1]);
    p->to = fdopen(a[1], "w");
    p->from = fdopen(b[0], "r");
    char line[400];
    unsigned long addr;
    if (!read_line(p->from, line, sizeof line) || sscanf(line, "%299s %lu", p->seg, &addr) != 2)
        return false;
    p->buf = addr;
    return true;
}

static bool peer_cmd(peer_t *p, char *reply, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->to, fmt, ap);
    va_end(ap);
    fputc('\n', p->to);
    fflush(p->to);
    if (!read_line(p->from, reply, n))
        return false;
    reply[strcspn(reply, "\n")] = '\0';
    return true;
}

static bool peer_check(peer_t *p, size_t off, size_t len, unsigned seed)
{
    char r[64];
    return peer_cmd(p, r, sizeof r, "check %zu %zu %u", off, len, seed) && strcmp(r, "ok") == 0;
}

static bool peer_fill(peer_t *p, size_t off, size_t len, unsigned seed)
{
    char r[64];
    return peer_cmd(p, r, sizeof r, "fill %zu %zu %u", off, len, seed) && strcmp(r, "ok") == 0;
}

static void peer_stop(peer_t *p, bool kill_it)
{
    if (kill_it) {
        kill(p->pid, SIGKILL);
    } else {
        fprintf(p->to, "quit\n");
        fflush(p->to);
    }
    int st;
    waitpid(p->pid, &st, 0);
    CHECK(kill_it || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
    fclose(p->to);
    fclose(p->from);
}

/* ---- the checks ---- */

static void run_suite(const char *meta)
{
    fprintf(stderr, "te_api_check: metadata %s\n", meta);
    peer_t peer;
    if (!peer_start(&peer, meta)) {
        CHECK(!"peer started");
        return;
    }
    mooncake_te_t *te = mooncake_te_new();
    CHECK(te != NULL);
    CHECK(mooncake_te_get_rpc_port(te) == -1);
    CHECK(mooncake_te_transfer_sync_write(te, peer.seg, 1, peer.buf, 1) == -1); /* before initialize */
    CHECK(mooncake_te_initialize(te, "127.0.0.1:12345", meta, "tcp", "") == 0);
    CHECK(mooncake_te_initialize(te, "127.0.0.1", meta, "tcp", "") == -1); /* twice */
    int port = mooncake_te_get_rpc_port(te);
    CHECK(port >= 15000 && port <= 17000);

    /* managed buffers, write/read bytes */
    size_t len = 256 * 1024;
    uintptr_t a = mooncake_te_allocate_managed_buffer(te, len);
    uintptr_t b = mooncake_te_allocate_managed_buffer(te, len);
    CHECK(a && b && a != b);
    CHECK(mooncake_te_allocate_managed_buffer(te, 0) == 0);
    uint8_t *src = malloc(len), *dst = malloc(len);
    fill(src, len, 1, 0);
    CHECK(mooncake_te_write_bytes_to_buffer(te, a, src, len) == 0);
    CHECK(mooncake_te_read_bytes_from_buffer(te, a, dst, len) == 0 && memcmp(src, dst, len) == 0);
    CHECK(mooncake_te_write_bytes_to_buffer(te, (uintptr_t)src, src, 16) == -1); /* not registered */
    CHECK(mooncake_te_read_bytes_from_buffer(te, a + len - 8, dst, 4096) == -1);  /* past the block end */

    /* first buffer address, sync write/read, bytes compared on both sides */
    CHECK(mooncake_te_get_first_buffer_address(te, peer.seg) == peer.buf);
    CHECK(mooncake_te_transfer_sync_write(te, peer.seg, a, peer.buf, len) == 0);
    CHECK(peer_check(&peer, 0, len, 1));
    CHECK(mooncake_te_transfer_sync_read(te, peer.seg, b, peer.buf, len) == 0);
    CHECK(mooncake_te_read_bytes_from_buffer(te, b, dst, len) == 0 && memcmp(src, dst, len) == 0);

    /* batch sync: 4 pieces written at distinct offsets, read back crossed */
    uintptr_t bufs[4], peers[4];
    size_t lens[4];
    for (int i = 0; i < 4; i++) {
        bufs[i] = a + (size_t)i * 65536;
        peers[i] = peer.buf + 512 * 1024 + (size_t)(3 - i) * 65536;
        lens[i] = 65536;
    }
    fill(src, len, 2, 0);
    CHECK(mooncake_te_write_bytes_to_buffer(te, a, src, len) == 0);
    CHECK(mooncake_te_batch_transfer_sync_write(te, peer.seg, bufs, peers, lens, 4) == 0);
    CHECK(peer_check(&peer, 512 * 1024 + 3 * 65536, 65536, 2)); /* piece 0 landed at slot 3 */
    for (int i = 0; i < 4; i++)
        bufs[i] = b + (size_t)i * 65536;
    CHECK(mooncake_te_batch_transfer_sync_read(te, peer.seg, bufs, peers, lens, 4) == 0);
    CHECK(mooncake_te_read_bytes_from_buffer(te, b, dst, len) == 0 && memcmp(src, dst, len) == 0);
    CHECK(mooncake_te_batch_transfer_sync_write(te, peer.seg, bufs, peers, lens, 0) == 0); /* empty */

    /* async: batch + get_batch_transfer_status; submit_write + check_status */
    CHECK(peer_fill(&peer, 0, len, 3));
    uint64_t ids[2];
    for (int i = 0; i < 4; i++) /* into a: the second batch fills b */
        bufs[i] = a + (size_t)i * 65536;
    ids[0] = mooncake_te_batch_transfer_async_read(te, peer.seg, bufs, peers, lens, 4);
    ids[1] = mooncake_te_batch_transfer_async_read(te, peer.seg, &b, &peer.buf, &len, 1);
    CHECK(ids[0] && ids[1] && ids[0] != ids[1]);
    CHECK(mooncake_te_get_batch_transfer_status(te, ids, 2) == 0);
    CHECK(mooncake_te_read_bytes_from_buffer(te, b, dst, len) == 0 && same(dst, len, 3, 0));
    CHECK(mooncake_te_get_batch_transfer_status(te, ids, 1) == -1); /* freed: unknown now */
    fill(src, len, 4, 0);
    CHECK(mooncake_te_write_bytes_to_buffer(te, a, src, len) == 0);
    uint64_t id = mooncake_te_transfer_submit_write(te, peer.seg, a, peer.buf, len);
    CHECK(id != 0);
    int st = 0;
    for (int i = 0; i < 20000 && (st = mooncake_te_transfer_check_status(te, id)) == 0; i++)
        usleep(500);
    CHECK(st == 1);
    CHECK(peer_check(&peer, 0, len, 4));
    CHECK(mooncake_te_transfer_check_status(te, id) == -1); /* freed */
    ids[0] = mooncake_te_batch_transfer_async_write(te, peer.seg, &a, &peer.buf, &len, 1);
    CHECK(ids[0] != 0 && mooncake_te_get_batch_transfer_status(te, ids, 1) == 0);

    /* notifications: with a transfer and alone; probe */
    mooncake_te_notify_t note = {.name = "agent1", .msg = "notification1"};
    CHECK(mooncake_te_transfer_sync(te, peer.seg, a, peer.buf, 4096, MOONCAKE_TE_WRITE, &note) == 0);
    mooncake_te_notify_t note2 = {.name = "agent2", .msg = "hello"};
    CHECK(mooncake_te_send_notify(te, peer.seg, &note2) == 0);
    char reply[256];
    CHECK(peer_cmd(&peer, reply, sizeof reply, "notifies") &&
          strcmp(reply, "2 agent1=notification1 agent2=hello") == 0);
    CHECK(peer_cmd(&peer, reply, sizeof reply, "notifies") && strcmp(reply, "0") == 0);
    mooncake_te_notify_t *nv = (void *)1;
    CHECK(mooncake_te_get_notifies(te, &nv) == 0 && nv == NULL);
    CHECK(mooncake_te_send_probe(te, peer.seg) == 0);

    /* registration */
    uint8_t *mem = aligned_alloc(4096, 3 * 65536);
    uintptr_t m = (uintptr_t)mem;
    CHECK(mooncake_te_register_memory(te, m, 65536, "cpu:0") == 0);
    CHECK(mooncake_te_register_memory(te, m + 4096, 4096, NULL) == MOONCAKE_TE_ERR_ADDRESS_OVERLAPPED);
    CHECK(mooncake_te_register_memory(te, m + 65536, 0, NULL) == MOONCAKE_TE_ERR_INVALID_ARGUMENT);
    CHECK(mooncake_te_unregister_memory(te, m + 8) == MOONCAKE_TE_ERR_ADDRESS_NOT_REGISTERED);
    uintptr_t two[2] = {m + 65536, m + 2 * 65536};
    size_t caps[2] = {65536, 65536};
    CHECK(mooncake_te_batch_register_memory(te, two, caps, 2, "cpu:0") == 0);
    CHECK(mooncake_te_transfer_sync_read(te, peer.seg, m + 65536, peer.buf, 2 * 65536) == 0); /* spans 2 */
    CHECK(same(mem + 65536, 2 * 65536, 4, 0));
    CHECK(mooncake_te_batch_unregister_memory(te, two, 2) == 0);
    CHECK(mooncake_te_transfer_sync_read(te, peer.seg, m + 65536, peer.buf, 4096) == -1); /* unregistered now */
    CHECK(mooncake_te_unregister_memory(te, m) == 0);

    /* bad input: clear -1 and the engine keeps working */
    CHECK(mooncake_te_transfer_sync_write(te, peer.seg, (uintptr_t)src, peer.buf, 4096) == -1);
    CHECK(mooncake_te_transfer_sync_write(te, peer.seg, a, peer.buf + PEER_BUF - 100, 4096) == -1);
    CHECK(mooncake_te_transfer_sync_write(te, peer.seg, a, 0x10, 4096) == -1);
    CHECK(mooncake_te_transfer_sync_write(te, "127.0.0.1:1", a, peer.buf, 4096) == -1);
    CHECK(mooncake_te_transfer_sync_write(te, "no-such-segment", a, peer.buf, 4096) == -1);
    CHECK(mooncake_te_transfer_sync_write(te, peer.seg, a, peer.buf, 0) == -1);
    CHECK(mooncake_te_transfer_sync_write(te, peer.seg, a, peer.buf, (size_t)1 << 62) == -1);
    CHECK(mooncake_te_transfer_sync(te, peer.seg, a, peer.buf, 16, 7, NULL) == -1);
    CHECK(mooncake_te_transfer_sync_write(te, "", a, peer.buf, 16) == -1);
    CHECK(mooncake_te_transfer_submit_write(te, peer.seg, a, peer.buf, 0) == 0);
    CHECK(mooncake_te_transfer_check_status(te, 999999) == -1);
    uint64_t bad[2] = {999999, 999999};
    CHECK(mooncake_te_get_batch_transfer_status(te, bad, 2) == -1);
    CHECK(mooncake_te_get_first_buffer_address(te, "127.0.0.1:1") == 0);
    CHECK(mooncake_te_send_probe(te, "127.0.0.1:1") == -1);
    CHECK(mooncake_te_free_managed_buffer(te, a + 8, len) == -1);
    CHECK(mooncake_te_free_managed_buffer(te, a, 3 * len) == -1);
    CHECK(mooncake_te_transfer_sync_write(te, peer.seg, a, peer.buf, len) == 0);
    CHECK(peer_check(&peer, 0, len, 4));

    /* topology */
    char *topo = mooncake_te_get_local_topology(te, NULL);
    CHECK(topo && topo[0] == '{' && strstr(topo, "\"cpu:") != NULL);
    mooncake_free(topo);

    /* managed buffer reuse */
    CHECK(mooncake_te_free_managed_buffer(te, b, len) == 0);
    CHECK(mooncake_te_free_managed_buffer(te, b, len) == -1); /* twice */
    CHECK(mooncake_te_allocate_managed_buffer(te, len - 10) == b);

    /* peer killed: transfers fail cleanly, then loopback still works */
    peer_stop(&peer, true);
    CHECK(mooncake_te_transfer_sync_write(te, peer.seg, a, peer.buf, len) == -1);
    CHECK(mooncake_te_send_probe(te, peer.seg) == -1);
    const char *self = mooncake_te_segment_name(te);
    fill(src, len, 5, 0);
    CHECK(mooncake_te_write_bytes_to_buffer(te, a, src, len) == 0);
    CHECK(mooncake_te_transfer_sync_write(te, self, a, b, len) == 0);
    CHECK(mooncake_te_read_bytes_from_buffer(te, b, dst, len) == 0 && memcmp(src, dst, len) == 0);

    mooncake_te_destroy(te);
    free(mem);
    free(src);
    free(dst);
}

static void check_protocols(void)
{
    unsetenv("MC_FORCE_TCP");
    mooncake_te_t *te = mooncake_te_new();
    if (access("/sys/class/infiniband", F_OK) != 0) { /* no RDMA device here */
        CHECK(mooncake_te_initialize(te, "127.0.0.1", "P2PHANDSHAKE", "rdma", "") == -1);
        CHECK(strstr(mooncake_te_last_error(), "MC_FORCE_TCP") != NULL);
    }
    CHECK(mooncake_te_initialize(te, "127.0.0.1", "P2PHANDSHAKE", "nvlink", "") == -1);
    CHECK(mooncake_te_initialize(te, "", "P2PHANDSHAKE", "tcp", "") == -1);
    setenv("MC_FORCE_TCP", "1", 1);
    CHECK(mooncake_te_initialize(te, "127.0.0.1", "P2PHANDSHAKE", "rdma", "") == 0);
    CHECK(strchr(mooncake_te_segment_name(te), ':') != NULL);
    unsetenv("MC_FORCE_TCP");
    mooncake_te_destroy(te);
    mooncake_te_destroy(NULL);
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof sa;
    bind(s, (struct sockaddr *)&sa, sizeof sa);
    getsockname(s, (struct sockaddr *)&sa, &l);
    close(s);
    return ntohs(sa.sin_port);
}

static bool port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(s, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(s);
    return ok;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    check_protocols();
    run_suite("P2PHANDSHAKE");
    if (argc > 1) {
        int port = free_port();
        char pbuf[16];
        snprintf(pbuf, sizeof pbuf, "%d", port);
        pid_t srv = fork();
        if (srv == 0) {
            execl(argv[1], argv[1], "--port", pbuf, "--host", "127.0.0.1", (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 200 && !port_open(port); i++)
            usleep(25000);
        char meta[128];
        snprintf(meta, sizeof meta, "http://127.0.0.1:%d/metadata", port);
        CHECK(port_open(port));
        run_suite(meta);
        kill(srv, SIGTERM);
        waitpid(srv, NULL, 0);
    }
    if (failures)
        fprintf(stderr, "te_api_check: %d check(s) failed\n", failures);
    else
        printf("te_api_check: all checks passed\n");
    return failures ? 1 : 0;
}
