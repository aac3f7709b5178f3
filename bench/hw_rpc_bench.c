/* hw control-message benchmark: frames through two hw envs (each on its
 * own loop thread) over loopback TCP, against a baseline measured in the
 * same run: the same frames over plain blocking sockets. Reports the
 * ratio env/baseline (latency) and env/baseline (throughput).
 *
 *   bench_hw_rpc [--rounds N]    default 20000 ping-pongs per size */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/mc_mem.h"
#include "mc_hw_env.h"
#include "mc_loop.h"
#include "wire/mc_msg_types.h"
#include "wire/mc_wire.h"

typedef struct bnode {
    mc_env_t *env;
    mc_loop_t *loop;
    bool server;
    mc_conn_t conn;
    uint64_t left; /* client: round trips (or frames) still to go */
    bool stream;   /* client: send without waiting for replies */
    mc_wbuf_t frame;
} bnode_t;

static void b_send(bnode_t *n)
{
    if (n->env->ops->conn_send(n->env, n->conn, n->frame.data, n->frame.len) != MC_OK) {
        fprintf(stderr, "bench_hw_rpc: send failed\n");
        exit(1);
    }
}

static void b_up(void *node, mc_conn_t conn)
{
    bnode_t *n = node;
    n->conn = conn;
    b_send(n);
}

static void b_accept(void *node, mc_conn_t conn, const char *peer)
{
    (void)node;
    (void)conn;
    (void)peer;
}

static void b_down(void *node, mc_conn_t conn, mc_status_t why)
{
    (void)node;
    (void)conn;
    (void)why;
}

static void b_msg(void *node, mc_conn_t conn, const uint8_t *frame, size_t len)
{
    bnode_t *n = node;
    if (n->server) {
        /* Stream mode: acknowledge only the last frame (flag bit set). */
        mc_wire_hdr_t h;
        mc_wire_parse_hdr(frame, len, &h, NULL);
        if (h.req_id != 1)
            n->env->ops->conn_send(n->env, conn, frame, len);
        return;
    }
    if (--n->left == 0 || n->stream) {
        mc_loop_stop(n->loop);
        return;
    }
    b_send(n);
}

static void b_xfer(void *node, uint64_t tag, mc_status_t s)
{
    (void)node;
    (void)tag;
    (void)s;
}

static const mc_env_handlers_t b_handlers = {b_up, b_accept, b_down, b_msg, b_xfer};

static void *server_thread(void *arg)
{
    mc_loop_run(arg);
    return NULL;
}

static double now_s(void)
{
    return (double)mc_loop_clock_ns() / 1e9;
}

/* Latency: rounds ping-pongs of body bytes. Stream: rounds frames one way
 * then one acknowledgement. Returns seconds. */
static double env_run(uint16_t port, size_t body, uint64_t rounds, bool stream)
{
    mc_loop_t *l = mc_loop_create();
    FILE *null = fopen("/dev/null", "w");
    mc_env_t *e = mc_hw_env_create(l, &(mc_hw_env_opts_t){.node_name = "client", .log_level = MC_LOG_ERROR,
                                                          .trace_out = null});
    bnode_t n = {.env = e, .loop = l, .left = rounds, .stream = stream};
    mc_env_bind(e, &b_handlers, &n);
    mc_wbuf_init(&n.frame);
    mc_wire_begin(&n.frame, MC_MSG_PING, 0, stream ? 1 : 0);
    memset(mc_wbuf_extend(&n.frame, body), 0x5a, body);
    mc_wire_finish(&n.frame);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    double t0 = now_s();
    e->ops->conn_open(e, addr, &n.conn);
    if (stream) {
        /* Queue everything as fast as back-pressure allows, then ask for
         * one reply with a frame the server answers. */
        mc_loop_run_once(l, 1000000000ULL); /* connected */
        for (uint64_t i = 0; i < rounds; i++)
            while (e->ops->conn_send(e, n.conn, n.frame.data, n.frame.len) == MC_AGAIN)
                mc_loop_run_once(l, 1000000);
        mc_wbuf_patch_u32(&n.frame, 8, 0); /* req_id 0: the server echoes it */
        while (e->ops->conn_send(e, n.conn, n.frame.data, n.frame.len) == MC_AGAIN)
            mc_loop_run_once(l, 1000000);
    }
    mc_loop_run(l);
    double dt = now_s() - t0;
    mc_wbuf_free(&n.frame);
    mc_hw_env_destroy(e);
    mc_loop_destroy(l);
    fclose(null);
    return dt;
}

