/* bench_ep_allreduce: all_reduce of 64 MiB (f32 sum) across 4 local
 * processes through libmooncake's EP API (mooncake/ep.h), on loopback.
 * One call; the API cuts it into ops of one slot (chunk = slot_bytes,
 * 1 MiB default) and queues them together. With a 4th argument "percall"
 * the bench makes one API call per chunk instead (how it ran before the
 * API chunked). Baseline measured in the same run: the same 4 processes
 * each memcpy (world - 1) x 64 MiB, the data every rank must at least
 * move; printed as a ratio (ep time / memcpy time). CPU seconds of all
 * ranks (every thread) are printed too: under load they move far less
 * than wall time. One untimed warm-up call comes first.
 *   bench_ep_allreduce [total_MiB=64] [chunk_KiB=1024] [world=4] [percall] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mooncake/ep.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of this process (all its threads: loop, transport
 * workers): unlike wall time it hardly moves with the machine's load. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* child: returns seconds for the whole all_reduce, < 0 on failure; *cpu:
 * the CPU seconds the process spent meanwhile */
static int percall;

/* the whole vector: one call, or one call per chunk (percall) */
static int all_reduce(mooncake_ep_t *h, const float *in, float *out, size_t n, size_t cn)
{
    if (!percall)
        cn = n;
    for (size_t off = 0; off < n; off += cn) {
        size_t c = n - off < cn ? n - off : cn;
        if (mooncake_ep_all_reduce(h, in + off, out + off, c, MOONCAKE_EP_FLOAT32, MOONCAKE_EP_SUM, 10000000, NULL))
            return -1;
    }
    return 0;
}

static double run_rank(unsigned rank, unsigned world, const char *coord, size_t total, size_t chunk, double *cpu)
{
    mooncake_ep_t *h = mooncake_ep_create(rank, world, coord, "127.0.0.1", chunk);
    if (!h || mooncake_ep_wait_active(h, 30000) != 0)
        return -1;
    size_t n = total / sizeof(float), cn = chunk / sizeof(float);
    float *in = malloc(total), *out = malloc(total);
    for (size_t i = 0; i < n; i++)
        in[i] = (float)((i % 13) * (rank + 1));
    double t = -1;
    /* One untimed warm-up call (steady state, as the memcpy baseline's
     * touched buffers): first-touch page faults of the output and of the
     * EP regions, costly in this VM, happen once per process. */
    if (all_reduce(h, in, out, n, cn) != 0)
        goto out;
    memset(out, 0xff, total); /* the timed call must write every checked value */
    if (mooncake_ep_barrier(h, 10000000, NULL) != 0)
        goto out;
    double t0 = now_s(), c0 = cpu_s();
    if (all_reduce(h, in, out, n, cn) != 0)
        goto out;
    t = now_s() - t0;
    *cpu = cpu_s() - c0;
    float f = (float)(world * (world + 1) / 2);
    for (size_t i = 0; i < n; i += 4099)
        if (out[i] != (float)(i % 13) * f)
            t = -2;
    mooncake_ep_barrier(h, 10000000, NULL);
out:
    free(in);
    free(out);
    mooncake_ep_destroy(h);
    return t;
}

static double run_memcpy(unsigned world, size_t total, double *cpu)
{
    char *a = malloc(total), *b = malloc(total);
    memset(a, 1, total);
    memset(b, 2, total);
    double t0 = now_s(), c0 = cpu_s();
    for (unsigned i = 0; i + 1 < world; i++)
        memcpy(i & 1 ? a : b, i & 1 ? b : a, total);
    double t = now_s() - t0;
    *cpu = cpu_s() - c0;
    free(a);
    free(b);
    return t;
}

/* fork world children running fn; the slowest child's time, *cpu: the
 * children's CPU seconds summed */
static double fan_out(unsigned world, int mode, const char *coord, size_t total, size_t chunk, double *cpu)
{
    int fds[64][2];
    pid_t pids[64];
    for (unsigned r = 0; r < world; r++) {
        if (pipe(fds[r]) != 0)
            return -1;
        pids[r] = fork();
        if (pids[r] == 0) {
            double tc[2] = {-1, 0};
            tc[0] = mode ? run_rank(r, world, coord, total, chunk, &tc[1]) : run_memcpy(world, total, &tc[1]);
            if (write(fds[r][1], tc, sizeof tc) != sizeof tc)
                _exit(1);
            _exit(0);
        }
        close(fds[r][1]);
    }
    double worst = 0;
    *cpu = 0;
    for (unsigned r = 0; r < world; r++) {
        double tc[2] = {-1, 0};
        if (read(fds[r][0], tc, sizeof tc) != sizeof tc || tc[0] < 0)
            worst = -1;
        else if (worst >= 0 && tc[0] > worst)
            worst = tc[0];
        *cpu += tc[1];
        close(fds[r][0]);
        waitpid(pids[r], NULL, 0);
    }
    return worst;
}

int main(int argc, char **argv)
{
    size_t total = (size_t)(argc > 1 ? atoi(argv[1]) : 64) << 20;
    size_t chunk = (size_t)(argc > 2 ? atoi(argv[2]) : 1024) << 10;
    unsigned world = argc > 3 ? (unsigned)atoi(argv[3]) : 4;
    percall = argc > 4 && !strcmp(argv[4], "percall");
    if (!total || !chunk || chunk % sizeof(float) || world < 2 || world > 64) {
        fprintf(stderr, "usage: %s [total_MiB] [chunk_KiB] [world 2..64]\n", argv[0]);
        return 2;
    }
    char coord[300];
    mooncake_ep_coord_t *c = mooncake_ep_coord_start("127.0.0.1:0", world, 5000, coord, sizeof coord);
    if (!c) {
        fprintf(stderr, "coordinator: %s\n", mooncake_ep_last_error());
        return 1;
    }
    double base_cpu, ep_cpu;
    double base = fan_out(world, 0, coord, total, chunk, &base_cpu);
    double ep = fan_out(world, 1, coord, total, chunk, &ep_cpu);
    mooncake_ep_coord_stop(c);
    if (ep < 0 || base <= 0) {
        fprintf(stderr, "bench failed (ep %.3f, memcpy %.3f)\n", ep, base);
        return 1;
    }
    double gb = (double)total / 1e9;
    printf("ep_allreduce: %zu MiB x %u ranks, chunk %zu KiB (%s): %.3f s, %.3f GB/s (algorithm bandwidth)\n",
           total >> 20, world, chunk >> 10, percall ? "one call per chunk" : "one call", ep, gb / ep);
    printf("memcpy bound: %u ranks each copy %u x %zu MiB: %.3f s, %.2f GB/s copied per rank\n", world, world - 1,
           total >> 20, base, gb * (world - 1) / base);
    printf("ratio ep/memcpy: %.1fx slower than the memcpy lower limit\n", ep / base);
    printf("cpu (all ranks, all threads): ep %.3f s, memcpy %.3f s, ratio %.1fx\n", ep_cpu, base_cpu,
           base_cpu > 0 ? ep_cpu / base_cpu : 0.0);
    return 0;
}
