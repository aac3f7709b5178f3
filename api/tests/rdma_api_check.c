/* protocol="rdma" through the public C API (issue #6 acceptance).
 *
 * Usage (MASTER may also come first, as run_with_master.sh passes it):
 *   rdma_api_check host MASTER    no RDMA device here: store setup and TE
 *                                 initialize with "rdma" fail naming
 *                                 MC_FORCE_TCP; with MC_FORCE_TCP=1 both
 *                                 work over TCP (store put/get, TE write/read)
 *   rdma_api_check store MASTER   an RDMA device here (Soft-RoCE VM): a forked
 *                                 store process owns the only segment, this
 *                                 one puts/gets over rdma, bytes compared
 *   rdma_api_check te             an RDMA device here: TE write/read between
 *                                 this process and a forked peer (P2PHANDSHAKE)
 *
 * MASTER is "host:port" of a running mooncake_master (run_with_master.sh).
 * With a device, the device's packet counters must grow by the bytes moved
 * (proves the data went over verbs, not the TCP/shm fallback). Exit 0 pass,
 * 1 fail, 77 skip (the mode's precondition about devices does not hold). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mooncake/store.h"
#include "mooncake/transfer_engine.h"

static int failures;
#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                                      \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

static bool have_rdma_device(void)
{
    DIR *d = opendir("/sys/class/infiniband");
    if (!d)
        return false;
    bool any = false;
    struct dirent *e;
    while ((e = readdir(d)))
        any |= e->d_name[0] != '.';
    closedir(d);
    return any;
}

/* Sum of one per-port counter over every device's port 1 (rxe exposes
 * hw_counters/{sent,rcvd}_pkts); -1 when no device has it. */
static long long rdma_counter(const char *name)
{
    DIR *d = opendir("/sys/class/infiniband");
    if (!d)
        return -1;
    long long sum = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "/sys/class/infiniband/%s/ports/1/hw_counters/%s", e->d_name, name);
        FILE *f = fopen(path, "r");
        long long v;
        if (!f)
            continue;
        if (fscanf(f, "%lld", &v) == 1)
            sum = (sum < 0 ? 0 : sum) + v;
        fclose(f);
    }
    closedir(d);
    return sum;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
}

/* Run fn with stderr captured into buf (NUL-terminated). */
static int with_stderr(char *buf, size_t cap, int (*fn)(void *), void *arg)
{
    char tmpl[] = "/tmp/mc-rdma-err.XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return fn(arg);
    unlink(tmpl);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    int rc = fn(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, buf, cap - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc;
}

/* ------------------------------------------------------------- store --- */

typedef struct setup_args {
    mooncake_store_t **out;
    const char *master;
    uint64_t segment;
} setup_args_t;

static int store_setup_rdma(void *arg)
{
    setup_args_t *a = arg;
    return mooncake_store_setup(a->out, "127.0.0.1", "P2PHANDSHAKE", a->segment, 16 << 20, "rdma", "", a->master);
}

/* put, get (bytes equal) and remove of size bytes under key. */
static void store_roundtrip(mooncake_store_t *s, const char *key, size_t size, uint32_t seed)
{
    uint8_t *v = malloc(size);
    fill(v, size, seed);
    CHECK(mooncake_store_put(s, key, strlen(key), v, size, NULL) == 0);
    void *got = NULL;
    size_t glen = 0;
    CHECK(mooncake_store_get(s, key, strlen(key), &got, &glen) == 0);
    CHECK(got && glen == size && memcmp(got, v, size) == 0);
    mooncake_free(got);
    free(v);
}

/* The segment owner: setup, report readiness on wfd, wait for rfd to
 * close, close. */
static int store_owner(const char *master, int rfd, int wfd)
{
    mooncake_store_t *s = NULL;
    setup_args_t a = {&s, master, 64 << 20};
    int rc = store_setup_rdma(&a);
    char c = rc == 0 ? 'R' : 'F';
    if (write(wfd, &c, 1) != 1 || rc != 0)
        return 1;
    while (read(rfd, &c, 1) > 0) {
    }
    mooncake_store_close(s);
    return 0;
}

static void store_rdma(const char *master)
{
    int down[2], up[2];
    if (pipe(down) || pipe(up)) {
        CHECK(!"pipe");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        _exit(store_owner(master, down[0], up[1]));
    }
    close(down[0]);
    close(up[1]);
    char c = 0;
    CHECK(read(up[0], &c, 1) == 1 && c == 'R');

    mooncake_store_t *s = NULL;
    setup_args_t a = {&s, master, 0}; /* no segment: every replica is the owner's */
    CHECK(store_setup_rdma(&a) == 0);
    if (s && c == 'R') {
        long long rx0 = rdma_counter("rcvd_pkts");
        const size_t sizes[] = {1, 4096, 100000, 1 << 20, 3 << 20};
        uint64_t moved = 0;
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            char key[32];
            snprintf(key, sizeof key, "rdma-key-%zu", i);
            store_roundtrip(s, key, sizes[i], (uint32_t)i + 7);
            moved += 2 * sizes[i];
        }
        /* the replica lives in the owner's segment, published with its verbs port */
        mooncake_replica_desc_t d[MOONCAKE_MAX_REPLICAS];
        int n = mooncake_store_get_replica_desc(s, "rdma-key-3", 10, d, MOONCAKE_MAX_REPLICAS);
        CHECK(n == 1);
        if (n >= 1) {
            printf("replica endpoint: %s\n", d[0].transport_endpoint);
            CHECK(strstr(d[0].transport_endpoint, " rdma=") != NULL);
        }
        long long rx1 = rdma_counter("rcvd_pkts");
        printf("store: %" PRIu64 " bytes moved, rdma rcvd_pkts %lld -> %lld\n", moved, rx0, rx1);
        if (rx0 >= 0) /* >= one packet per 4 KiB MTU of payload (both directions counted on this host) */
            CHECK(rx1 - rx0 >= (long long)(moved / 4096));
        mooncake_store_close(s);
    }
    close(down[1]);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(up[0]);
}

