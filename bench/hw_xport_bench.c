/* bench_hw_xport: the hw data plane measured on this machine, in one run
 * (a benchmark, not a test).
 *
 *   bench_hw_xport [--secs S] [--reps R] [--conns N] [--block KiB] [--no-iperf] [--no-shm]
 *
 * Every figure is the best of R runs of S seconds (default 3 x 1 s), the
 * runs of a transport and of its baseline interleaved, so that load from
 * other processes on this small machine distorts the ratios less.
 * Two processes on loopback: a forked target owns a 64 MiB region
 * allocated with mc_xport_alloc_shared(); this process writes (and reads)
 * it with a window of ops in flight.
 *   TCP   GB/s at 64 KiB, 1 MiB, 4 MiB blocks, 1 and N connections per peer
 *   iperf3 single- and N-stream over loopback (same run), and the ratios
 *   SHM   GB/s at the same blocks vs a plain memcpy of the same size
 * Goals (issue 4): TCP 1 conn >= 0.9x iperf3 single-stream, N conns above
 * it; shm >= 0.8x memcpy. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mc_loop.h"
#include "mc_xport.h"

#define REGION (64u << 20)
#define GB 1e9

typedef struct run {
    mc_loop_t *loop;
    mc_xport_t *x;
    uint8_t *local;
    uint64_t remote;
    uint64_t block;
    int opcode;
    uint64_t next_off;
    uint64_t inflight;
    uint64_t bytes_done;
    uint64_t failed;
    uint64_t deadline;
    bool stop_posting;
} run_t;

static int b_post(void *ctx, void (*fn)(void *), void *arg)
{
    return mc_loop_post(ctx, fn, arg);
}

static void run_post_one(run_t *r)
{
    uint64_t off = r->next_off;
    r->next_off = (r->next_off + r->block) % REGION;
    if (r->next_off + r->block > REGION)
        r->next_off = 0;
    mc_xfer_op_t op = {.opcode = (uint8_t)r->opcode,
                       .local = r->local + off,
                       .peer = "target:1",
                       .remote_addr = r->remote + off,
                       .len = r->block,
                       .tag = off};
    r->inflight++;
    mc_xport_post(r->x, &op, 1);
}

static void run_done(void *ctx, uint64_t tag, mc_status_t status)
{
    run_t *r = ctx;
    (void)tag;
    r->inflight--;
    if (status == MC_OK)
        r->bytes_done += r->block;
    else
        r->failed++;
    if (!r->stop_posting)
        run_post_one(r);
}

static mc_xport_t *make_xport(run_t *r, unsigned conns, int shm, uint16_t port)
{
    mc_xport_opts_t o;
    memset(&o, 0, sizeof o);
    o.conns_per_peer = conns;
    o.shm = shm;
    o.post = b_post;
    o.post_ctx = r->loop;
    o.done = run_done;
    o.done_ctx = r;
    o.log_level = MC_LOG_WARN;
    mc_xport_t *x = mc_xport_create(&o);
    if (!x) {
        fprintf(stderr, "xport create failed\n");
        exit(1);
    }
    char desc[128];
    snprintf(desc, sizeof desc, "mcx1 host=127.0.0.1 port=%u shm=1", (unsigned)port);
    mc_xport_set_peer_desc(x, "target:1", desc);
    return x;
}

/* GB/s of one configuration. */
static double measure(uint16_t port, uint64_t remote, uint8_t *local, unsigned conns, int shm, int opcode,
                      uint64_t block, double secs)
{
    run_t r;
    memset(&r, 0, sizeof r);
    r.loop = mc_loop_create();
    r.x = make_xport(&r, conns, shm, port);
    r.local = local;
    r.remote = remote;
    r.block = block;
    r.opcode = opcode;
    if (mc_xport_mem_register(r.x, local, REGION) != MC_OK) {
        fprintf(stderr, "register failed\n");
        exit(1);
    }
    uint64_t window = (32u << 20) / block;
    if (window < 8)
        window = 8;
    if (window > 512)
        window = 512;
    /* warm-up: connections and mappings */
    r.stop_posting = true;
    for (int i = 0; i < 4; i++)
        run_post_one(&r);
    while (r.inflight)
        mc_loop_run_once(r.loop, 1000000ull);
    r.stop_posting = false;
    r.bytes_done = 0;
    uint64_t t0 = mc_loop_clock_ns();
    uint64_t end = t0 + (uint64_t)(secs * 1e9);
    for (uint64_t i = 0; i < window; i++)
        run_post_one(&r);
    while (mc_loop_clock_ns() < end)
        mc_loop_run_once(r.loop, 1000000ull);
    r.stop_posting = true;
    while (r.inflight)
        mc_loop_run_once(r.loop, 1000000ull);
    uint64_t t1 = mc_loop_clock_ns();
    if (r.failed)
        fprintf(stderr, "  (%llu ops failed)\n", (unsigned long long)r.failed);
    mc_xport_mem_unregister(r.x, local);
    mc_xport_destroy(r.x);
    mc_loop_destroy(r.loop);
    return (double)r.bytes_done / ((double)(t1 - t0) / 1e9) / GB;
}

