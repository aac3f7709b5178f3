/* Bandwidth of the mc_xport verbs backend between two processes on one
 * RDMA device (run inside the Soft-RoCE VM by bench/rxe_verbs_bw.sh, next
 * to perftest's ib_write_bw at the same message size).
 *   bench_rxe_verbs_bw [--size B] [--iters N] [--depth D] [--read]
 * Prints one line: "verbs_xport <op> size=<B> iters=<N> secs=<s> GBps=<x>".
 * A forked+exec'ed target registers the buffer; we keep D ops in flight. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mc_loop.h"
#include "mc_xport.h"

#define DIE(...)                                                                                                   \
    do {                                                                                                           \
        fprintf(stderr, __VA_ARGS__);                                                                              \
        exit(1);                                                                                                   \
    } while (0)

static unsigned g_done, g_bad;

static int post_fn(void *ctx, void (*fn)(void *), void *arg)
{
    return mc_loop_post(ctx, fn, arg);
}
static void done_fn(void *ctx, uint64_t tag, mc_status_t st)
{
    (void)ctx;
    (void)tag;
    g_done++;
    if (st != MC_OK)
        g_bad++;
}

static mc_xport_t *mk(mc_loop_t *loop)
{
    mc_xport_opts_t o;
    memset(&o, 0, sizeof o);
    o.host = getenv("RXE_IP") ? getenv("RXE_IP") : "127.0.0.1";
    o.shm = -2;
    o.protocol = "rdma";
    o.rdma_devices = getenv("RXE_DEV");
    o.post = post_fn;
    o.post_ctx = loop;
    o.done = done_fn;
    o.log_level = MC_LOG_WARN;
    return mc_xport_create(&o);
}

static int target(size_t size)
{
    mc_loop_t *loop = mc_loop_create();
    mc_xport_t *x = mk(loop);
    if (!x)
        return 1;
    uint8_t *buf = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
    memset(buf, 1, size);
    if (mc_xport_mem_register(x, buf, size) != MC_OK)
        return 1;
    printf("%s\n%" PRIu64 "\n", mc_xport_local_desc(x), (uint64_t)(uintptr_t)buf);
    fflush(stdout);
    char line[16];
    while (fgets(line, sizeof line, stdin)) /* until the initiator closes the pipe */
        ;
    mc_xport_mem_unregister(x, buf);
    mc_xport_destroy(x);
    mc_loop_destroy(loop);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    size_t size = 1u << 20;
    unsigned iters = 200, depth = 8;
    int read_op = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--target") == 0 && i + 1 < argc)
            return target(strtoull(argv[i + 1], NULL, 10));
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            size = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc)
            depth = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--read") == 0)
            read_op = 1;
        else
            DIE("usage: %s [--size B] [--iters N] [--depth D] [--read]\n", argv[0]);
    }
    if (!size || !iters || !depth)
        DIE("size, iters and depth must be > 0\n");
    int a[2], b[2];
    if (pipe(a) || pipe(b))
        DIE("pipe\n");
    char sz[32];
    snprintf(sz, sizeof sz, "%zu", size);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(a[0], 0);
        dup2(b[1], 1);
        close(a[0]);
        close(a[1]);
        close(b[0]);
        close(b[1]);
        execl("/proc/self/exe", argv[0], "--target", sz, (char *)NULL);
        _exit(127);
    }
    close(a[0]);
    close(b[1]);
    FILE *from = fdopen(b[0], "r");
    char desc[MC_XPORT_DESC_LEN], line[64];
    if (!fgets(desc, sizeof desc, from) || !fgets(line, sizeof line, from))
        DIE("target did not start\n");
    desc[strcspn(desc, "\n")] = '\0';
    uint64_t remote = strtoull(line, NULL, 10);

    mc_loop_t *loop = mc_loop_create();
    mc_xport_t *x = mk(loop);
    if (!x)
        DIE("cannot create the rdma xport\n");
    if (mc_xport_set_peer_desc(x, "target:1", desc) != MC_OK)
        DIE("bad descriptor %s\n", desc);
    uint8_t *src = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
    memset(src, 2, size);
    mc_xport_mem_register(x, src, size);
    mc_xfer_op_t o;
    memset(&o, 0, sizeof o);
    o.opcode = read_op ? MC_XFER_READ : MC_XFER_WRITE;
    o.local = src;
    o.peer = "target:1";
    o.remote_addr = remote;
    o.len = size;
    /* warm-up: connection setup and rkey lookup are not part of the rate */
    mc_xport_post(x, &o, 1);
    while (g_done < 1)
        mc_loop_run_once(loop, 10000000ull);
    g_done = 0;
    unsigned posted = 0;
    uint64_t t0 = mc_loop_clock_ns();
    while (g_done < iters) {
        while (posted < iters && posted - g_done < depth) {
            o.tag = posted++;
            mc_xport_post(x, &o, 1);
        }
        mc_loop_run_once(loop, 10000000ull);
    }
    double secs = (double)(mc_loop_clock_ns() - t0) / 1e9;
    printf("verbs_xport %s size=%zu iters=%u secs=%.3f GBps=%.4f errors=%u\n", read_op ? "READ" : "WRITE", size,
           iters, secs, (double)size * iters / secs / 1e9, g_bad);
    mc_xport_mem_unregister(x, src);
    mc_xport_destroy(x);
    mc_loop_destroy(loop);
    close(a[1]);
    int st;
    waitpid(pid, &st, 0);
    free(src);
    return g_bad ? 1 : 0;
}
