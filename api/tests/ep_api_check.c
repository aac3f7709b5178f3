/* EP facade check: a coordinator process (mooncake_ep_coord_start), 4 forked ranks on
 * loopback. Every rank: all_reduce (f32 sum), all_gather (i64), broadcast,
 * barrier, dispatch + combine. Then rank 3 is SIGKILLed mid-run; the
 * survivors' next all_reduce covers exactly {0,1,2} and rank 3 shows as
 * inactive; a replacement rank 3 joins, rank 0 recovers it, and a last
 * all_reduce covers all four. Exit 0 when every check held. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mooncake/ep.h"

#define W 4
#define N 1000
#define TMO 1000000 /* 1 s */

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "rank %u: check failed at line %d: %s (%s)\n", rank, __LINE__, #c,                        \
                    mooncake_ep_last_error());                                                                         \
            _exit(1);                                                                                                  \
        }                                                                                                              \
    } while (0)

static int up_fd;         /* child -> parent: one byte per milestone */
static int coord_stop[2]; /* parent -> coordinator process: EOF = stop */

static void sync_pipe_wait(int fd)
{
    char b;
    if (read(fd, &b, 1) != 1)
        _exit(3);
}

static void tell_parent(void)
{
    if (write(up_fd, "x", 1) != 1)
        _exit(3);
}

static void wait_children(int fd, int n)
{
    for (int i = 0; i < n; i++)
        sync_pipe_wait(fd);
}

static float expect_sum(uint64_t set, int i)
{
    float s = 0;
    for (unsigned r = 0; r < W; r++)
        if (set >> r & 1)
            s += (float)(r + 1) * (float)(i % 7);
    return s;
}

static void all_reduce_check(mooncake_ep_t *h, unsigned rank, uint64_t want_set)
{
    float in[N], out[N];
    for (int i = 0; i < N; i++)
        in[i] = (float)(rank + 1) * (float)(i % 7);
    uint64_t set = 0;
    CHECK(mooncake_ep_all_reduce(h, in, out, N, MOONCAKE_EP_FLOAT32, MOONCAKE_EP_SUM, TMO, &set) == 0);
    CHECK(set == want_set);
    for (int i = 0; i < N; i++)
        CHECK(out[i] == expect_sum(set, i));
}

/* phase 1 on every rank; the survivors go on (phase 2, 3) */
static int run_rank(unsigned rank, const char *coord, int go_fd, bool replacement)
{
    mooncake_ep_t *h = mooncake_ep_create(rank, W, coord, "127.0.0.1", 64 << 10);
    CHECK(h);
    if (replacement) {
        mooncake_ep_set_next_op_id(h, 8); /* the survivors' next op */
        CHECK(mooncake_ep_wait_active(h, 30000) == 0);
        all_reduce_check(h, rank, 0xf);
        mooncake_ep_destroy(h);
        return 0;
    }
    CHECK(mooncake_ep_wait_active(h, 20000) == 0);
    CHECK(mooncake_ep_active_ranks(h) == 0xf && mooncake_ep_num_synced_ranks(h) == W);
    all_reduce_check(h, rank, 0xf); /* op 1 */
    int64_t g_in[8], g_out[8 * W];
    for (int i = 0; i < 8; i++)
        g_in[i] = (int64_t)rank * 100 + i;
    uint64_t set;
    CHECK(mooncake_ep_all_gather(h, g_in, g_out, 8, MOONCAKE_EP_INT64, TMO, &set) == 0 && set == 0xf); /* op 2 */
    for (unsigned r = 0; r < W; r++)
        for (int i = 0; i < 8; i++)
            CHECK(g_out[r * 8 + i] == (int64_t)r * 100 + i);
    double b[4] = {rank == 2 ? 1.5 : 0, rank == 2 ? 2.5 : 0, 3, 4};
    CHECK(mooncake_ep_broadcast(h, b, 4, MOONCAKE_EP_FLOAT64, 2, TMO, &set) == 0); /* op 3 */
    CHECK(b[0] == 1.5 && b[1] == 2.5);
    CHECK(mooncake_ep_barrier(h, TMO, &set) == 0 && set == 0xf); /* op 4 */
    /* MoE: 8 experts (2 per rank), 4 tokens, top-2: token t -> experts t, t+4 */
    mooncake_ep_moe_t m = {.max_tokens = 4, .hidden = 8, .experts = 8, .topk = 2};
    float x[4 * 8], w[4 * 2], out[4 * 8];
    int64_t idx[4 * 2];
    for (int t = 0; t < 4; t++) {
        for (int k = 0; k < 8; k++)
            x[t * 8 + k] = (float)(rank * 10 + t) + 0.25f * (float)k;
        idx[t * 2] = t;
        idx[t * 2 + 1] = t + 4;
        w[t * 2] = 0.5f;
        w[t * 2 + 1] = 0.25f;
    }
    size_t el, rows;
    mooncake_ep_dispatch_sizes(h, &m, &el, &rows);
    CHECK(el == 2 && rows == (size_t)W * 4 * 2);
    float *rx = calloc(el * rows * 8, sizeof(float));
    int32_t rc_[2], si[2 * 32];
    int64_t lr[2 * W];
    uint64_t hd = 0;
    CHECK(mooncake_ep_dispatch(h, &m, x, idx, w, 4, 0, TMO, rx, rc_, si, lr, &hd, &set) == 0 && hd == 5); /* op 5 */
    /* local expert 0 = global 2*rank: token 2*rank of every source (t < 4) */
    /* every global expert gets exactly one token from every source */
    for (int e = 0; e < 2; e++)
        CHECK(rc_[e] == W);
    CHECK(mooncake_ep_combine(h, &m, hd, 0, TMO, out, &set) == 0 && set == 0xf); /* op 6 */
    for (int t = 0; t < 4; t++)
        for (int k = 0; k < 8; k++) {
            float xv = x[t * 8 + k];
            float want = 0.5f * xv * (0.1f * (float)t + 1) + 0.25f * xv * (0.1f * (float)(t + 4) + 1);
            float d = out[t * 8 + k] - want;
            CHECK(d < 1e-4f && d > -1e-4f);
        }
    free(rx);
    CHECK(mooncake_ep_buffer_size_hint(128, 7168, 4, 256) == 16ull * 256 + 4ull * 256 * 128 * (32 + 2 * 7168));
    /* rank 3 is killed while the others run op 7 */
    tell_parent();
    if (rank != 3)
        all_reduce_check(h, rank, 0x7); /* op 7 */
    else
        pause();
    /* a late rank is not evicted; the dead one goes after its heartbeats stop */
    for (int i = 0; i < 3000 && mooncake_ep_active_ranks(h) != 0x7; i++)
        usleep(10000);
    CHECK(mooncake_ep_active_ranks(h) == 0x7 && mooncake_ep_peer_state(h, 3) == 0);
    tell_parent();
    sync_pipe_wait(go_fd); /* every survivor saw 0x7; replacement started */
    if (rank == 0)
        CHECK(mooncake_ep_propose(h, 1u << 3, 1) == MOONCAKE_EP_APPLIED);
    for (int i = 0; i < 3000 && mooncake_ep_active_ranks(h) != 0xf; i++)
        usleep(10000);
    all_reduce_check(h, rank, 0xf); /* op 8 */
    mooncake_ep_destroy(h);
    return 0;
}