/* Plain single-thread memcpy of the same block pattern over 64 MiB. */
static double measure_memcpy(uint8_t *dst, const uint8_t *src, uint64_t block, double secs)
{
    uint64_t bytes = 0, off = 0;
    uint64_t t0 = mc_loop_clock_ns();
    uint64_t end = t0 + (uint64_t)(secs * 1e9);
    while (mc_loop_clock_ns() < end) {
        for (int i = 0; i < 16; i++) {
            memcpy(dst + off, src + off, block);
            bytes += block;
            off += block;
            if (off + block > REGION)
                off = 0;
        }
    }
    uint64_t t1 = mc_loop_clock_ns();
    __asm__ volatile("" ::"r"(dst) : "memory");
    return (double)bytes / ((double)(t1 - t0) / 1e9) / GB;
}

/* ---------------------------------------------------------- target ---- */

static int noop_post(void *ctx, void (*fn)(void *), void *arg)
{
    return mc_loop_post(ctx, fn, arg);
}

static void noop_done(void *ctx, uint64_t tag, mc_status_t status)
{
    (void)ctx;
    (void)tag;
    (void)status;
}

static pid_t spawn_target(uint16_t *port, uint64_t *addr)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        mc_loop_t *l = mc_loop_create();
        mc_xport_opts_t o;
        memset(&o, 0, sizeof o);
        o.shm = 1;
        o.post = noop_post;
        o.post_ctx = l;
        o.done = noop_done;
        o.log_level = MC_LOG_WARN;
        mc_xport_t *x = mc_xport_create(&o);
        uint8_t *buf = x ? mc_xport_alloc_shared(x, REGION) : NULL;
        if (!buf || mc_xport_mem_register(x, buf, REGION) != MC_OK)
            _exit(3);
        memset(buf, 1, REGION);
        uint64_t msg[2] = {mc_xport_data_port(x), (uintptr_t)buf};
        if (write(pfd[1], msg, sizeof msg) != (ssize_t)sizeof msg)
            _exit(4);
        mc_loop_run(l);
        _exit(0);
    }
    close(pfd[1]);
    uint64_t msg[2];
    if (read(pfd[0], msg, sizeof msg) != (ssize_t)sizeof msg) {
        fprintf(stderr, "target did not start\n");
        exit(1);
    }
    close(pfd[0]);
    *port = (uint16_t)msg[0];
    *addr = msg[1];
    return pid;
}

/* ---------------------------------------------------------- iperf3 ---- */

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
        return 0;
    close(fd);
    return ntohs(sa.sin_port);
}

/* Receiver-side GB/s of an iperf3 run over loopback; <0 if unavailable. */
static double iperf3(int streams, double secs)
{
    uint16_t port = free_port();
    pid_t srv = fork();
    if (srv == 0) {
        char ps[8];
        snprintf(ps, sizeof ps, "%u", (unsigned)port);
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127);
        execlp("iperf3", "iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", ps, (char *)NULL);
        _exit(127);
    }
    usleep(300000);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "iperf3 -c 127.0.0.1 -p %u -t %d -P %d -f g 2>/dev/null", (unsigned)port,
             (int)(secs + 0.5) < 1 ? 1 : (int)(secs + 0.5), streams);
    FILE *f = popen(cmd, "r");
    double gbit = -1;
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (!strstr(line, "receiver"))
            continue;
        if (streams > 1 && !strstr(line, "[SUM]"))
            continue;
        char *u = strstr(line, "Gbits/sec");
        if (!u)
            continue;
        char *p = u;
        while (p > line && p[-1] == ' ')
            p--;
        while (p > line && (p[-1] == '.' || (p[-1] >= '0' && p[-1] <= '9')))
            p--;
        gbit = atof(p);
    }
    if (f)
        pclose(f);
    int st;
    if (waitpid(srv, &st, WNOHANG) == 0) {
        kill(srv, SIGTERM);
        waitpid(srv, &st, 0);
    }
    return gbit < 0 ? -1 : gbit / 8.0;
}

