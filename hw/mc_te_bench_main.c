/* transfer_engine_bench: upstream's TE throughput benchmark
 * (mooncake-transfer-engine/example/transfer_engine_bench.cpp) over the
 * core transfer engine on the hw loop, env and TCP data plane.
 *
 *   target:    registers --buffer_size bytes as segment --local_server_name,
 *              publishes it through --metadata_server, serves until
 *              SIGINT/SIGTERM.
 *   initiator: opens segment --segment_id and keeps --threads batches of
 *              --batch_size requests of --block_size bytes in flight for
 *              --duration seconds (all on the loop thread: "threads" are
 *              concurrent batch pipelines), then prints upstream's line
 *              "Test completed: duration D, batch count N, throughput X GB/s".
 *
 * Exit: 0 ok, 1 runtime failure (metadata, transfer errors), 2 bad flags. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/mc_mem.h"
#include "env/mc_conf.h"
#include "mc_addr.h"
#include "mc_flags.h"
#include "mc_hw_env.h"
#include "mc_loop.h"
#include "meta/mc_hw_meta.h"
#include "rpc/mc_rpc.h"
#include "te/mc_te.h"
#include "te/mc_te_meta_rpc.h"

static const char *prog = "transfer_engine_bench";

typedef struct bench bench_t;

typedef struct pipe_state {
    bench_t *b;
    uint32_t index;
    uint64_t batch;
    bool running;
} pipe_state_t;

struct bench {
    /* flags */
    const char *mode, *protocol, *metadata_server, *local_server_name, *segment_id, *operation, *report_unit;
    uint64_t block_size, batch_size, threads, buffer_size, report_precision;
    double duration;
    /* runtime */
    mc_loop_t *loop;
    mc_env_t *env;
    mc_te_t *te;
    mc_te_meta_t *meta;
    bool meta_rpc;
    uint8_t *buf;
    uint64_t seg;
    uint64_t peer_base, nblocks;
    pipe_state_t *pipes;
    uint32_t running;
    uint64_t start_ns, end_ns, stop_at;
    uint64_t batches, failed_batches;
    int rc;
    int sfd;
    mc_loop_io_t *sig_io;
};

static void usage(FILE *o)
{
    fprintf(o,
            "Usage: %s --mode=target|initiator [flags]\n"
            "  --mode                 target | initiator (default initiator)\n"
            "  --protocol             tcp (default tcp; sets MC_FORCE_TCP=1 unless set)\n"
            "  --metadata_server      http://host:port/metadata | etcd://host:port[,..] | host:port[,..] |\n"
            "                         P2PHANDSHAKE (default P2PHANDSHAKE)\n"
            "  --local_server_name    this segment's name, host[:port] (default 127.0.0.1). A numeric\n"
            "                         host is also the listen address, else 127.0.0.1; with\n"
            "                         P2PHANDSHAKE the segment is named host:bound_port\n"
            "  --segment_id           initiator: the target's segment name\n"
            "  --operation            read | write (default read)\n"
            "  --block_size           bytes per request (default 65536)\n"
            "  --batch_size           requests per batch (default 128)\n"
            "  --threads              concurrent batches in flight (default 12)\n"
            "  --duration             initiator: seconds to run (default 10)\n"
            "  --buffer_size          registered buffer bytes (default 1GiB)\n"
            "  --report_unit          GB | GiB | Gb | MB | MiB | Mb (default GB)\n"
            "  --report_precision     digits after the point (default 2)\n"
            "Sizes take suffixes (64KiB, 4MiB, 1GiB). Env: MC_TCP_LANES_PER_PEER (connections per\n"
            "peer), MC_XPORT_SLICE_SIZE, MC_LOG_LEVEL.\n",
            prog);
}

static double unit_bytes(const char *u)
{
    static const struct {
        const char *name;
        double bytes;
    } units[] = {{"GB", 1e9}, {"GiB", 1073741824.0}, {"Gb", 1e9 / 8}, {"MB", 1e6}, {"MiB", 1048576.0},
                 {"Mb", 1e6 / 8}, {"KB", 1e3}, {"KiB", 1024.0}, {"Kb", 1e3 / 8}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcmp(units[i].name, u) == 0)
            return units[i].bytes;
    return 0;
}

