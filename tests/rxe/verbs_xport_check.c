/* The verbs transport (mc_xport protocol "rdma") against a real RDMA
 * device: Soft-RoCE rxe0 inside the test VM (tests/rxe/run_rxe_tests.sh)
 * or natively. Two processes: this one initiates, a forked target owns
 * the remote memory and answers checks over a pipe.
 *
 *   1. bytes: WRITE then READ, 4 KiB .. 4 MiB (+ an odd size), the target
 *      compares what landed in its memory, we compare what came back
 *   2. bounds: ranges outside the target's registered region fail with
 *      MC_INVALID_PARAMS and the guard bytes after it stay untouched;
 *      keys: an op with the region's registration key lands, one with a
 *      stale key (a restarted peer's descriptor) fails with
 *      MC_TRANSFER_FAIL and touches nothing
 *   3. induced error: QPs forced to IBV_QPS_ERR mid-transfer; the op
 *      completes exactly once (OK or MC_TRANSFER_FAIL), the next attempt
 *      goes over a rebuilt QP and lands
 *   4. peer killed: ops to a SIGKILLed target fail, nothing hangs
 *   5. churn: N x (register, connect, WRITE, disconnect, unregister)
 *      leaves no QP/CQ/MR/connection behind on either side (our counters,
 *      and the kernel's `rdma resource` QP count when available)
 *   6. MC_FORCE_TCP=1 with protocol rdma goes over TCP
 *
 * Without any RDMA device (the normal host) it checks the failure path
 * (create fails with the documented message, MC_FORCE_TCP=1 falls back
 * to TCP), prints "skip: ..." and exits 77.
 * Usage: verbs_xport_check [churn_iterations (default 1000)] */
#include <errno.h>
#include <infiniband/verbs.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mc_loop.h"
#include "mc_xport.h"
#include "mc_xport_verbs.h"
#include "mc_xport_verbs_proto.h"

#define CHECK(c)                                                                                                   \
    do {                                                                                                           \
        if (!(c)) {                                                                                                \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);                                           \
            exit(1);                                                                                               \
        }                                                                                                          \
    } while (0)

#define MAXTAG 8192
#define CAP (8u << 20)
#define GUARD 4096
#define PEER "target:1"

typedef struct rec {
    mc_loop_t *loop;
    unsigned n_done;
    unsigned cnt[MAXTAG];
    mc_status_t st[MAXTAG];
    char last_err[512];
} rec_t;

static int h_post(void *ctx, void (*fn)(void *), void *arg)
{
    return mc_loop_post(ctx, fn, arg);
}
static void h_done(void *ctx, uint64_t tag, mc_status_t st)
{
    rec_t *r = ctx;
    CHECK(tag < MAXTAG);
    r->cnt[tag]++;
    r->st[tag] = st;
    r->n_done++;
}
static void h_log(void *ctx, int level, const char *msg)
{
    rec_t *r = ctx;
    size_t n = strlen(r->last_err); /* every error line, appended */
    if (level >= MC_LOG_ERROR && n + 2 < sizeof r->last_err)
        snprintf(r->last_err + n, sizeof r->last_err - n, "%s\n", msg);
    if (level >= MC_LOG_INFO)
        fprintf(stderr, "  [xport %d] %s\n", getpid(), msg);
}

static mc_xport_t *mk_dev(rec_t *r, const char *proto, uint64_t slice, const char *devs);
static mc_xport_t *mk(rec_t *r, const char *proto, uint64_t slice)
{
    return mk_dev(r, proto, slice, getenv("RXE_DEV"));
}

static mc_xport_t *mk_dev(rec_t *r, const char *proto, uint64_t slice, const char *devs)
{
    mc_xport_opts_t o;
    memset(&o, 0, sizeof o);
    o.host = getenv("RXE_IP") ? getenv("RXE_IP") : "127.0.0.1";
    o.shm = -2;
    o.slice_size = slice;
    o.timeout_ms = 10000; /* bounds the remote-QP-error case; ample for TCG */
    o.protocol = proto;
    o.rdma_devices = devs;
    o.post = h_post;
    o.post_ctx = r->loop;
    o.done = h_done;
    o.done_ctx = r;
    o.log = h_log;
    o.log_ctx = r;
    o.log_level = MC_LOG_INFO;
    return mc_xport_create(&o);
}