/* ------------------------------------------------------------ baseline --- */

typedef struct raw_srv {
    int ls;
    size_t frame;
    uint64_t rounds;
    bool stream;
} raw_srv_t;

static int read_full(int fd, void *p, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
    for (size_t put = 0; put < n;) {
        ssize_t w = write(fd, (const char *)p + put, n - put);
        if (w <= 0)
            return -1;
        put += (size_t)w;
    }
    return 0;
}

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void *raw_server(void *arg)
{
    raw_srv_t *s = arg;
    int fd = accept(s->ls, NULL, NULL);
    nodelay(fd);
    char *buf = mc_malloc(s->frame);
    for (uint64_t i = 0; i < s->rounds; i++) {
        if (read_full(fd, buf, s->frame) < 0)
            break;
        if (!s->stream || i + 1 == s->rounds)
            write_full(fd, buf, s->frame);
    }
    mc_free(buf);
    close(fd);
    return NULL;
}

static double raw_run(size_t body, uint64_t rounds, bool stream)
{
    size_t frame = MC_WIRE_HDR_LEN + body;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    bind(ls, (struct sockaddr *)&sa, sizeof sa);
    listen(ls, 1);
    getsockname(ls, (struct sockaddr *)&sa, &sl);
    raw_srv_t s = {ls, frame, stream ? rounds + 1 : rounds, stream};
    pthread_t th;
    pthread_create(&th, NULL, raw_server, &s);
    char *buf = mc_calloc(1, frame);
    double t0 = now_s();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    nodelay(fd);
    connect(fd, (struct sockaddr *)&sa, sizeof sa);
    for (uint64_t i = 0; i < s.rounds; i++) {
        write_full(fd, buf, frame);
        if (!stream)
            read_full(fd, buf, frame);
    }
    if (stream)
        read_full(fd, buf, frame);
    double dt = now_s() - t0;
    close(fd);
    pthread_join(th, NULL);
    close(ls);
    mc_free(buf);
    return dt;
}

int main(int argc, char **argv)
{
    uint64_t rounds = 20000;
    if (argc == 3 && strcmp(argv[1], "--rounds") == 0)
        rounds = strtoull(argv[2], NULL, 10);
    else if (argc != 1) {
        fprintf(stderr, "usage: bench_hw_rpc [--rounds N]\n");
        return 64;
    }
    /* The server env runs on its own loop thread for the whole run. */
    mc_loop_t *sl = mc_loop_create();
    FILE *null = fopen("/dev/null", "w");
    mc_env_t *se = mc_hw_env_create(sl, &(mc_hw_env_opts_t){.node_name = "server", .log_level = MC_LOG_ERROR,
                                                           .trace_out = null});
    bnode_t srv = {.env = se, .loop = sl, .server = true};
    mc_env_bind(se, &b_handlers, &srv);
    uint16_t port = 0;
    if (mc_hw_env_listen(se, "127.0.0.1:0", &port) != MC_OK)
        return 1;
    pthread_t th;
    pthread_create(&th, NULL, server_thread, sl);

    printf("bench_hw_rpc: %llu rounds; ratio = hw env / plain blocking sockets (same run)\n",
           (unsigned long long)rounds);
    size_t sizes[] = {64, 4096, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        double e = env_run(port, sizes[i], rounds, false);
        double r = raw_run(sizes[i], rounds, false);
        printf("  ping-pong %6zu B: env %7.2f us/rt  baseline %7.2f us/rt  latency ratio %.2f\n", sizes[i],
               e / (double)rounds * 1e6, r / (double)rounds * 1e6, e / r);
    }
    uint64_t n = rounds / 10 ? rounds / 10 : 1;
    size_t big = 1u << 20;
    double e = env_run(port, big, n, true);
    double r = raw_run(big, n, true);
    double mb = (double)n * (double)big / 1e6;
    printf("  stream    %6zu B: env %7.0f MB/s   baseline %7.0f MB/s   throughput ratio %.2f\n", big, mb / e,
           mb / r, r / e);

    mc_loop_stop(sl);
    pthread_join(th, NULL);
    mc_hw_env_destroy(se);
    mc_loop_destroy(sl);
    fclose(null);
    return 0;
}