/* ---- env upcalls: route to the TE (and the P2P metadata client) ---- */

static void h_up(void *node, mc_conn_t c)
{
    bench_t *b = node;
    if (!(b->meta_rpc && mc_te_meta_rpc_on_conn_up(b->meta, c)))
        mc_te_on_conn_up(b->te, c);
}

static void h_down(void *node, mc_conn_t c, mc_status_t why)
{
    bench_t *b = node;
    if (!(b->meta_rpc && mc_te_meta_rpc_on_conn_down(b->meta, c, why)))
        mc_te_on_conn_down(b->te, c, why);
}

static void h_accept(void *node, mc_conn_t c, const char *peer)
{
    (void)node;
    (void)c;
    (void)peer;
}

static void h_msg(void *node, mc_conn_t c, const uint8_t *frame, size_t len)
{
    bench_t *b = node;
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    if (!mc_rpc_open_frame(b->env, c, frame, len, "bench", true, &hdr, &body))
        return;
    if (b->meta_rpc && mc_te_meta_rpc_on_frame(b->meta, c, &hdr, &body))
        return;
    if (!mc_te_on_frame(b->te, c, &hdr, &body))
        mc_rpc_unexpected(b->env, "bench", &hdr);
}

static void h_xfer(void *node, uint64_t tag, mc_status_t st)
{
    bench_t *b = node;
    if (!mc_te_on_xfer_done(b->te, tag, st))
        mc_env_logf(b->env, MC_LOG_WARN, "bench", "completion with a foreign tag");
}

static const mc_env_handlers_t handlers = {
    .on_conn_up = h_up,
    .on_conn_accept = h_accept,
    .on_conn_down = h_down,
    .on_msg = h_msg,
    .on_xfer_done = h_xfer,
};

/* ---- initiator ---- */

static void pipe_submit(pipe_state_t *p);

static void finish(bench_t *b)
{
    b->end_ns = mc_loop_clock_ns();
    mc_loop_stop(b->loop);
}

static void on_batch_done(void *arg, uint64_t batch, int status)
{
    pipe_state_t *p = arg;
    bench_t *b = p->b;
    if (status == MC_TE_COMPLETED) {
        b->batches++;
    } else {
        b->failed_batches++;
        fprintf(stderr, "%s: batch %llu ended %s\n", prog, (unsigned long long)batch,
                mc_te_xfer_status_name(status));
    }
    int rc = mc_te_free_batch(b->te, batch);
    if (rc != 0)
        fprintf(stderr, "%s: free_batch: %s\n", prog, mc_te_err_msg(rc));
    p->batch = 0;
    if (status == MC_TE_COMPLETED && mc_loop_clock_ns() < b->stop_at) {
        pipe_submit(p);
        return;
    }
    p->running = false;
    if (--b->running == 0)
        finish(b);
}

static void pipe_submit(pipe_state_t *p)
{
    bench_t *b = p->b;
    mc_te_request_t *reqs = mc_calloc(b->batch_size, sizeof *reqs);
    for (uint64_t j = 0; j < b->batch_size; j++) {
        uint64_t off = ((p->index * b->batch_size + j) % b->nblocks) * b->block_size;
        reqs[j].opcode = strcmp(b->operation, "write") == 0 ? MC_XFER_WRITE : MC_XFER_READ;
        reqs[j].source = b->buf + off;
        reqs[j].target_id = b->seg;
        reqs[j].target_offset = b->peer_base + off;
        reqs[j].length = b->block_size;
    }
    p->batch = mc_te_alloc_batch(b->te, (uint32_t)b->batch_size);
    int rc = mc_te_submit(b->te, p->batch, reqs, b->batch_size);
    if (rc == 0)
        rc = mc_te_batch_on_done(b->te, p->batch, on_batch_done, p);
    mc_free(reqs);
    if (rc != 0) {
        fprintf(stderr, "%s: submit: %s\n", prog, mc_te_err_msg(rc));
        b->rc = 1;
        mc_te_free_batch(b->te, p->batch);
        p->batch = 0;
        p->running = false;
        if (--b->running == 0)
            finish(b);
    }
}