/* ---------------------------------------------------------------- te --- */

#define TE_LEN (4u << 20)

/* The peer: owns a registered buffer with pattern 1, reports
 * "<segment> <addr>", waits for "check <off> <len>" and verifies that the
 * range now holds pattern 2 at that offset; exit code = result. */
static int te_peer(int rfd, int wfd)
{
    mooncake_te_t *te = mooncake_te_new();
    uint8_t *buf = aligned_alloc(4096, TE_LEN);
    fill(buf, TE_LEN, 1);
    if (mooncake_te_initialize(te, "127.0.0.1", "P2PHANDSHAKE", "rdma", "") != 0 ||
        mooncake_te_register_memory(te, (uintptr_t)buf, TE_LEN, "cpu:0") != 0) {
        fprintf(stderr, "te peer: %s\n", mooncake_te_last_error());
        return 1;
    }
    FILE *out = fdopen(wfd, "w");
    fprintf(out, "%s %" PRIuPTR "\n", mooncake_te_segment_name(te), (uintptr_t)buf);
    fflush(out);
    FILE *in = fdopen(rfd, "r");
    size_t off = 0, len = 0;
    int rc = 1;
    if (fscanf(in, "check %zu %zu", &off, &len) == 2 && off + len <= TE_LEN) {
        uint8_t *want = malloc(TE_LEN);
        fill(want, TE_LEN, 2);
        rc = memcmp(buf + off, want + off, len) == 0 ? 0 : 1;
        fill(want, TE_LEN, 1); /* the rest is untouched */
        if (rc == 0 && (memcmp(buf, want, off) != 0 || memcmp(buf + off + len, want + off + len, TE_LEN - off - len)))
            rc = 1;
        free(want);
    }
    fprintf(out, "%d\n", rc);
    fflush(out);
    mooncake_te_unregister_memory(te, (uintptr_t)buf);
    mooncake_te_destroy(te);
    free(buf);
    return rc;
}

static void te_rdma(void)
{
    int down[2], up[2];
    if (pipe(down) || pipe(up)) {
        CHECK(!"pipe");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        _exit(te_peer(down[0], up[1]));
    }
    close(down[0]);
    close(up[1]);
    FILE *in = fdopen(up[0], "r");
    FILE *out = fdopen(down[1], "w");
    char seg[256] = "";
    uintptr_t raddr = 0;
    CHECK(fscanf(in, "%255s %" SCNuPTR, seg, &raddr) == 2);

    mooncake_te_t *te = mooncake_te_new();
    uint8_t *buf = aligned_alloc(4096, 2 * TE_LEN);
    memset(buf, 0, 2 * TE_LEN);
    fill(buf, TE_LEN, 2);
    int rc = mooncake_te_initialize(te, "127.0.0.1", "P2PHANDSHAKE", "rdma", "");
    if (rc != 0)
        fprintf(stderr, "te: %s\n", mooncake_te_last_error());
    CHECK(rc == 0);
    CHECK(mooncake_te_register_memory(te, (uintptr_t)buf, 2 * TE_LEN, "cpu:0") == 0);
    long long rx0 = rdma_counter("rcvd_pkts");
    /* write 3 MiB of pattern 2 at offset 512 KiB of the peer's buffer */
    size_t off = 512 << 10, len = 3 << 20;
    CHECK(mooncake_te_transfer_sync_write(te, seg, (uintptr_t)buf + off, raddr + off, len) == 0);
    /* read the whole peer buffer back into the second half */
    CHECK(mooncake_te_transfer_sync_read(te, seg, (uintptr_t)buf + TE_LEN, raddr, TE_LEN) == 0);
    uint8_t *want = malloc(TE_LEN);
    fill(want, TE_LEN, 1);
    memcpy(want + off, buf + off, len);
    CHECK(memcmp(buf + TE_LEN, want, TE_LEN) == 0);
    free(want);
    /* a range outside the peer's registration is refused, nothing moves */
    CHECK(mooncake_te_transfer_sync_write(te, seg, (uintptr_t)buf, raddr + TE_LEN - 4096, 8192) == -1);
    long long rx1 = rdma_counter("rcvd_pkts");
    printf("te: %zu bytes moved, rdma rcvd_pkts %lld -> %lld\n", len + TE_LEN, rx0, rx1);
    if (rx0 >= 0)
        CHECK(rx1 - rx0 >= (long long)((len + TE_LEN) / 4096));

    fprintf(out, "check %zu %zu\n", off, len);
    fflush(out);
    int peer_rc = -1;
    CHECK(fscanf(in, "%d", &peer_rc) == 1 && peer_rc == 0);
    fclose(out);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fclose(in);
    mooncake_te_unregister_memory(te, (uintptr_t)buf);
    mooncake_te_destroy(te);
    free(buf);
}