/* Run the loop until n completions or 120 s (a hang is a failure). */
static void wait_n(rec_t *r, unsigned n)
{
    uint64_t end = mc_loop_clock_ns() + 120ull * 1000000000ull;
    while (r->n_done < n && mc_loop_clock_ns() < end)
        mc_loop_run_once(r->loop, 5000000ull);
    for (int i = 0; i < 3; i++)
        mc_loop_run_once(r->loop, 1000000ull);
    if (r->n_done < n)
        fprintf(stderr, "FAIL: only %u of %u completions within 120 s (hang)\n", r->n_done, n);
    CHECK(r->n_done >= n);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        p[i] = (uint8_t)(s >> 16);
    }
}

static bool check_fill(const uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        if (p[i] != (uint8_t)(s >> 16))
            return false;
    }
    return true;
}

static mc_xfer_op_t op(int opc, void *local, uint64_t remote, uint64_t len, uint64_t tag)
{
    mc_xfer_op_t o;
    memset(&o, 0, sizeof o);
    o.opcode = (uint8_t)opc;
    o.local = local;
    o.peer = PEER;
    o.remote_addr = remote;
    o.len = len;
    o.tag = tag;
    return o;
}

/* Post one op and wait for its single completion. */
static mc_status_t run1(rec_t *r, mc_xport_t *x, mc_xfer_op_t o)
{
    unsigned before = r->n_done;
    r->cnt[o.tag] = 0;
    mc_xport_post(x, &o, 1);
    wait_n(r, before + 1);
    CHECK(r->cnt[o.tag] == 1);
    return r->st[o.tag];
}

/* Kernel-wide QP count from `rdma resource show`, or -1. */
static long kernel_qps(void)
{
    FILE *f = popen("rdma resource show 2>/dev/null", "r");
    if (!f)
        return -1;
    char line[512];
    long total = -1;
    while (fgets(line, sizeof line, f)) {
        char *q = strstr(line, " qp ");
        if (q) {
            total = (total < 0 ? 0 : total) + strtol(q + 4, NULL, 10);
        }
    }
    pclose(f);
    return total;
}

/* ------------------------------------------------------------- target --- */

typedef struct target {
    pid_t pid;
    FILE *to, *from; /* command pipe, reply pipe */
    uint64_t base;   /* registered region [base, base+CAP), guard after */
    uint32_t key;    /* its registration key */
    char desc[MC_XPORT_DESC_LEN];
} target_t;

/* Child: register CAP bytes (GUARD unregistered bytes follow), publish
 * desc and address, then answer commands:
 *   C off len seed  -> "1"/"0": bytes at off match fill(seed)
 *   G               -> "1"/"0": guard still 0xEE
 *   Q               -> "qps cqs mrs ctrl"
 *   B               -> "1": every responder QP moved to IBV_QPS_ERR
 *   X               -> exit */