static void start_transfers(bench_t *b)
{
    const mc_te_seg_desc_t *d = mc_te_segment_desc(b->te, b->seg);
    if (!d || d->nbuffers == 0) {
        fprintf(stderr, "%s: segment '%s' has no registered buffer\n", prog, b->segment_id);
        b->rc = 1;
        mc_loop_stop(b->loop);
        return;
    }
    b->peer_base = d->buffers[0].addr;
    uint64_t span = d->buffers[0].length < b->buffer_size ? d->buffers[0].length : b->buffer_size;
    b->nblocks = span / b->block_size;
    if (b->nblocks == 0) {
        fprintf(stderr, "%s: --block_size %llu exceeds the buffers (%llu bytes)\n", prog,
                (unsigned long long)b->block_size, (unsigned long long)span);
        b->rc = 1;
        mc_loop_stop(b->loop);
        return;
    }
    b->pipes = mc_calloc(b->threads, sizeof *b->pipes);
    b->start_ns = mc_loop_clock_ns();
    b->stop_at = b->start_ns + (uint64_t)(b->duration * 1e9);
    b->running = (uint32_t)b->threads;
    for (uint32_t i = 0; i < b->threads; i++) {
        b->pipes[i].b = b;
        b->pipes[i].index = i;
        b->pipes[i].running = true;
        pipe_submit(&b->pipes[i]);
    }
}

static void on_open(void *arg, int err, uint64_t id)
{
    bench_t *b = arg;
    if (err != 0) {
        fprintf(stderr, "%s: open segment '%s': %s%s%s\n", prog, b->segment_id, mc_te_err_msg(err),
                b->meta_rpc ? "" : ": ", b->meta_rpc ? "" : mc_hw_meta_last_error(b->meta));
        b->rc = 1;
        mc_loop_stop(b->loop);
        return;
    }
    b->seg = id;
    start_transfers(b);
}

/* ---- signals ---- */