/* -------------------------------------------------------------- host --- */

static void host_checks(const char *master)
{
    unsetenv("MC_FORCE_TCP");
    char err[4096];
    mooncake_store_t *s = NULL;
    setup_args_t a = {&s, master, 16 << 20};
    /* no device: a clear error that names the way out, nothing set up */
    CHECK(with_stderr(err, sizeof err, store_setup_rdma, &a) == -600);
    CHECK(s == NULL);
    CHECK(strstr(err, "MC_FORCE_TCP") != NULL && strstr(err, "rdma") != NULL);
    printf("store setup(rdma) without device: %s", err);

    mooncake_te_t *te = mooncake_te_new();
    CHECK(mooncake_te_initialize(te, "127.0.0.1", "P2PHANDSHAKE", "rdma", "") == -1);
    CHECK(strstr(mooncake_te_last_error(), "MC_FORCE_TCP") != NULL);
    printf("te initialize(rdma) without device: %s\n", mooncake_te_last_error());

    /* MC_FORCE_TCP=1: the same calls work over TCP */
    setenv("MC_FORCE_TCP", "1", 1);
    CHECK(store_setup_rdma(&a) == 0);
    if (s) {
        store_roundtrip(s, "force-tcp-small", 4096, 3);
        store_roundtrip(s, "force-tcp-big", 2 << 20, 4);
        mooncake_replica_desc_t d[MOONCAKE_MAX_REPLICAS];
        int n = mooncake_store_get_replica_desc(s, "force-tcp-big", 13, d, MOONCAKE_MAX_REPLICAS);
        CHECK(n == 1 && strstr(d[0].transport_endpoint, "rdma=") == NULL);
        mooncake_store_close(s);
    }
    CHECK(mooncake_te_initialize(te, "127.0.0.1", "P2PHANDSHAKE", "rdma", "") == 0);
    uint8_t *m = aligned_alloc(4096, 2 << 20), *back = malloc(1 << 20);
    fill(m, 1 << 20, 9);
    CHECK(mooncake_te_register_memory(te, (uintptr_t)m, 2 << 20, "cpu:0") == 0);
    CHECK(mooncake_te_transfer_sync_write(te, mooncake_te_segment_name(te), (uintptr_t)m, (uintptr_t)m + (1 << 20),
                                          1 << 20) == 0);
    CHECK(mooncake_te_read_bytes_from_buffer(te, (uintptr_t)m + (1 << 20), back, 1 << 20) == 0 &&
          memcmp(back, m, 1 << 20) == 0);
    mooncake_te_unregister_memory(te, (uintptr_t)m);
    mooncake_te_destroy(te);
    free(m);
    free(back);
    unsetenv("MC_FORCE_TCP");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* run_with_master.sh puts the master address first: accept both orders */
    const char *mode = "", *master = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "host") || !strcmp(argv[i], "store") || !strcmp(argv[i], "te"))
            mode = argv[i];
        else
            master = argv[i];
    }
    bool dev = have_rdma_device();
    if (!strcmp(mode, "host") && master) {
        if (dev) { /* exit 0: run_with_master.sh has no skip code */
            printf("skip: an RDMA device is present (the no-device checks need a host without one)\n");
            return 0;
        }
        host_checks(master);
    } else if (!strcmp(mode, "store") && master) {
        if (!dev) {
            printf("skip: no RDMA device\n");
            return 77;
        }
        store_rdma(master);
    } else if (!strcmp(mode, "te")) {
        if (!dev) {
            printf("skip: no RDMA device\n");
            return 77;
        }
        te_rdma();
    } else {
        fprintf(stderr, "usage: %s [MASTER] host|store|te (host and store need MASTER)\n", argv[0]);
        return 2;
    }
    printf("rdma_api_check %s: %s (%d failures)\n", mode, failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
