/* bench_store_vs_redis: the Mooncake store against Redis and memcached on
 * this machine, in one run (a benchmark, not a test; issue 5). Driven by
 * bench/store_vs_redis.sh, which starts the master, the segment owner,
 * redis-server and memcached on free loopback ports and kills them at exit.
 *
 *   bench_store_vs_redis --owner MASTER SEGMENT_MIB
 *       segment owner: mounts a segment, prints "owner HOST:PORT", serves
 *       until stdin closes.
 *   bench_store_vs_redis --master A --owner-host H [--redis-port P]
 *       [--memcached-port Q] [--threads T] [--secs S] [--batch B] [--warm] [--smoke]
 *       [--batch-only]
 *       the client (no segment of its own: every byte crosses processes).
 *
 * Same workload for every system: T threads, each doing blocking ops back
 * to back for S seconds per (size, op); put = store a new key (Mooncake
 * put_from from a registered buffer, Redis SET, memcached set), get =
 * read one of the keys this thread stored (Mooncake get_into a registered
 * buffer, Redis GET, memcached get); every get's length and first/last
 * bytes are checked. Batched: 4 KiB values, B keys per call (Mooncake
 * batch_put_from / batch_get_into vs Redis B pipelined SET / GET, one
 * writev for the B commands). Redis and memcached are spoken to by the
 * minimal clients below (values go from/to the caller's buffer directly).
 * --warm: before each measured put row, an unmeasured put pass of the same
 * length (then cleared), so first-touch page faults in the servers'
 * memory are not counted (they dominate cold puts on this VM). */
#include <errno.h>
#include <mooncake/store.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16
#define MAX_BATCH 256
#define LAT_CAP (1u << 20)          /* latency samples kept per thread */
#define PHASE_BYTES_CAP (1ull << 30) /* bytes stored per put phase, all threads */

enum { SYS_MOONCAKE, SYS_REDIS, SYS_MEMCACHED, SYS_N };
static const char *sys_name[SYS_N] = {"mooncake", "redis", "memcached"};
enum { OP_PUT, OP_GET, OP_BPUT, OP_BGET };
static const char *op_name[] = {"put", "get", "batch put", "batch get"};

static struct {
    const char *master, *owner_host;
    int redis_port, mc_port;
    int threads;
    double secs;
    int batch;
    bool warm;
    mooncake_store_t *store;
} g;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------ memcached ---- */

/* A minimal blocking text-protocol client (set / get / multi-less). */
typedef struct mcc {
    int fd;
    size_t pos, len;
    char buf[1 << 16];
} mcc_t;