int main(int argc, char **argv)
{
    double secs = 1.0;
    int reps = 3;
    unsigned nconns = 4;
    bool do_iperf = true, do_shm = true;
    uint64_t only_block = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--secs") == 0 && i + 1 < argc)
            secs = atof(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc)
            nconns = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--no-iperf") == 0)
            do_iperf = false;
        else if (strcmp(argv[i], "--no-shm") == 0)
            do_shm = false;
        else if (strcmp(argv[i], "--block") == 0 && i + 1 < argc)
            only_block = (uint64_t)atoll(argv[++i]) << 10;
        else {
            fprintf(stderr, "usage: %s [--secs S] [--reps R] [--conns N] [--block KiB] [--no-iperf] [--no-shm]\n", argv[0]);
            return 64;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    uint16_t port;
    uint64_t remote;
    pid_t target = spawn_target(&port, &remote);
    uint8_t *local = aligned_alloc(4096, REGION), *scratch = aligned_alloc(4096, REGION);
    memset(local, 2, REGION);
    memset(scratch, 3, REGION);

    static const uint64_t blocks[] = {64u << 10, 1u << 20, 4u << 20};
    double ip1 = -1, ipn = -1;
    if (do_iperf) {
        for (int i = 0; i < reps; i++) {
            double a = iperf3(1, 2 * secs), b = iperf3((int)nconns, 2 * secs);
            ip1 = a > ip1 ? a : ip1;
            ipn = b > ipn ? b : ipn;
        }
        if (ip1 < 0)
            printf("iperf3: not available (apt-get install -y iperf3)\n");
        else
            printf("iperf3 loopback: 1 stream %.2f GB/s, %u streams %.2f GB/s\n", ip1, nconns, ipn);
        fflush(stdout);
    }
    printf("\nTCP transport (two processes, loopback; GB/s = 1e9 B/s; best of %d x %.1f s)\n", reps, secs);
    printf("%-10s %-6s %6s %9s %12s %12s\n", "block KiB", "conns", "op", "GB/s", "vs iperf1", "vs iperfN");
    for (size_t b = 0; b < 3; b++)
        for (int ci = 0; ci < 2; ci++) {
            if (only_block && blocks[b] != only_block)
                continue;
            unsigned c = ci ? nconns : 1;
            for (int opc = MC_XFER_WRITE; opc >= MC_XFER_READ; opc--) {
                double g = 0;
                for (int i = 0; i < reps; i++) {
                    double v = measure(port, remote, local, c, -2, opc, blocks[b], secs);
                    g = v > g ? v : g;
                }
                printf("%-10llu %-6u %6s %9.2f", (unsigned long long)(blocks[b] >> 10), c,
                       opc == MC_XFER_WRITE ? "WRITE" : "READ", g);
                if (ip1 > 0)
                    printf(" %11.2fx %11.2fx", g / ip1, g / ipn);
                printf("\n");
                fflush(stdout);
            }
        }
    printf("\nSHM transport (two processes, same host) vs plain memcpy of the same block\n");
    printf("%-10s %6s %9s %12s %9s\n", "block KiB", "op", "shm GB/s", "memcpy GB/s", "ratio");
    for (size_t b = 0; b < 3 && do_shm; b++)
        for (int opc = MC_XFER_WRITE; opc >= MC_XFER_READ; opc--) {
            if (only_block && blocks[b] != only_block)
                continue;
            double g = 0, m = 0;
            for (int i = 0; i < reps; i++) {
                double v = measure(port, remote, local, 1, 1, opc, blocks[b], secs / 2);
                double w = measure_memcpy(scratch, local, blocks[b], secs / 2);
                g = v > g ? v : g;
                m = w > m ? w : m;
            }
            printf("%-10llu %6s %9.2f %12.2f %8.2fx\n", (unsigned long long)(blocks[b] >> 10),
                   opc == MC_XFER_WRITE ? "WRITE" : "READ", g, m, g / m);
            fflush(stdout);
        }
    kill(target, SIGKILL);
    waitpid(target, NULL, 0);
    free(local);
    free(scratch);
    return 0;
}