static void on_signal(void *arg, uint32_t events)
{
    (void)events;
    bench_t *b = arg;
    struct signalfd_siginfo si;
    if (read(b->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (!b->te || strcmp(b->mode, "target") == 0) {
            mc_loop_stop(b->loop);
        } else {
            b->stop_at = 0; /* initiator: finish the batches in flight */
        }
    }
}

/* ---- setup ---- */

static int parse_flags(bench_t *b, int argc, char **argv)
{
    mc_conf_t c;
    mc_conf_init(&c);
    static const char *const names[] = {"mode",       "protocol",    "metadata_server", "local_server_name",
                                        "segment_id", "operation",   "block_size",      "batch_size",
                                        "threads",    "duration",    "buffer_size",     "report_unit",
                                        "report_precision", "device_name", "nic_priority_matrix",
                                        "auto_discovery", "use_vram", "gpu_id"};
    mc_flags_t f;
    mc_flags_init(&f, argc, argv);
    int rc = 2;
    while (mc_flags_peek(&f)) {
        if (mc_flags_bool(&f, "help") || mc_flags_bool(&f, "h")) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        bool hit = false;
        const char *v;
        for (size_t i = 0; i < sizeof names / sizeof *names && !hit; i++)
            if (mc_flags_value(&f, names[i], &v)) {
                mc_conf_set(&c, names[i], v);
                hit = true;
            }
        if (!hit) {
            fprintf(stderr, "%s: %s '%s' (see --help)\n", prog, f.err ? f.err : "unknown flag", mc_flags_peek(&f));
            goto out;
        }
    }
    static char keep[8][256]; /* string flags outlive the conf */
    const char *const sk[] = {"mode", "protocol", "metadata_server", "local_server_name", "segment_id", "operation",
                              "report_unit"};
    const char *const sd[] = {"initiator", "tcp", "P2PHANDSHAKE", "127.0.0.1", "", "read", "GB"};
    const char **sv[] = {&b->mode,       &b->protocol,  &b->metadata_server, &b->local_server_name,
                         &b->segment_id, &b->operation, &b->report_unit};
    for (size_t i = 0; i < 7; i++) {
        snprintf(keep[i], sizeof keep[i], "%s", mc_conf_str(&c, sk[i], sd[i]));
        *sv[i] = keep[i];
    }
    if (mc_conf_size(&c, "block_size", 65536, &b->block_size) != MC_OK ||
        mc_conf_u64(&c, "batch_size", 128, &b->batch_size) != MC_OK ||
        mc_conf_u64(&c, "threads", 12, &b->threads) != MC_OK ||
        mc_conf_double(&c, "duration", 10, &b->duration) != MC_OK ||
        mc_conf_size(&c, "buffer_size", 1ULL << 30, &b->buffer_size) != MC_OK ||
        mc_conf_u64(&c, "report_precision", 2, &b->report_precision) != MC_OK) {
        fprintf(stderr, "%s: %s\n", prog, c.err);
        goto out;
    }
    const char *bad = NULL;
    if (strcmp(b->mode, "target") != 0 && strcmp(b->mode, "initiator") != 0)
        bad = "--mode: expected target or initiator";
    else if (strcmp(b->protocol, "tcp") != 0)
        bad = "--protocol: only tcp is available in this build's benchmark";
    else if (strcmp(b->operation, "read") != 0 && strcmp(b->operation, "write") != 0)
        bad = "--operation: expected read or write";
    else if (b->block_size == 0 || b->batch_size == 0 || b->batch_size > (1u << 20) || b->threads == 0 ||
             b->threads > 1024)
        bad = "--block_size, --batch_size (1..1048576) and --threads (1..1024) must be positive";
    else if (b->buffer_size < b->block_size)
        bad = "--buffer_size must be at least --block_size";
    else if (!(b->duration > 0))
        bad = "--duration must be positive";
    else if (unit_bytes(b->report_unit) == 0)
        bad = "--report_unit: expected GB, GiB, Gb, MB, MiB, Mb, KB, KiB or Kb";
    else if (strcmp(b->mode, "initiator") == 0 && !b->segment_id[0])
        bad = "--segment_id: required in initiator mode (the target's segment name)";
    if (bad) {
        fprintf(stderr, "%s: %s\n", prog, bad);
        goto out;
    }
    rc = -1; /* continue */
out:
    mc_conf_free(&c);
    return rc;
}

/* Listen address and segment name from --local_server_name. */
static int setup_engine(bench_t *b)
{
    char host[MC_ADDR_STRLEN], addr[MC_ADDR_STRLEN + 8], err[512];
    uint16_t port = 0;
    if (!mc_addr_split(b->local_server_name, host, sizeof host, &port)) {
        snprintf(host, sizeof host, "%s", b->local_server_name);
        port = 0;
    }
    /* A plain name (upstream's default is the host name) only names the
     * segment; the engine then listens on loopback. */
    if (!host[0] || mc_addr_is_name(host))
        snprintf(host, sizeof host, "127.0.0.1");
    snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    uint16_t bound = 0;
    mc_status_t s = mc_hw_env_listen(b->env, addr, &bound);
    if (s != MC_OK) {
        fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, addr, mc_status_msg(s));
        return 1;
    }
    snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, bound);
    mc_hw_env_set_data_host(b->env, host);

    bool p2p = strcmp(b->metadata_server, MC_TE_P2P_HANDSHAKE) == 0;
    if (p2p) {
        b->meta = mc_te_meta_rpc_open(b->env, MC_TE_P2P_HANDSHAKE, 0);
        b->meta_rpc = true;
    } else {
        b->meta = mc_hw_meta_open(b->loop, b->metadata_server, err, sizeof err);
        if (!b->meta) {
            fprintf(stderr, "%s: --metadata_server: %s\n", prog, err);
            return 2;
        }
    }
    mc_conf_t conf;
    mc_conf_init(&conf);
    mc_conf_set(&conf, "addr", addr);
    mc_conf_set(&conf, "protocol", "tcp");
    /* P2P names the segment by its address (upstream does the same). */
    mc_conf_set(&conf, "segment_name", p2p ? addr : b->local_server_name);
    mc_env_bind(b->env, &handlers, b);
    b->te = mc_te_create(b->env, &conf, b->meta, err, sizeof err);
    mc_conf_free(&conf);
    if (!b->te) {
        fprintf(stderr, "%s: transfer engine: %s\n", prog, err);
        return 2;
    }
    b->buf = aligned_alloc(4096, (b->buffer_size + 4095) / 4096 * 4096);
    if (!b->buf) {
        fprintf(stderr, "%s: cannot allocate %llu bytes\n", prog, (unsigned long long)b->buffer_size);
        return 1;
    }
    memset(b->buf, strcmp(b->mode, "target") == 0 ? 0x5a : 0xa5, b->buffer_size);
    int rc = mc_te_register(b->te, b->buf, b->buffer_size, "cpu:0", true, true);
    if (rc != 0) {
        fprintf(stderr, "%s: register %llu bytes: %s\n", prog, (unsigned long long)b->buffer_size,
                mc_te_err_msg(rc));
        return 1;
    }
    return 0;
}