static int target_main(void)
{
    FILE *cmd = stdin, *rep = stdout;
    rec_t *r = calloc(1, sizeof *r);
    r->loop = mc_loop_create();
    mc_xport_t *x = mk(r, "rdma", 0);
    CHECK(x);
    uint8_t *buf = aligned_alloc(4096, CAP + GUARD);
    CHECK(buf);
    memset(buf, 0, CAP);
    memset(buf + CAP, 0xEE, GUARD);
    uint32_t key = 0;
    CHECK(mc_xport_mem_register_key(x, buf, CAP, &key) == MC_OK && key != 0);
    fprintf(rep, "%s\n%" PRIu64 " %" PRIu32 "\n", mc_xport_local_desc(x), (uint64_t)(uintptr_t)buf, key);
    fflush(rep);
    char line[256];
    while (fgets(line, sizeof line, cmd)) {
        if (line[0] == 'C') {
            unsigned long long off, len;
            unsigned seed;
            CHECK(sscanf(line + 1, "%llu %llu %u", &off, &len, &seed) == 3);
            fprintf(rep, "%d\n", check_fill(buf + off, len, seed) ? 1 : 0);
        } else if (line[0] == 'G') {
            bool ok = true;
            for (size_t i = 0; i < GUARD; i++)
                ok = ok && buf[CAP + i] == 0xEE;
            fprintf(rep, "%d\n", ok ? 1 : 0);
        } else if (line[0] == 'B') {
            fprintf(rep, "%d\n", mc_xport_verbs_break_responders(x) == 0 ? 1 : 0);
        } else if (line[0] == 'Q') {
            mc_xport_verbs_counts_t c;
            mc_xport_verbs_counts(&c);
            fprintf(rep, "%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n", c.qps, c.cqs, c.mrs, c.ctrl_conns);
        } else {
            break;
        }
        fflush(rep);
    }
    mc_xport_mem_unregister(x, buf);
    mc_xport_destroy(x);
    mc_loop_destroy(r->loop);
    free(buf);
    free(r);
    return 0;
}

static void target_start(target_t *t)
{
    int a[2], b[2];
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    fflush(NULL);
    t->pid = fork();
    CHECK(t->pid >= 0);
    if (t->pid == 0) { /* exec: a fresh process, no verbs state inherited over fork */
        dup2(a[0], 0);
        dup2(b[1], 1);
        close(a[0]);
        close(a[1]);
        close(b[0]);
        close(b[1]);
        execl("/proc/self/exe", "verbs_xport_check", "--target", (char *)NULL);
        _exit(127);
    }
    close(a[0]);
    close(b[1]);
    t->to = fdopen(a[1], "w");
    t->from = fdopen(b[0], "r");
    char line[256];
    CHECK(fgets(t->desc, sizeof t->desc, t->from));
    t->desc[strcspn(t->desc, "\n")] = '\0';
    CHECK(fgets(line, sizeof line, t->from));
    CHECK(sscanf(line, "%" SCNu64 " %" SCNu32, &t->base, &t->key) == 2);
    CHECK(strstr(t->desc, " rdma=") != NULL);
}

