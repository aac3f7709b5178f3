/* Dummy clients against a live mooncake_client (run by run_with_master.sh):
 *   store_dummy_check MASTER_ADDR MOONCAKE_CLIENT_BIN
 * Starts the real-client service on a free loopback port, then checks
 * every forwarded call with byte comparisons, that two dummies share the
 * store, that shared memory rules hold (whole pool regions only), and
 * that a stopped service gives clear errors instead of hanging. */
#include <arpa/inet.h>
#include <mooncake/store.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;
#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);         \
            failures++;                                                                      \
        }                                                                                    \
    } while (0)
#define K(s) (s), strlen(s)

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t start_service(const char *bin, const char *master, int port)
{
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, "--host", "127.0.0.1", "--port", port_s, "--master_server_address", master,
              "--metadata_server", "P2PHANDSHAKE", "--global_segment_size", "64 MB", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The service listens once its store client is set up. */
static mooncake_store_t *dummy(const char *server, uint64_t lbuf)
{
    mooncake_store_t *s = NULL;
    for (int i = 0; i < 200; i++) {
        if (mooncake_store_setup_dummy(&s, 0, lbuf, server) == 0)
            return s;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void check_copying(mooncake_store_t *a, mooncake_store_t *b)
{
    void *v = NULL;
    size_t n = 0;
    CHECK(strcmp(mooncake_store_hostname(a), "") == 0);
    CHECK(mooncake_store_health(a) == 0);
    CHECK(mooncake_store_put(a, K("d.k1"), "hello", 5, NULL) == 0);
    CHECK(mooncake_store_get(b, K("d.k1"), &v, &n) == 0 && n == 5 && memcmp(v, "hello", 5) == 0);
    mooncake_free(v);
    CHECK(mooncake_store_put(b, K("d.k1"), "other", 5, NULL) == 0); /* first writer wins */
    CHECK(mooncake_store_get(a, K("d.k1"), &v, &n) == 0 && n == 5 && memcmp(v, "hello", 5) == 0);
    mooncake_free(v);
    CHECK(mooncake_store_upsert(b, K("d.k1"), "changed!", 8, NULL) == 0);
    CHECK(mooncake_store_get_size(a, K("d.k1")) == 8);
    CHECK(mooncake_store_is_exist(a, K("d.k1")) == 1);
    CHECK(mooncake_store_is_exist(a, K("d.none")) == 0);
    CHECK(mooncake_store_get(a, K("d.none"), &v, &n) == -704 && v == NULL);
    CHECK(mooncake_store_put(a, K("d.empty"), "", 0, NULL) == -600);
    CHECK(mooncake_store_remove(a, K("d.k1"), true) == 0);
    CHECK(mooncake_store_remove(a, K("d.k1"), true) == -704);

    const void *parts[2] = {"ab", "cd"};
    size_t lens[2] = {2, 2};
    CHECK(mooncake_store_put_parts(a, K("d.parts"), 2, parts, lens, NULL) == 0);
    CHECK(mooncake_store_get(b, K("d.parts"), &v, &n) == 0 && n == 4 && memcmp(v, "abcd", 4) == 0);
    mooncake_free(v);

    const void *keys[3] = {"d.b1", "d.b2", "d.b3"};
    size_t klens[3] = {4, 4, 4};
    const void *vals[3] = {"1", "22", "333"};
    size_t vlens[3] = {1, 2, 3};
    int r[3];
    void *outs[3];
    size_t olens[3];
    mooncake_store_batch_put(a, 3, keys, klens, vals, vlens, NULL, r);
    CHECK(r[0] == 0 && r[1] == 0 && r[2] == 0);
    mooncake_store_batch_get(b, 3, keys, klens, outs, olens, r);
    for (int i = 0; i < 3; i++) {
        CHECK(r[i] == 0 && olens[i] == vlens[i] && memcmp(outs[i], vals[i], vlens[i]) == 0);
        mooncake_free(outs[i]);
    }
    mooncake_store_batch_is_exist(b, 3, keys, klens, r);
    CHECK(r[0] == 1 && r[1] == 1 && r[2] == 1);
    mooncake_store_batch_remove(a, 3, keys, klens, true, r);
    CHECK(r[0] == 0 && r[1] == 0 && r[2] == 0);

    /* a large value (many chunks of the local buffer) round trips */
    size_t big = 3u << 20;
    char *val = malloc(big);
    for (size_t i = 0; i < big; i++)
        val[i] = (char)(i * 7 + 3);
    CHECK(mooncake_store_put(a, K("d.big"), val, big, NULL) == 0);
    CHECK(mooncake_store_get(b, K("d.big"), &v, &n) == 0 && n == big && memcmp(v, val, big) == 0);
    mooncake_free(v);
    /* bigger than the local buffer: -600, as a real client */
    char *huge = calloc(1, 20u << 20);
    CHECK(mooncake_store_put(a, K("d.huge"), huge, 20u << 20, NULL) == -600);
    free(huge);
    free(val);

    mooncake_buffer_t *h = mooncake_store_get_buffer(b, K("d.parts"), NULL);
    CHECK(h && mooncake_buffer_size(h) == 4 && memcmp(mooncake_buffer_data(h), "abcd", 4) == 0);
    mooncake_buffer_release(h);

    mooncake_replica_desc_t d[4];
    CHECK(mooncake_store_get_replica_desc(a, K("d.parts"), d, 4) == 1 && d[0].size == 4 && d[0].status == 3);

    CHECK(mooncake_store_put(a, K("d.rx.1"), "x", 1, NULL) == 0);
    CHECK(mooncake_store_put(a, K("d.rx.2"), "x", 1, NULL) == 0);
    CHECK(mooncake_store_remove_by_regex(b, "^d\\.rx\\.", true) == 2);
    CHECK(mooncake_store_remove_by_regex(b, "(", true) == -600);
}

static void check_zero_copy(mooncake_store_t *a, mooncake_store_t *b)
{
    size_t sz = 1u << 20;
    char *pa = (char *)(uintptr_t)mooncake_store_alloc_from_mem_pool(a, sz);
    char *pb = (char *)(uintptr_t)mooncake_store_alloc_from_mem_pool(b, sz);
    CHECK(pa && pb);
    if (!pa || !pb)
        return;
    char priv[64];
    CHECK(mooncake_store_register_buffer(a, priv, sizeof priv) == -1);  /* not pool memory */
    CHECK(mooncake_store_register_buffer(a, pa + 64, 128) == -1);       /* not a whole region */
    CHECK(mooncake_store_put_from(a, K("z.1"), pa, 16, NULL) == -600);  /* not registered yet */
    CHECK(mooncake_store_register_buffer(a, pa, sz) == 0);
    CHECK(mooncake_store_register_buffer(b, pb, sz) == 0);
    for (size_t i = 0; i < sz; i++)
        pa[i] = (char)(i ^ 0x5a);
    CHECK(mooncake_store_put_from(a, K("z.1"), pa, 4096, NULL) == 0);
    memset(pb, 0, sz);
    CHECK(mooncake_store_get_into(b, K("z.1"), pb, sz) == 4096 && memcmp(pa, pb, 4096) == 0);
    CHECK(mooncake_store_get_into(b, K("z.1"), pb, 100) == -600); /* smaller than the object */

    const void *keys[2] = {"z.b1", "z.b2"};
    size_t klens[2] = {4, 4};
    const void *bufs[2] = {pa + 8192, pa + 16384};
    size_t sizes[2] = {100, 200};
    int r[2];
    int64_t r64[2];
    mooncake_store_batch_put_from(a, 2, keys, klens, bufs, sizes, NULL, r);
    CHECK(r[0] == 0 && r[1] == 0);
    void *dst[2] = {pb + 1000, pb + 5000};
    size_t caps[2] = {1000, 1000};
    mooncake_store_batch_get_into(b, 2, keys, klens, dst, caps, r64);
    CHECK(r64[0] == 100 && r64[1] == 200 && memcmp(pb + 1000, pa + 8192, 100) == 0 &&
          memcmp(pb + 5000, pa + 16384, 200) == 0);

    CHECK(mooncake_store_put_from_with_metadata(a, K("z.meta"), pa + 100, pa, 50, 10, NULL) == 0);
    CHECK(mooncake_store_get_into(b, K("z.meta"), pb, sz) == 60 && memcmp(pb, pa, 10) == 0 &&
          memcmp(pb + 10, pa + 100, 50) == 0);

    /* ranges: fragments of z.1 into b's region */
    uint64_t dsto[2] = {0, 10}, srco[2] = {5, 100}, fs[2] = {4, 6};
    int64_t fr[2];
    mooncake_range_key_t rk = {"z.1", 3, 2, dsto, srco, fs, fr};
    mooncake_range_buffer_t rb = {pb + 200000, 1, &rk};
    memset(pb + 200000, 0, 32);
    mooncake_store_get_into_ranges(b, 1, &rb);
    CHECK(fr[0] == 4 && fr[1] == 6 && memcmp(pb + 200000, pa + 5, 4) == 0 && memcmp(pb + 200010, pa + 100, 6) == 0);

    CHECK(mooncake_store_unregister_buffer(b, pb) == 0);
    CHECK(mooncake_store_get_into(b, K("z.1"), pb, sz) == -600); /* no longer registered */
    CHECK(mooncake_store_register_buffer(b, pb, sz) == 0);       /* shared again */
    CHECK(mooncake_store_get_into(b, K("z.1"), pb, sz) == 4096);
}

static void check_unsupported(mooncake_store_t *a)
{
    mooncake_uuid_t id;
    uint64_t got = 0;
    CHECK(mooncake_store_allocate_and_mount_segment(a, 16u << 20, "tcp", "", &id, &got) == -1);
    /* tasks are forwarded: the real client's codes */
    mooncake_task_info_t info;
    CHECK(mooncake_store_query_task(a, (mooncake_uuid_t){12345, 678}, &info) == -1400);
    const char *targets[1] = {"127.0.0.1:1"};
    CHECK(mooncake_store_create_copy_task(a, K("d.none"), targets, 1, &id) == -704);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MASTER_ADDR MOONCAKE_CLIENT_BIN\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int port = free_port();
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1:%d", port);
    mooncake_store_t *none = NULL;
    CHECK(mooncake_store_setup_dummy(&none, 0, 1 << 20, server) == -1 && none == NULL); /* nothing there yet */
    CHECK(mooncake_store_setup_dummy(&none, 0, 1 << 20, "no-port") == -600);
    CHECK(mooncake_store_alloc_from_mem_pool(NULL, 10) == 0);

    pid_t svc = start_service(argv[2], argv[1], port);
    mooncake_store_t *a = dummy(server, 16u << 20), *b = dummy(server, 16u << 20);
    CHECK(a && b);
    if (a && b) {
        check_copying(a, b);
        check_zero_copy(a, b);
        check_unsupported(a);
        mooncake_store_close(b);
        b = NULL;
        /* a's keys survive b leaving; a keeps working */
        void *v = NULL;
        size_t n = 0;
        CHECK(mooncake_store_get(a, K("d.parts"), &v, &n) == 0 && n == 4);
        mooncake_free(v);
    }
    /* A clean stop: SIGTERM, exit status 0; then clear errors, no hang. */
    kill(svc, SIGTERM);
    int status = 0;
    CHECK(waitpid(svc, &status, 0) == svc && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (a) {
        CHECK(mooncake_store_put(a, K("d.after"), "x", 1, NULL) == -900);
        CHECK(mooncake_store_health(a) == 2);
        void *v = NULL;
        size_t n = 0;
        CHECK(mooncake_store_get(a, K("d.parts"), &v, &n) == -900 && v == NULL);
        mooncake_store_close(a);
    }
    if (b)
        mooncake_store_close(b);
    if (failures) {
        fprintf(stderr, "store_dummy_check: %d failure(s)\n", failures);
        return 1;
    }
    printf("store_dummy_check: ok\n");
    return 0;
}