static int mcc_connect(mcc_t *m, int port)
{
    m->pos = m->len = 0;
    m->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if (m->fd < 0 || connect(m->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return -1;
    setsockopt(m->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

static int mcc_fill(mcc_t *m)
{
    if (m->pos == m->len)
        m->pos = m->len = 0;
    if (m->len == sizeof m->buf) {
        memmove(m->buf, m->buf + m->pos, m->len - m->pos);
        m->len -= m->pos;
        m->pos = 0;
    }
    ssize_t r = recv(m->fd, m->buf + m->len, sizeof m->buf - m->len, 0);
    if (r <= 0)
        return -1;
    m->len += (size_t)r;
    return 0;
}

/* One "\r\n"-terminated line into out (NUL-terminated, without CRLF). */
static int mcc_line(mcc_t *m, char *out, size_t cap)
{
    for (;;) {
        char *e = memchr(m->buf + m->pos, '\n', m->len - m->pos);
        if (e) {
            size_t n = (size_t)(e - (m->buf + m->pos));
            if (n && e[-1] == '\r')
                n--;
            if (n >= cap)
                return -1;
            memcpy(out, m->buf + m->pos, n);
            out[n] = 0;
            m->pos = (size_t)(e - m->buf) + 1;
            return 0;
        }
        if (mcc_fill(m) != 0)
            return -1;
    }
}

static int mcc_read(mcc_t *m, void *dst, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t have = m->len - m->pos;
        if (have) {
            size_t k = have < n - got ? have : n - got;
            memcpy((char *)dst + got, m->buf + m->pos, k);
            m->pos += k;
            got += k;
            continue;
        }
        ssize_t r = recv(m->fd, (char *)dst + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int mcc_writev(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t w = writev(fd, iov, cnt);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        size_t left = (size_t)w;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

static int mcc_set(mcc_t *m, const char *key, const void *v, size_t n)
{
    char hdr[300], line[128];
    int hl = snprintf(hdr, sizeof hdr, "set %s 0 0 %zu\r\n", key, n);
    struct iovec iov[3] = {{hdr, (size_t)hl}, {(void *)v, n}, {"\r\n", 2}};
    if (mcc_writev(m->fd, iov, 3) != 0 || mcc_line(m, line, sizeof line) != 0)
        return -1;
    return strcmp(line, "STORED") == 0 ? 0 : -1;
}

/* Value length, or -1 (miss or error). */
static int64_t mcc_get(mcc_t *m, const char *key, void *dst, size_t cap)
{
    char req[300], line[400], k[256];
    int rl = snprintf(req, sizeof req, "get %s\r\n", key);
    struct iovec iov = {req, (size_t)rl};
    unsigned flags;
    size_t n;
    if (mcc_writev(m->fd, &iov, 1) != 0 || mcc_line(m, line, sizeof line) != 0)
        return -1;
    if (strcmp(line, "END") == 0)
        return -1;
    if (sscanf(line, "VALUE %255s %u %zu", k, &flags, &n) != 3 || n > cap)
        return -1;
    char crlf[2];
    if (mcc_read(m, dst, n) != 0 || mcc_read(m, crlf, 2) != 0 || mcc_line(m, line, sizeof line) != 0 ||
        strcmp(line, "END") != 0)
        return -1;
    return (int64_t)n;
}

/* ----------------------------------------------------------- redis ---- */

/* A minimal blocking RESP client on the same buffered connection. (hiredis
 * 0.14, Debian 12's, formats a command into one buffer and memmoves the
 * unsent rest after every partial write: quadratic in the value size, it
 * measured 18 MB/s for 1 MiB SETs where redis-benchmark did 1.6 GB/s. A
 * fair baseline needs the server's speed, not that client's.) */
typedef struct rcmd {
    char hdr[160], mid[64];
    struct iovec iov[5];
    int niov;
} rcmd_t;

/* SET key value (value NULL: GET key) as iovecs into c. */
static void resp_cmd(rcmd_t *c, const char *key, size_t kl, const void *v, size_t n)
{
    if (v) {
        int hl = snprintf(c->hdr, sizeof c->hdr, "*3\r\n$3\r\nSET\r\n$%zu\r\n", kl);
        int ml = snprintf(c->mid, sizeof c->mid, "\r\n$%zu\r\n", n);
        c->iov[0] = (struct iovec){c->hdr, (size_t)hl};
        c->iov[1] = (struct iovec){(void *)key, kl};
        c->iov[2] = (struct iovec){c->mid, (size_t)ml};
        c->iov[3] = (struct iovec){(void *)v, n};
        c->iov[4] = (struct iovec){"\r\n", 2};
        c->niov = 5;
    } else {
        int hl = snprintf(c->hdr, sizeof c->hdr, "*2\r\n$3\r\nGET\r\n$%zu\r\n", kl);
        c->iov[0] = (struct iovec){c->hdr, (size_t)hl};
        c->iov[1] = (struct iovec){(void *)key, kl};
        c->iov[2] = (struct iovec){"\r\n", 2};
        c->niov = 3;
    }
}

/* One reply: SET wants "+OK"; GET returns the bulk length read into dst
 * (<= cap), else -1. */
static int64_t resp_reply(mcc_t *m, bool is_set, void *dst, size_t cap)
{
    char line[128];
    if (mcc_line(m, line, sizeof line) != 0)
        return -1;
    if (is_set)
        return strcmp(line, "+OK") == 0 ? 0 : -1;
    if (line[0] != '$' || line[1] == '-')
        return -1;
    char *end;
    unsigned long long n = strtoull(line + 1, &end, 10);
    char crlf[2];
    if (*end || n > cap || mcc_read(m, dst, (size_t)n) != 0 || mcc_read(m, crlf, 2) != 0)
        return -1;
    return (int64_t)n;
}

/* ------------------------------------------------------- workload ---- */

typedef struct worker {
    pthread_t th;
    int id, sys, op;
    size_t vsize;
    uint8_t *buf;      /* value source / destination: batch * vsize (registered for mooncake) */
    size_t buf_len;
    mcc_t *rc; /* redis */
    mcc_t *mc; /* memcached */
    uint64_t nkeys;    /* keys this thread stored in the put phase of this size */
    uint64_t ops, errors, bytes;
    uint64_t *lat;
    size_t nlat;
    uint64_t t_end;
    uint64_t byte_cap;
    unsigned seed;
} worker_t;

static void key_of(char *out, size_t cap, const worker_t *w, uint64_t i)
{
    snprintf(out, cap, "bench-%s-%zu-t%d-k%llu", sys_name[w->sys], w->vsize, w->id, (unsigned long long)i);
}

static void fill_value(uint8_t *v, size_t n, uint64_t tag)
{
    memset(v, (int)(tag & 0xff), n);
    v[0] = (uint8_t)(tag * 7 + 1);
    v[n - 1] = (uint8_t)(tag * 13 + 5);
}

static bool value_ok(const uint8_t *v, size_t n, int64_t got, uint64_t tag)
{
    return got == (int64_t)n && v[0] == (uint8_t)(tag * 7 + 1) && v[n - 1] == (uint8_t)(tag * 13 + 5) &&
           (n < 3 || v[n / 2] == (uint8_t)(tag & 0xff));
}

static uint64_t tag_of(const worker_t *w, uint64_t i)
{
    return ((uint64_t)w->id << 40) ^ (i * 2654435761u) ^ w->vsize;
}

/* One single-key op; false on failure. */
static bool one_op(worker_t *w, uint64_t i)
{
    char key[128];
    key_of(key, sizeof key, w, i);
    size_t kl = strlen(key), n = w->vsize;
    uint64_t tag = tag_of(w, i);
    if (w->op == OP_PUT) {
        fill_value(w->buf, n, tag); /* not timed separately: every system pays it */
        switch (w->sys) {
        case SYS_MOONCAKE: {
            mooncake_replicate_config_t cfg;
            mooncake_replicate_config_init(&cfg);
            cfg.preferred_segment = g.owner_host;
            return mooncake_store_put_from(g.store, key, kl, w->buf, n, &cfg) == 0;
        }
        case SYS_REDIS: {
            rcmd_t c;
            resp_cmd(&c, key, kl, w->buf, n);
            return mcc_writev(w->rc->fd, c.iov, c.niov) == 0 && resp_reply(w->rc, true, NULL, 0) == 0;
        }
        default:
            return mcc_set(w->mc, key, w->buf, n) == 0;
        }
    }
    int64_t got = -1;
    w->buf[0] = w->buf[n - 1] = 0;
    switch (w->sys) {
    case SYS_MOONCAKE:
        got = mooncake_store_get_into(g.store, key, kl, w->buf, w->buf_len);
        break;
    case SYS_REDIS: { /* straight into the caller's buffer, like get_into */
        rcmd_t c;
        resp_cmd(&c, key, kl, NULL, 0);
        if (mcc_writev(w->rc->fd, c.iov, c.niov) == 0)
            got = resp_reply(w->rc, false, w->buf, w->buf_len);
        break;
    }
    default:
        got = mcc_get(w->mc, key, w->buf, w->buf_len);
    }
    return value_ok(w->buf, n, got, tag);
}

/* One batch of g.batch keys starting at key i; returns keys that failed. */
static uint64_t batch_op(worker_t *w, uint64_t i)
{
    int b = g.batch;
    size_t n = w->vsize;
    char keys[MAX_BATCH][128];
    const void *kp[MAX_BATCH] = {0};
    size_t kl[MAX_BATCH] = {0}, sz[MAX_BATCH] = {0};
    void *bp[MAX_BATCH] = {0};
    for (int k = 0; k < b; k++) {
        key_of(keys[k], sizeof keys[k], w, i + (uint64_t)k);
        kp[k] = keys[k];
        kl[k] = strlen(keys[k]);
        sz[k] = n;
        bp[k] = w->buf + (size_t)k * n;
        if (w->op == OP_BPUT)
            fill_value(bp[k], n, tag_of(w, i + (uint64_t)k));
        else
            memset(bp[k], 0, n);
    }
    uint64_t bad = 0;
    if (w->sys == SYS_MOONCAKE) {
        if (w->op == OP_BPUT) {
            int res[MAX_BATCH];
            mooncake_replicate_config_t cfg;
            mooncake_replicate_config_init(&cfg);
            cfg.preferred_segment = g.owner_host;
            mooncake_store_batch_put_from(g.store, (size_t)b, kp, kl, (const void *const *)bp, sz, &cfg, res);
            for (int k = 0; k < b; k++)
                bad += res[k] != 0;
        } else {
            int64_t res[MAX_BATCH];
            mooncake_store_batch_get_into(g.store, (size_t)b, kp, kl, bp, sz, res);
            for (int k = 0; k < b; k++)
                bad += !value_ok(bp[k], n, res[k], tag_of(w, i + (uint64_t)k));
        }
        return bad;
    }
    /* Redis: b commands pipelined (one writev), then b replies. */
    static __thread rcmd_t cmds[MAX_BATCH];
    static __thread struct iovec iov[5 * MAX_BATCH];
    int ni = 0;
    for (int k = 0; k < b; k++) {
        resp_cmd(&cmds[k], keys[k], kl[k], w->op == OP_BPUT ? bp[k] : NULL, n);
        for (int j = 0; j < cmds[k].niov; j++)
            iov[ni++] = cmds[k].iov[j];
    }
    if (mcc_writev(w->rc->fd, iov, ni) != 0)
        return (uint64_t)b;
    for (int k = 0; k < b; k++) {
        int64_t got = resp_reply(w->rc, w->op == OP_BPUT, bp[k], n);
        if (w->op == OP_BPUT)
            bad += got != 0;
        else
            bad += !value_ok(bp[k], n, got, tag_of(w, i + (uint64_t)k));
    }
    return bad;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    bool batched = w->op == OP_BPUT || w->op == OP_BGET;
    uint64_t per = batched ? (uint64_t)g.batch : 1;
    uint64_t i = 0;
    while (now_ns() < w->t_end) {
        uint64_t k;
        if (w->op == OP_PUT || w->op == OP_BPUT) {
            if (w->bytes + per * w->vsize > w->byte_cap)
                break; /* keep the servers' memory bounded */
            k = i;
        } else {
            if (w->nkeys < per)
                break;
            k = batched ? ((uint64_t)rand_r(&w->seed) % (w->nkeys / per)) * per
                        : (uint64_t)rand_r(&w->seed) % w->nkeys;
        }
        uint64_t t0 = now_ns();
        uint64_t bad = batched ? batch_op(w, k) : !one_op(w, k);
        uint64_t t1 = now_ns();
        if (w->nlat < LAT_CAP)
            w->lat[w->nlat++] = t1 - t0;
        w->ops += per;
        w->errors += bad;
        w->bytes += (per - bad) * w->vsize;
        i += per;
    }
    if (w->op == OP_PUT || w->op == OP_BPUT)
        w->nkeys = i;
    return NULL;
}

typedef struct result {
    double mbps, kops, p50_us, p99_us;
    uint64_t errors;
} result_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static result_t run_phase(worker_t *ws, int sys, int op)
{
    uint64_t t0 = now_ns();
    for (int t = 0; t < g.threads; t++) {
        worker_t *w = &ws[t];
        w->sys = sys;
        w->op = op;
        w->ops = w->errors = w->bytes = 0;
        w->nlat = 0;
        w->t_end = t0 + (uint64_t)(g.secs * 1e9);
        w->byte_cap = PHASE_BYTES_CAP / (uint64_t)g.threads;
        pthread_create(&w->th, NULL, worker_main, w);
    }
    uint64_t ops = 0, bytes = 0, err = 0;
    size_t nlat = 0;
    for (int t = 0; t < g.threads; t++) {
        pthread_join(ws[t].th, NULL);
        ops += ws[t].ops;
        bytes += ws[t].bytes;
        err += ws[t].errors;
        nlat += ws[t].nlat;
    }
    double el = (double)(now_ns() - t0) / 1e9;
    uint64_t *all = malloc((nlat ? nlat : 1) * sizeof *all);
    size_t k = 0;
    for (int t = 0; t < g.threads; t++) {
        memcpy(all + k, ws[t].lat, ws[t].nlat * sizeof *all);
        k += ws[t].nlat;
    }
    qsort(all, nlat, sizeof *all, cmp_u64);
    result_t r = {
        .mbps = (double)bytes / el / 1e6,
        .kops = (double)(ops - err) / el / 1e3,
        .p50_us = nlat ? (double)all[nlat / 2] / 1e3 : 0,
        .p99_us = nlat ? (double)all[(nlat * 99) / 100] / 1e3 : 0,
        .errors = err,
    };
    free(all);
    return r;
}

static void clear_sys(int sys, worker_t *w0)
{
    if (sys == SYS_MOONCAKE) {
        mooncake_store_remove_all(g.store, true);
    } else if (sys == SYS_REDIS) {
        struct iovec iov = {"FLUSHALL\r\n", 10};
        char line[64];
        if (mcc_writev(w0->rc->fd, &iov, 1) == 0)
            (void)mcc_line(w0->rc, line, sizeof line);
    } else {
        char line[64];
        struct iovec iov = {"flush_all\r\n", 11};
        if (mcc_writev(w0->mc->fd, &iov, 1) == 0)
            (void)mcc_line(w0->mc, line, sizeof line);
    }
}

static result_t res[SYS_N][4][4]; /* [sys][size index][op] */
static bool have[SYS_N];

static void print_row(const char *what, int sys, result_t r)
{
    printf("%-18s %-10s %10.1f %10.2f %10.1f %10.1f %8llu\n", what, sys_name[sys], r.mbps, r.kops, r.p50_us,
           r.p99_us, (unsigned long long)r.errors);
    fflush(stdout);
}

static int owner_main(const char *master, uint64_t seg_mib)
{
    mooncake_store_t *s = NULL;
    int rc = mooncake_store_setup(&s, "127.0.0.1", "P2PHANDSHAKE", seg_mib << 20, 16u << 20, "tcp", "", master);
    if (rc != 0) {
        fprintf(stderr, "owner: setup failed: %d (%s)\n", rc, mooncake_strerror(rc));
        return 1;
    }
    printf("owner %s\n", mooncake_store_hostname(s));
    fflush(stdout);
    char b[64];
    while (fread(b, 1, sizeof b, stdin) > 0) {
    }
    mooncake_store_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    g.threads = 2;
    g.secs = 2;
    g.batch = 32;
    bool smoke = false, batch_only = false;
    if (argc == 4 && strcmp(argv[1], "--owner") == 0)
        return owner_main(argv[2], (uint64_t)atoll(argv[3]));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--smoke") == 0) {
            smoke = true;
            continue;
        }
        if (strcmp(a, "--batch-only") == 0) { /* only the batched rows (for profiling) */
            batch_only = true;
            continue;
        }
        if (strcmp(a, "--warm") == 0) {
            g.warm = true;
            continue;
        }
        if (!v)
            goto usage;
        i++;
        if (strcmp(a, "--master") == 0)
            g.master = v;
        else if (strcmp(a, "--owner-host") == 0)
            g.owner_host = v;
        else if (strcmp(a, "--redis-port") == 0)
            g.redis_port = atoi(v);
        else if (strcmp(a, "--memcached-port") == 0)
            g.mc_port = atoi(v);
        else if (strcmp(a, "--threads") == 0)
            g.threads = atoi(v);
        else if (strcmp(a, "--secs") == 0)
            g.secs = atof(v);
        else if (strcmp(a, "--batch") == 0)
            g.batch = atoi(v);
        else
            goto usage;
    }
    if (!g.master || !g.owner_host || g.threads < 1 || g.threads > MAX_THREADS || g.batch < 1 ||
        g.batch > MAX_BATCH || g.secs <= 0)
        goto usage;

    int rc = mooncake_store_setup(&g.store, "127.0.0.1", "P2PHANDSHAKE", 0, 64u << 20, "tcp", "", g.master);
    if (rc != 0) {
        fprintf(stderr, "client setup failed: %d (%s)\n", rc, mooncake_strerror(rc));
        return 1;
    }
    static const size_t sizes_full[] = {4u << 10, 1u << 20, 16u << 20};
    static const size_t sizes_smoke[] = {4u << 10, 1u << 20};
    const size_t *sizes = smoke ? sizes_smoke : sizes_full;
    size_t nsizes = smoke ? 2 : 3;
    size_t maxbuf = 16u << 20;
    if ((size_t)g.batch * (4u << 10) > maxbuf)
        maxbuf = (size_t)g.batch * (4u << 10);

    worker_t ws[MAX_THREADS];
    memset(ws, 0, sizeof ws);
    for (int t = 0; t < g.threads; t++) {
        worker_t *w = &ws[t];
        w->id = t;
        w->seed = 12345u + (unsigned)t;
        w->buf_len = maxbuf;
        w->buf = aligned_alloc(4096, maxbuf);
        w->lat = malloc(LAT_CAP * sizeof *w->lat);
        if (!w->buf || !w->lat || mooncake_store_register_buffer(g.store, w->buf, maxbuf) != 0) {
            fprintf(stderr, "buffer setup failed\n");
            return 1;
        }
        memset(w->buf, 0, maxbuf);
        if (g.redis_port) {
            w->rc = malloc(sizeof *w->rc);
            if (!w->rc || mcc_connect(w->rc, g.redis_port) != 0) {
                fprintf(stderr, "redis connect failed\n");
                return 1;
            }
        }
        if (g.mc_port) {
            w->mc = malloc(sizeof *w->mc);
            if (!w->mc || mcc_connect(w->mc, g.mc_port) != 0) {
                fprintf(stderr, "memcached connect failed\n");
                return 1;
            }
        }
    }
    have[SYS_MOONCAKE] = true;
    have[SYS_REDIS] = g.redis_port != 0;
    have[SYS_MEMCACHED] = g.mc_port != 0;

    printf("store vs redis/memcached: %d client threads, %.1f s per row, loopback; MB/s = 1e6 B/s\n", g.threads,
           g.secs);
    printf("mooncake: master + segment owner + this client in 3 processes (put_from / get_into)%s\n",
           g.warm ? "; warm (an unmeasured put pass before each put row)" : "; cold (first touch of server memory counted)");
    printf("%-18s %-10s %10s %10s %10s %10s %8s\n", "size / op", "system", "MB/s", "kops/s", "p50 us", "p99 us",
           "errors");
    for (size_t si = 0; si < nsizes && !batch_only; si++) {
        for (int sys = 0; sys < SYS_N; sys++) {
            if (!have[sys])
                continue;
            for (int t = 0; t < g.threads; t++)
                ws[t].vsize = sizes[si];
            if (g.warm) { /* an unmeasured put pass first: servers' memory touched once */
                (void)run_phase(ws, sys, OP_PUT);
                clear_sys(sys, &ws[0]);
            }
            for (int op = OP_PUT; op <= OP_GET; op++) {
                res[sys][si][op] = run_phase(ws, sys, op);
                char what[32];
                snprintf(what, sizeof what, "%zu KiB %s", sizes[si] >> 10, op_name[op]);
                print_row(what, sys, res[sys][si][op]);
            }
            clear_sys(sys, &ws[0]);
        }
    }
    /* Batched 4 KiB: Mooncake batch calls vs Redis pipelining. */
    for (int sys = 0; sys <= SYS_REDIS; sys++) {
        if (!have[sys])
            continue;
        for (int t = 0; t < g.threads; t++)
            ws[t].vsize = 4u << 10;
        for (int op = OP_BPUT; op <= OP_BGET; op++) {
            res[sys][3][op] = run_phase(ws, sys, op);
            char what[32];
            snprintf(what, sizeof what, "4 KiB %s x%d", op_name[op], g.batch);
            print_row(what, sys, res[sys][3][op]);
        }
        clear_sys(sys, &ws[0]);
    }
    if (have[SYS_REDIS] && !batch_only) {
        /* sizes index 1 is 1 MiB in both the full and smoke size lists */
        double gr = res[SYS_REDIS][1][OP_GET].mbps, pr = res[SYS_REDIS][1][OP_PUT].mbps;
        double bg = res[SYS_REDIS][3][OP_BGET].kops, bp = res[SYS_REDIS][3][OP_BPUT].kops;
        printf("\ngoals (issue 5), mooncake / redis:\n");
        printf("  get 1 MiB            %6.2fx  (goal >= 2.0x)  %s\n", res[0][1][OP_GET].mbps / gr,
               res[0][1][OP_GET].mbps >= 2.0 * gr ? "met" : "MISSED");
        printf("  put 1 MiB            %6.2fx  (goal >= 1.5x)  %s\n", res[0][1][OP_PUT].mbps / pr,
               res[0][1][OP_PUT].mbps >= 1.5 * pr ? "met" : "MISSED");
        printf("  4 KiB batch put rate %6.2fx  (goal >= 1.0x)  %s\n", res[0][3][OP_BPUT].kops / bp,
               res[0][3][OP_BPUT].kops >= bp ? "met" : "MISSED");
        printf("  4 KiB batch get rate %6.2fx  (goal >= 1.0x)  %s\n", res[0][3][OP_BGET].kops / bg,
               res[0][3][OP_BGET].kops >= bg ? "met" : "MISSED");
        if (have[SYS_MEMCACHED])
            printf("  (vs memcached: get 1 MiB %.2fx, put 1 MiB %.2fx)\n",
                   res[0][1][OP_GET].mbps / res[SYS_MEMCACHED][1][OP_GET].mbps,
                   res[0][1][OP_PUT].mbps / res[SYS_MEMCACHED][1][OP_PUT].mbps);
    }
    uint64_t errs = 0;
    for (int s = 0; s < SYS_N; s++)
        for (int i = 0; i < 4; i++)
            for (int o = 0; o < 4; o++)
                errs += res[s][i][o].errors;
    for (int t = 0; t < g.threads; t++) {
        mooncake_store_unregister_buffer(g.store, ws[t].buf);
        free(ws[t].buf);
        free(ws[t].lat);
        if (ws[t].rc) {
            close(ws[t].rc->fd);
            free(ws[t].rc);
        }
        if (ws[t].mc) {
            close(ws[t].mc->fd);
            free(ws[t].mc);
        }
    }
    mooncake_store_close(g.store);
    return errs ? 2 : 0;
usage:
    fprintf(stderr,
            "usage: %s --owner MASTER SEGMENT_MIB\n"
            "       %s --master A --owner-host H [--redis-port P] [--memcached-port Q] [--threads T] [--secs S]\n"
            "          [--batch B] [--warm] [--smoke] [--batch-only]\n",
            argv[0], argv[0]);
    return 64;
}