static int target_ask(target_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int target_ask(target_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(t->to, fmt, ap);
    va_end(ap);
    fflush(t->to);
    char line[256];
    CHECK(fgets(line, sizeof line, t->from));
    return atoi(line);
}

static void target_counts(target_t *t, long v[4])
{
    fprintf(t->to, "Q\n");
    fflush(t->to);
    char line[256];
    CHECK(fgets(line, sizeof line, t->from));
    CHECK(sscanf(line, "%ld %ld %ld %ld", &v[0], &v[1], &v[2], &v[3]) == 4);
}

static void target_stop(target_t *t)
{
    fprintf(t->to, "X\n");
    fclose(t->to);
    fclose(t->from);
    int st;
    CHECK(waitpid(t->pid, &st, 0) == t->pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* -------------------------------------------------------------- checks --- */

static void t_bytes(rec_t *r, mc_xport_t *a, target_t *t, uint8_t *src, uint8_t *back)
{
    static const uint64_t sizes[] = {4096, 65536, 1u << 20, (1u << 20) + 4097, 4u << 20};
    uint64_t tag = 1;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t n = sizes[i], off = i * 4096;
        uint32_t seed = (uint32_t)i + 100;
        fill(src, n, seed);
        memset(back, 0, n);
        CHECK(run1(r, a, op(MC_XFER_WRITE, src, t->base + off, n, tag)) == MC_OK);
        CHECK(target_ask(t, "C %llu %llu %u\n", (unsigned long long)off, (unsigned long long)n, seed) == 1);
        CHECK(run1(r, a, op(MC_XFER_READ, back, t->base + off, n, tag + 1)) == MC_OK);
        CHECK(memcmp(src, back, n) == 0);
        printf("  bytes: WRITE+READ %8" PRIu64 " B ok\n", n);
        tag += 2;
    }
    mc_xport_stats_t st;
    mc_xport_stats(a, &st);
    CHECK(st.ops_rdma == 10 && st.ops_tcp == 0);
}

static void t_bounds(rec_t *r, mc_xport_t *a, target_t *t, uint8_t *src)
{
    fill(src, 8192, 7);
    CHECK(run1(r, a, op(MC_XFER_WRITE, src, t->base + CAP - 100, 200, 50)) == MC_INVALID_PARAMS);
    CHECK(run1(r, a, op(MC_XFER_WRITE, src, t->base + CAP, 4096, 51)) == MC_INVALID_PARAMS);
    CHECK(run1(r, a, op(MC_XFER_READ, src, t->base - 4096, 4096, 52)) == MC_INVALID_PARAMS);
    CHECK(run1(r, a, op(MC_XFER_READ, src, 16, 4096, 53)) == MC_INVALID_PARAMS);
    CHECK(target_ask(t, "G\n") == 1);
    /* the connection is still good after rejections */
    CHECK(run1(r, a, op(MC_XFER_WRITE, src, t->base + CAP - 4096, 4096, 54)) == MC_OK);
    CHECK(target_ask(t, "C %u 4096 7\n", CAP - 4096) == 1);
    CHECK(target_ask(t, "G\n") == 1);
    printf("  bounds: out-of-region WRITE/READ rejected, guard intact\n");
}

static void t_keys(rec_t *r, mc_xport_t *a, target_t *t, uint8_t *src, uint8_t *back)
{
    mc_xfer_op_t o = op(MC_XFER_WRITE, src, t->base + 8192, 4096, 56);
    fill(src, 4096, 11);
    o.remote_key = t->key;
    CHECK(run1(r, a, o) == MC_OK);
    CHECK(target_ask(t, "C 8192 4096 11\n") == 1);
    /* a stale descriptor: same address, another registration's key */
    fill(src, 4096, 12);
    o.remote_key = t->key + 1;
    o.tag = 57;
    CHECK(run1(r, a, o) == MC_TRANSFER_FAIL);
    CHECK(target_ask(t, "C 8192 4096 11\n") == 1); /* untouched */
    mc_xfer_op_t rd = op(MC_XFER_READ, back, t->base + 8192, 4096, 58);
    rd.remote_key = t->key ^ 0x80000000u;
    memset(back, 0, 4096);
    CHECK(run1(r, a, rd) == MC_TRANSFER_FAIL);
    for (size_t i = 0; i < 4096; i++)
        CHECK(back[i] == 0);
    rd.remote_key = t->key;
    rd.tag = 59;
    CHECK(run1(r, a, rd) == MC_OK);
    CHECK(check_fill(back, 4096, 11));
    printf("  keys: current key lands, stale key rejected (MC_TRANSFER_FAIL), memory untouched\n");
}

static void t_induced_error(rec_t *r, mc_xport_t *a, target_t *t, uint8_t *src)
{
    unsigned failed = 0, ok = 0;
    for (unsigned round = 0; round < 3; round++) {
        uint32_t seed = 200 + round;
        fill(src, CAP, seed);
        uint64_t tag = 60 + 2 * round;
        unsigned before = r->n_done;
        mc_xfer_op_t o = op(MC_XFER_WRITE, src, t->base, CAP, tag);
        mc_xport_post(a, &o, 1);
        /* once work requests are on the wire, force the QPs to the error state */
        mc_xport_verbs_counts_t vc;
        for (int i = 0; i < 200000; i++) {
            mc_xport_verbs_counts(&vc);
            if (vc.wrs > 0)
                break;
            usleep(50);
        }
        CHECK(vc.wrs > 0);
        CHECK(mc_xport_verbs_break(a) == 0);
        wait_n(r, before + 1);
        CHECK(r->cnt[tag] == 1);
        CHECK(r->st[tag] == MC_OK || r->st[tag] == MC_TRANSFER_FAIL);
        r->st[tag] == MC_OK ? ok++ : failed++;
        /* the retry (what the TE core does) goes over a rebuilt QP */
        CHECK(run1(r, a, op(MC_XFER_WRITE, src, t->base, CAP, tag + 1)) == MC_OK);
        CHECK(target_ask(t, "C 0 %u %u\n", CAP, seed) == 1);
    }
    CHECK(failed >= 1); /* the break hit work requests in flight: error completions failed slices */
    printf("  induced error: %u ops failed, %u landed before the break; every retry landed\n", failed, ok);
}

/* The target's side of our QP goes to the error state: our next WRITE
 * gets no acknowledgement; it fails either by an error completion
 * (retries exhausted) or, as rxe in Debian 12's kernel does, by the op
 * timeout (the QP is then moved to the error state: MC_RPC_TIMEOUT).
 * Retries (as the TE core / transfer_sync do, up to devices + 1 attempts:
 * each broken QP fails one attempt) build new QPs and land. */
static void t_remote_qp_error(rec_t *r, mc_xport_t *a, target_t *t, uint8_t *src, int ndev)
{
    fill(src, 1u << 20, 31);
    CHECK(run1(r, a, op(MC_XFER_WRITE, src, t->base, 4096, 100)) == MC_OK); /* QP is up */
    CHECK(target_ask(t, "B\n") == 1);
    mc_status_t s = run1(r, a, op(MC_XFER_WRITE, src, t->base, 1u << 20, 101));
    CHECK(s == MC_TRANSFER_FAIL || s == MC_RPC_TIMEOUT);
    int tries = 0;
    mc_status_t s2 = MC_TRANSFER_FAIL;
    while (s2 != MC_OK && tries < ndev + 1) {
        s2 = run1(r, a, op(MC_XFER_WRITE, src, t->base, 1u << 20, 102));
        CHECK(s2 == MC_OK || s2 == MC_TRANSFER_FAIL || s2 == MC_RPC_TIMEOUT);
        tries++;
    }
    CHECK(s2 == MC_OK);
    CHECK(target_ask(t, "C 0 %u 31\n", 1u << 20) == 1);
    printf("  remote QP error: op failed (%s), retry %d landed on a new QP\n",
           s == MC_RPC_TIMEOUT ? "MC_RPC_TIMEOUT: op timeout" : "MC_TRANSFER_FAIL: error completion", tries);
}

static void t_peer_killed(rec_t *r, mc_xport_t *a, uint8_t *src)
{
    target_t t2;
    target_start(&t2);
    CHECK(mc_xport_set_peer_desc(a, PEER, t2.desc) == MC_OK);
    fill(src, 65536, 9);
    CHECK(run1(r, a, op(MC_XFER_WRITE, src, t2.base, 65536, 70)) == MC_OK);
    kill(t2.pid, SIGKILL);
    int st;
    CHECK(waitpid(t2.pid, &st, 0) == t2.pid);
    fclose(t2.to);
    fclose(t2.from);
    mc_status_t s1 = run1(r, a, op(MC_XFER_WRITE, src, t2.base, 1u << 20, 71));
    mc_status_t s2 = run1(r, a, op(MC_XFER_READ, src, t2.base, 4096, 72));
    CHECK(s1 == MC_TRANSFER_FAIL || s1 == MC_RPC_TIMEOUT);
    CHECK(s2 == MC_TRANSFER_FAIL || s2 == MC_RPC_TIMEOUT);
    printf("  peer killed: ops failed (%d, %d), no hang\n", s1, s2);
}

static void wait_counts(mc_xport_verbs_counts_t *c, int64_t qps, int64_t ctrl)
{
    for (int i = 0; i < 3000; i++) {
        mc_xport_verbs_counts(c);
        if (c->qps == qps && c->ctrl_conns == ctrl)
            return;
        usleep(10000);
    }
}

static void t_churn(rec_t *r, mc_xport_t *a, target_t *t, unsigned iters, long kqp_base)
{
    mc_xport_verbs_counts_t c0, c;
    CHECK(mc_xport_verbs_disconnect(a) == 0);
    wait_counts(&c0, 0, 0);
    CHECK(c0.qps == 0 && c0.cqs == 0 && c0.ctrl_conns == 0);
    for (unsigned i = 0; i < iters; i++) {
        uint8_t *buf = malloc(65536);
        CHECK(buf);
        fill(buf, 4096, i);
        CHECK(mc_xport_mem_register(a, buf, 65536) == MC_OK);
        CHECK(run1(r, a, op(i % 2 ? MC_XFER_READ : MC_XFER_WRITE, buf, t->base + 4096 * (i % 64), 4096, 80)) == MC_OK);
        CHECK(mc_xport_verbs_disconnect(a) == 0);
        wait_counts(&c, 0, 0);
        CHECK(c.qps == 0 && c.ctrl_conns == 0);
        CHECK(mc_xport_mem_unregister(a, buf) == MC_OK);
        free(buf);
    }
    mc_xport_verbs_counts(&c);
    CHECK(c.mrs == c0.mrs && c.qps == 0 && c.cqs == 0 && c.pds == c0.pds);
    long tv[4];
    for (int i = 0; i < 3000; i++) { /* the target closes its side asynchronously */
        target_counts(t, tv);
        if (tv[0] == 0 && tv[3] == 0)
            break;
        usleep(10000);
    }
    CHECK(tv[0] == 0 && tv[1] == 0 && tv[2] >= 1 && tv[3] == 0);
    long kq = kernel_qps();
    if (kqp_base >= 0 && kq >= 0)
        CHECK(kq == kqp_base);
    printf("  churn: %u x (register, connect, op, disconnect, unregister): us qps=%" PRId64 " cqs=%" PRId64
           " mrs=%" PRId64 ", target qps=%ld cqs=%ld mrs=%ld conns=%ld, kernel qps %ld (baseline %ld)\n",
           iters, c.qps, c.cqs, c.mrs, tv[0], tv[1], tv[2], tv[3], kq, kqp_base);
}

static void t_force_tcp(void)
{
    setenv("MC_FORCE_TCP", "1", 1);
    rec_t *r = calloc(1, sizeof *r);
    r->loop = mc_loop_create();
    mc_xport_t *a = mk(r, "rdma", 0), *b = mk(r, "rdma", 0);
    CHECK(a && b);
    CHECK(strstr(mc_xport_local_desc(b), "rdma=") == NULL);
    CHECK(mc_xport_set_peer_desc(a, PEER, mc_xport_local_desc(b)) == MC_OK);
    uint8_t *src = malloc(1 << 20), *dst = calloc(1, 1 << 20);
    fill(src, 1 << 20, 5);
    CHECK(mc_xport_mem_register(a, src, 1 << 20) == MC_OK);
    CHECK(mc_xport_mem_register(b, dst, 1 << 20) == MC_OK);
    CHECK(run1(r, a, op(MC_XFER_WRITE, src, (uintptr_t)dst, 1 << 20, 90)) == MC_OK);
    CHECK(memcmp(src, dst, 1 << 20) == 0);
    mc_xport_stats_t st;
    mc_xport_stats(a, &st);
    CHECK(st.ops_tcp == 1 && st.ops_rdma == 0);
    mc_xport_destroy(a);
    mc_xport_destroy(b);
    mc_loop_destroy(r->loop);
    free(r);
    free(src);
    free(dst);
    unsetenv("MC_FORCE_TCP");
    printf("  MC_FORCE_TCP=1: protocol rdma fell back to TCP (bytes equal)\n");
}

/* Device selection: explicit lists, MC_MS_FILTERS / MC_MS_AUTO_DISC, and
 * the GID index (the VM exports the IPv4-mapped RoCEv2 one it found). */
static void t_discovery(const char *first)
{
    rec_t *r = calloc(1, sizeof *r);
    r->loop = mc_loop_create();
    char devs[256];
    CHECK(mk_dev(r, "rdma", 0, "nosuchdev0") == NULL);
    CHECK(strstr(r->last_err, "no RDMA device found") != NULL);
    setenv("MC_MS_FILTERS", "nosuchdev0", 1);
    CHECK(mk_dev(r, "rdma", 0, NULL) == NULL);
    setenv("MC_MS_FILTERS", first, 1);
    mc_xport_t *x = mk_dev(r, "rdma", 0, NULL);
    CHECK(x);
    CHECK(mc_xport_verbs_devices(x, devs, sizeof devs) == 0 && strcmp(devs, first) == 0);
    const char *want = getenv("RXE_GID_INDEX");
    if (want && getenv("RXE_DEV") && strcmp(getenv("RXE_DEV"), first) == 0)
        CHECK(mc_xport_verbs_gid_index(x, 0) == atoi(want));
    int gi = mc_xport_verbs_gid_index(x, 0);
    mc_xport_destroy(x);
    unsetenv("MC_MS_FILTERS");
    setenv("MC_MS_AUTO_DISC", "0", 1);
    r->last_err[0] = '\0';
    CHECK(mk_dev(r, "rdma", 0, NULL) == NULL);
    CHECK(strstr(r->last_err, "MC_MS_AUTO_DISC=0 needs rdma_devices") != NULL);
    unsetenv("MC_MS_AUTO_DISC");
    mc_loop_destroy(r->loop);
    free(r);
    printf("  discovery: lists/MC_MS_FILTERS/MC_MS_AUTO_DISC honoured; %s uses gid index %d%s\n", first, gi,
           want ? " (the IPv4-mapped RoCEv2 entry)" : "");
}

/* Pure parts, no device needed: descriptor rdma= key, control messages. */
static void t_codec(void)
{
    mc_xport_endpoint_t ep;
    CHECK(mc_xport_desc_parse("mcx1 host=10.0.2.15 port=4000 shm=0 rdma=4001", &ep) == 0);
    CHECK(ep.data_port == 4000 && ep.rdma_port == 4001 && !ep.shm && strcmp(ep.host, "10.0.2.15") == 0);
    char buf[MC_XPORT_DESC_LEN];
    mc_xport_desc_format(&ep, buf, sizeof buf);
    CHECK(strcmp(buf, "mcx1 host=10.0.2.15 port=4000 shm=0 rdma=4001") == 0);
    CHECK(mc_xport_desc_parse("mcx1 host=h port=1 rdma=70000", &ep) != 0);
    CHECK(mc_xport_desc_parse("mcx1 host=h port=1", &ep) == 0 && ep.rdma_port == 0);

    mc_xport_vmsg_t m, d;
    memset(&m, 0, sizeof m);
    m.type = MC_XPORT_VMSG_HELLO;
    m.dev = 1;
    m.qpn = 0x123456;
    m.psn = 0xabcdef;
    m.mtu = 3;
    m.port = 1;
    m.gid[10] = m.gid[11] = 0xff;
    uint8_t w[MC_XPORT_VMSG_LEN];
    mc_xport_vmsg_encode(&m, w);
    const char *why = NULL;
    CHECK(mc_xport_vmsg_decode(w, sizeof w, &d, &why) == 0);
    CHECK(d.qpn == m.qpn && d.psn == m.psn && d.mtu == 3 && d.dev == 1 && memcmp(d.gid, m.gid, 16) == 0);
    CHECK(mc_xport_vmsg_decode(w, sizeof w - 1, &d, &why) == 1);
    w[16] = 0; /* HELLO without an MTU */
    CHECK(mc_xport_vmsg_decode(w, sizeof w, &d, &why) == -1 && why);
    m.type = MC_XPORT_VMSG_RKEY_REQ;
    m.mtu = 0;
    m.addr = UINT64_MAX - 10;
    m.len = 11; /* wraps */
    mc_xport_vmsg_encode(&m, w);
    CHECK(mc_xport_vmsg_decode(w, sizeof w, &d, &why) == -1);
    m.len = 10;
    mc_xport_vmsg_encode(&m, w);
    CHECK(mc_xport_vmsg_decode(w, sizeof w, &d, &why) == 0 && d.addr == UINT64_MAX - 10 && d.len == 10);
    w[0] = 'X';
    CHECK(mc_xport_vmsg_decode(w, sizeof w, &d, &why) == -1);
    printf("  codec: descriptor rdma= key and control messages\n");
}

static int no_device(void)
{
    rec_t *r = calloc(1, sizeof *r);
    r->loop = mc_loop_create();
    unsetenv("MC_FORCE_TCP");
    CHECK(mk(r, "rdma", 0) == NULL);
    CHECK(strstr(r->last_err, "no RDMA device found") != NULL);
    CHECK(strstr(r->last_err, "set MC_FORCE_TCP=1 to use TCP") != NULL);
    CHECK(mk(r, "carrier-pigeon", 0) == NULL);
    mc_loop_destroy(r->loop);
    free(r);
    printf("  no device: protocol rdma refused with \"no RDMA device found (... MC_FORCE_TCP=1 ...)\"\n");
    t_force_tcp();
    printf("skip: no RDMA device on this machine (ibv_get_device_list is empty); the RDMA checks run in "
           "tests/rxe/run_rxe_tests.sh (Soft-RoCE VM)\n");
    return 77;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--target") == 0)
        return target_main();
    unsigned iters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    t_codec();
    int ndev = 0;
    struct ibv_device **l = ibv_get_device_list(&ndev);
    if (l)
        ibv_free_device_list(l);
    if (ndev == 0)
        return no_device();

    {
        struct ibv_device **dl = ibv_get_device_list(NULL);
        char first[64];
        snprintf(first, sizeof first, "%s", ibv_get_device_name(dl[0]));
        ibv_free_device_list(dl);
        t_discovery(first);
    }
    long kqp_base = kernel_qps();
    printf("verbs_xport_check: %d RDMA device(s), kernel qps at start %ld\n", ndev, kqp_base);
    rec_t *r = calloc(1, sizeof *r);
    r->loop = mc_loop_create();
    mc_xport_t *a = mk(r, "rdma", 1u << 20);
    CHECK(a);
    char devs[256];
    CHECK(mc_xport_verbs_devices(a, devs, sizeof devs) == 0);
    printf("  devices: %s\n", devs);
    target_t t;
    target_start(&t);
    CHECK(mc_xport_set_peer_desc(a, PEER, t.desc) == MC_OK);
    uint8_t *src = aligned_alloc(4096, CAP), *back = aligned_alloc(4096, CAP);
    CHECK(src && back);
    CHECK(mc_xport_mem_register(a, src, CAP) == MC_OK);
    CHECK(mc_xport_mem_register(a, back, CAP) == MC_OK);

    t_bytes(r, a, &t, src, back);
    t_bounds(r, a, &t, src);
    t_keys(r, a, &t, src, back);
    t_induced_error(r, a, &t, src);
    t_remote_qp_error(r, a, &t, src, ndev);
    t_churn(r, a, &t, iters, kqp_base);
    t_peer_killed(r, a, src);
    CHECK(mc_xport_set_peer_desc(a, PEER, t.desc) == MC_OK);
    CHECK(run1(r, a, op(MC_XFER_READ, back, t.base, 4096, 95)) == MC_OK);

    target_stop(&t);
    CHECK(mc_xport_mem_unregister(a, src) == MC_OK);
    CHECK(mc_xport_mem_unregister(a, back) == MC_OK);
    mc_xport_destroy(a);
    mc_loop_destroy(r->loop);
    free(r);
    mc_xport_verbs_counts_t c;
    mc_xport_verbs_counts(&c);
    CHECK(c.qps == 0 && c.cqs == 0 && c.mrs == 0 && c.pds == 0 && c.ctrl_conns == 0 && c.wrs == 0);
    free(src);
    free(back);
    t_force_tcp();
    printf("verbs_xport_check: PASS\n");
    return 0;
}