/* Run the loop a little so fire-and-forget metadata deletes go out. */
static void drain(bench_t *b, uint64_t ns)
{
    uint64_t end = mc_loop_clock_ns() + ns;
    while (mc_loop_clock_ns() < end)
        mc_loop_run_once(b->loop, end - mc_loop_clock_ns());
}

int main(int argc, char **argv)
{
    bench_t b;
    memset(&b, 0, sizeof b);
    b.sfd = -1;
    int rc = parse_flags(&b, argc, argv);
    if (rc >= 0)
        return rc;
    if (strcmp(b.protocol, "tcp") == 0)
        setenv("MC_FORCE_TCP", "1", 0);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || (b.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "%s: signalfd: %s\n", prog, strerror(errno));
        return 1;
    }
    b.loop = mc_loop_create();
    b.sig_io = mc_loop_io_add(b.loop, b.sfd, EPOLLIN, on_signal, &b);
    FILE *devnull = fopen("/dev/null", "w"); /* per-request trace events are not wanted here */
    mc_hw_env_opts_t eo;
    memset(&eo, 0, sizeof eo);
    eo.node_name = strcmp(b.mode, "target") == 0 ? "target" : "initiator";
    eo.log_level = mc_flags_log_level(0);
    eo.trace_out = devnull;
    b.env = mc_hw_env_create(b.loop, &eo);
    rc = setup_engine(&b);
    if (rc != 0)
        goto cleanup;

    if (strcmp(b.mode, "target") == 0) {
        printf("target ready: segment '%s', %llu bytes registered, metadata %s\n", mc_te_segment_name(b.te),
               (unsigned long long)b.buffer_size, b.metadata_server);
        fflush(stdout);
        mc_loop_run(b.loop);
        mc_te_unpublish(b.te);
        drain(&b, 300 * 1000000ULL);
        rc = 0;
        goto cleanup;
    }

    uint64_t id = MC_TE_INVALID_SEGMENT;
    int orc = mc_te_open_segment(b.te, b.segment_id, on_open, &b, &id);
    if (orc == 0) {
        b.seg = id;
        start_transfers(&b);
    } else if (orc != MC_TE_IN_PROGRESS) {
        fprintf(stderr, "%s: open segment '%s': %s\n", prog, b.segment_id, mc_te_err_msg(orc));
        rc = 1;
        goto cleanup;
    }
    mc_loop_run(b.loop);
    if (b.rc == 0 && b.end_ns > b.start_ns) {
        double secs = (double)(b.end_ns - b.start_ns) / 1e9;
        double bytes = (double)b.batches * (double)b.batch_size * (double)b.block_size;
        printf("Test completed: duration %.2f, batch count %llu, throughput %.*f %s/s\n", secs,
               (unsigned long long)b.batches, (int)b.report_precision, bytes / secs / unit_bytes(b.report_unit),
               b.report_unit);
        if (b.failed_batches)
            printf("failed batches: %llu\n", (unsigned long long)b.failed_batches);
        rc = b.failed_batches || b.batches == 0 ? 1 : 0;
    } else {
        rc = b.rc ? b.rc : 1;
    }
    mc_te_unpublish(b.te);
    drain(&b, 100 * 1000000ULL);

cleanup:
    if (b.te)
        mc_te_destroy(b.te);
    if (b.meta)
        mc_te_meta_destroy(b.meta);
    mc_free(b.pipes);
    if (b.env)
        mc_hw_env_destroy(b.env); /* joins the data-plane workers */
    free(b.buf);
    if (b.sig_io)
        mc_loop_io_del(b.loop, b.sig_io);
    mc_loop_destroy(b.loop);
    close(b.sfd);
    if (devnull)
        fclose(devnull);
    return rc;
}