/* The coordinator in its own process, so that this one stays
 * single-threaded across its forks (a lock held by a thread at fork time
 * would stay locked in the child). Runs until stop_fd reaches EOF. */
static pid_t start_coordinator(char *addr, size_t cap)
{
    unsigned rank = 99;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ready[2];
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
          getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    close(fd);
    snprintf(addr, cap, "127.0.0.1:%u", ntohs(sa.sin_port));
    CHECK(pipe(ready) == 0 && pipe(coord_stop) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(coord_stop[1]);
        mooncake_ep_coord_t *c = mooncake_ep_coord_start(addr, W, 1000, NULL, 0);
        CHECK(c);
        CHECK(write(ready[1], "x", 1) == 1);
        char b;
        while (read(coord_stop[0], &b, 1) > 0) {
        }
        mooncake_ep_coord_stop(c);
        _exit(0);
    }
    close(ready[1]);
    close(coord_stop[0]);
    sync_pipe_wait(ready[0]);
    close(ready[0]);
    return pid;
}

int main(void)
{
    unsigned rank = 99;
    char coord[300];
    pid_t cpid = start_coordinator(coord, sizeof coord);
    int go[2], up[2];
    CHECK(pipe(go) == 0 && pipe(up) == 0);
    up_fd = up[1];
    pid_t pids[W + 1];
    for (unsigned r = 0; r < W; r++) {
        pids[r] = fork();
        if (pids[r] == 0) {
            close(go[1]);
            _exit(run_rank(r, coord, go[0], false));
        }
    }
    close(up[1]); /* EOF (exit 3) if every child died */
    /* every rank past op 6: kill rank 3 (paused) */
    wait_children(up[0], W);
    kill(pids[3], SIGKILL);
    waitpid(pids[3], NULL, 0);
    wait_children(up[0], W - 1); /* survivors did op 7 and see rank 3 inactive */
    pids[W] = fork();
    if (pids[W] == 0) {
        close(go[1]);
        _exit(run_rank(3, coord, go[0], true));
    }
    CHECK(write(go[1], "xxxx", 4) == 4);
    int bad = 0;
    for (unsigned r = 0; r <= W; r++) {
        if (r == 3)
            continue;
        int st;
        waitpid(pids[r], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "process %u failed (status %d)\n", r, st);
            bad = 1;
        }
    }
    close(coord_stop[1]);
    int cst;
    waitpid(cpid, &cst, 0);
    if (!WIFEXITED(cst) || WEXITSTATUS(cst) != 0) {
        fprintf(stderr, "coordinator failed (status %d)\n", cst);
        bad = 1;
    }
    printf("%s\n", bad ? "FAIL" : "ok: ep api");
    return bad;
}
