/* The hw runner's event loop: boots nodes, applies faults with real
 * signals (in namespace mode also nftables cuts and links set down),
 * feeds workload commands to node stdin, collects @trace lines and
 * forwards logs, notices unexpected deaths, stops everything at the end.
 * See mc_hwrun.h. */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/mc_list.h"
#include "base/mc_mem.h"
#include "base/mc_rng.h"
#include "mc_hwrun.h"
#include "mc_linebuf.h"
#include "mc_loop.h"
#include "mc_netns.h"
#include "mc_node_run.h"

#define MC_HWRUN_LINE_MAX (64u << 10)
#define MC_HWRUN_STOP_GRACE_NS (15ULL * 1000000000ULL) /* ASan's exit-time leak check is slow */

typedef struct mc_hwrun_proc mc_hwrun_proc_t;
typedef struct mc_hwrun mc_hwrun_t;

typedef struct mc_hwrun_pipe {
    mc_hwrun_proc_t *proc;
    int fd;
    bool is_err;
    mc_loop_io_t *io;
    mc_linebuf_t lines;
} mc_hwrun_pipe_t;

typedef struct mc_hwrun_node {
    mc_hwrun_t *run;
    size_t idx;
    const mc_scn_node_t *scn;
    const char *addr;
    mc_hwrun_proc_t *cur; /* the running incarnation, or NULL */
    bool paused;
    unsigned boots;
} mc_hwrun_node_t;

struct mc_hwrun_proc {
    mc_list_t link;
    mc_hwrun_node_t *node;
    pid_t pid;
    int in_fd;
    mc_hwrun_pipe_t out, err;
    bool exited;
    bool expect_exit; /* killed by an injected fault */
    bool reboot_on_exit; /* restart fault: boot the next incarnation once this one is gone */
};

typedef struct mc_hwrun_cmd {
    mc_hwrun_t *run;
    const mc_scn_cmd_t *cmd;
    uint32_t sent;
} mc_hwrun_cmd_t;

typedef struct mc_hwrun_fault {
    mc_hwrun_t *run;
    const mc_scn_fault_t *f;
} mc_hwrun_fault_t;

typedef enum { MC_HWRUN_RUNNING, MC_HWRUN_STOPPING } mc_hwrun_phase_t;

struct mc_hwrun {
    const mc_hwrun_cfg_t *cfg;
    mc_hwrun_result_t *res;
    mc_loop_t *loop;
    uint64_t epoch;
    mc_hwrun_node_t *nodes;
    mc_hwrun_cmd_t *cmds;
    mc_hwrun_fault_t *faults;
    mc_list_t procs;
    int sfd;
    mc_hwrun_phase_t phase;
    uint64_t kill_timer;
};

static uint64_t mc_hwrun_now(const mc_hwrun_t *r)
{
    uint64_t now = mc_loop_clock_ns();
    return now > r->epoch ? now - r->epoch : 0;
}

static const char *mc_hwrun_t_str(uint64_t ns, char *buf, size_t n)
{
    return mc_duration_fmt(ns, buf, n);
}

/* A runner event in the merged trace, like the simulator's sim.* lines:
 * hw.node_start, hw.node_crash (history checkers read "*.node_crash"),
 * hw.fault, hw.fault_skipped, hw.cmd, hw.cmd_skipped. node "-" = the run. */
static void mc_hwrun_event(mc_hwrun_t *r, const char *node, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void mc_hwrun_event(mc_hwrun_t *r, const char *node, const char *event, const char *fmt, ...)
{
    char fields[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof fields, fmt, ap);
    va_end(ap);
    uint64_t t = mc_hwrun_now(r);
    mc_trace_log_add(&r->res->log, t, node, event, fields);
    if (r->cfg->trace_out) {
        char line[1024];
        mc_trace_fmt_line(line, sizeof line, t, node, event, fields);
        fprintf(r->cfg->trace_out, "%s\n", line);
    }
}

/* --------------------------------------------------------- processes --- */

static void mc_hwrun_maybe_finish(mc_hwrun_t *r)
{
    if (r->phase == MC_HWRUN_STOPPING && mc_list_empty(&r->procs))
        mc_loop_stop(r->loop);
}

static void mc_hwrun_proc_reap_if_done(mc_hwrun_proc_t *p)
{
    if (!p->exited || p->out.fd >= 0 || p->err.fd >= 0)
        return;
    mc_hwrun_t *r = p->node->run;
    if (p->node->cur == p)
        p->node->cur = NULL;
    mc_list_del(&p->link);
    if (p->in_fd >= 0)
        close(p->in_fd);
    mc_linebuf_free(&p->out.lines);
    mc_linebuf_free(&p->err.lines);
    mc_free(p);
    mc_hwrun_maybe_finish(r);
}

static void mc_hwrun_line(void *arg, char *line)
{
    mc_hwrun_pipe_t *pp = arg;
    mc_hwrun_t *r = pp->proc->node->run;
    const char *name = pp->proc->node->scn->name;
    if (pp->is_err) {
        if (!r->cfg->quiet)
            fprintf(stderr, "[%s] %s\n", name, line);
        return;
    }
    if (mc_trace_parse_line(line, &r->res->log)) {
        if (r->cfg->trace_out)
            fprintf(r->cfg->trace_out, "%s\n", line);
        return;
    }
    printf("[%s] %s\n", name, line);
}

static void mc_hwrun_pipe_close(mc_hwrun_pipe_t *pp)
{
    mc_hwrun_t *r = pp->proc->node->run;
    mc_linebuf_flush(&pp->lines, mc_hwrun_line, pp);
    mc_loop_io_del(r->loop, pp->io);
    pp->io = NULL;
    close(pp->fd);
    pp->fd = -1;
    mc_hwrun_proc_reap_if_done(pp->proc);
}

static void mc_hwrun_pipe_ready(void *arg, uint32_t events)
{
    (void)events;
    mc_hwrun_pipe_t *pp = arg;
    size_t room;
    char *dst = mc_linebuf_space(&pp->lines, &room);
    ssize_t n = read(pp->fd, dst, room);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        mc_hwrun_pipe_close(pp); /* may free pp */
        return;
    }
    mc_linebuf_commit(&pp->lines, (size_t)n, mc_hwrun_line, pp);
}

static void mc_hwrun_pipe_init(mc_hwrun_proc_t *p, mc_hwrun_pipe_t *pp, int fd, bool is_err)
{
    pp->proc = p;
    pp->fd = fd;
    pp->is_err = is_err;
    mc_linebuf_init(&pp->lines, MC_HWRUN_LINE_MAX);
}

static bool mc_hwrun_pipe_watch(mc_hwrun_t *r, mc_hwrun_pipe_t *pp)
{
    pp->io = mc_loop_io_add(r->loop, pp->fd, EPOLLIN, mc_hwrun_pipe_ready, pp);
    return pp->io != NULL;
}

static bool mc_hwrun_boot(mc_hwrun_node_t *n)
{
    mc_hwrun_t *r = n->run;
    const mc_scn_node_t *sn = n->scn;
    char epoch[32], seed[32], verbose[8], t[32];
    snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)r->epoch);
    /* Distinct per node and per boot, all derived from the run seed. */
    uint64_t s = mc_rng_mix(r->cfg->seed ^ mc_rng_mix(n->idx + 1) ^ ((uint64_t)n->boots << 48));
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s);

    size_t argc = 0, cap = 12 + 2 * sn->conf.n;
    char **argv = mc_calloc(cap, sizeof *argv);
    char **owned = mc_calloc(sn->conf.n + 1, sizeof *owned);
    argv[argc++] = (char *)r->cfg->node_bin;
    argv[argc++] = "--role";
    argv[argc++] = sn->role;
    argv[argc++] = "--name";
    argv[argc++] = sn->name;
    argv[argc++] = "--epoch";
    argv[argc++] = epoch;
    argv[argc++] = "--seed";
    argv[argc++] = seed;
    for (size_t i = 0; i < sn->conf.n; i++) {
        size_t len = strlen(sn->conf.kv[i].key) + strlen(sn->conf.kv[i].value) + 2;
        owned[i] = mc_malloc(len);
        snprintf(owned[i], len, "%s=%s", sn->conf.kv[i].key, sn->conf.kv[i].value);
        argv[argc++] = "--conf";
        argv[argc++] = owned[i];
    }
    if (r->cfg->verbose > 0) {
        int v = r->cfg->verbose > 3 ? 3 : r->cfg->verbose;
        verbose[0] = '-';
        memset(verbose + 1, 'v', (size_t)v);
        verbose[v + 1] = '\0';
        argv[argc++] = verbose;
    }
    argv[argc] = NULL;

    char err[256];
    int in_fd = -1, out_fd = -1, err_fd = -1;
    int netns_fd = r->cfg->netns ? mc_netns_fd(r->cfg->netns, n->idx) : -1;
    pid_t pid = mc_hwrun_spawn(argv, netns_fd, &in_fd, &out_fd, &err_fd, err, sizeof err);
    for (size_t i = 0; i < sn->conf.n; i++)
        mc_free(owned[i]);
    mc_free(owned);
    mc_free(argv);
    if (pid < 0) {
        fprintf(stderr, "hwrun: cannot start node %s: %s\n", sn->name, err);
        return false;
    }
    mc_hwrun_proc_t *p = mc_calloc(1, sizeof *p);
    p->node = n;
    p->pid = pid;
    p->in_fd = in_fd;
    mc_hwrun_pipe_init(p, &p->out, out_fd, false);
    mc_hwrun_pipe_init(p, &p->err, err_fd, true);
    mc_list_push_back(&r->procs, &p->link);
    if (!mc_hwrun_pipe_watch(r, &p->out) || !mc_hwrun_pipe_watch(r, &p->err)) {
        fprintf(stderr, "hwrun: epoll: %s\n", strerror(errno));
        return false; /* fd cleanup happens when the run is torn down */
    }
    n->cur = p;
    n->paused = false;
    mc_hwrun_event(r, sn->name, "hw.node_start", "role=%s inc=%u pid=%d", sn->role, n->boots, (int)pid);
    n->boots++;
    printf("hwrun: %s boot %s pid %d on %s\n", mc_hwrun_t_str(mc_hwrun_now(r), t, sizeof t), sn->name, (int)pid,
           n->addr);
    return true;
}

static void mc_hwrun_boot_timer(void *arg)
{
    mc_hwrun_node_t *n = arg;
    if (n->run->phase == MC_HWRUN_RUNNING && !n->cur)
        mc_hwrun_boot(n);
}

/* --------------------------------------------------------- stopping --- */

static void mc_hwrun_kill_stragglers(void *arg)
{
    mc_hwrun_t *r = arg;
    r->kill_timer = 0;
    mc_list_t *pos;
    for (pos = r->procs.next; pos != &r->procs; pos = pos->next) {
        mc_hwrun_proc_t *p = mc_container_of(pos, mc_hwrun_proc_t, link);
        if (p->exited)
            continue;
        fprintf(stderr, "hwrun: crash: node %s (pid %d) did not exit within %llus of SIGTERM; SIGKILL\n",
                p->node->scn->name, (int)p->pid, MC_HWRUN_STOP_GRACE_NS / 1000000000ULL);
        r->res->crashes++;
        p->expect_exit = true;
        kill(p->pid, SIGKILL);
    }
}

static void mc_hwrun_stop(mc_hwrun_t *r)
{
    if (r->phase == MC_HWRUN_STOPPING)
        return;
    r->phase = MC_HWRUN_STOPPING;
    mc_list_t *pos;
    for (pos = r->procs.next; pos != &r->procs; pos = pos->next) {
        mc_hwrun_proc_t *p = mc_container_of(pos, mc_hwrun_proc_t, link);
        if (p->exited)
            continue;
        if (p->node->paused && p->node->cur == p)
            kill(p->pid, SIGCONT); /* a stopped process cannot act on SIGTERM */
        kill(p->pid, SIGTERM);
    }
    r->kill_timer = mc_loop_timer_arm(r->loop, MC_HWRUN_STOP_GRACE_NS, mc_hwrun_kill_stragglers, r);
    mc_hwrun_maybe_finish(r);
}

static void mc_hwrun_end_timer(void *arg)
{
    mc_hwrun_t *r = arg;
    char t[32];
    printf("hwrun: %s end of scenario; stopping nodes\n", mc_hwrun_t_str(mc_hwrun_now(r), t, sizeof t));
    mc_hwrun_stop(r);
}

/* ------------------------------------------------------------ faults --- */

static void mc_hwrun_skip(mc_hwrun_t *r, const mc_scn_fault_t *f, const char *why)
{
    char t[32];
    printf("skip: fault %s at %s: %s\n", mc_fault_kind_name(f->kind), mc_hwrun_t_str(f->at_ns, t, sizeof t), why);
    mc_hwrun_event(r, f->node ? f->node : "-", "hw.fault_skipped", "kind=%s", mc_fault_kind_name(f->kind));
    r->res->skipped_faults++;
    if (f->at_ns < r->res->skip_from_ns)
        r->res->skip_from_ns = f->at_ns;
}

static mc_hwrun_node_t *mc_hwrun_node_find(mc_hwrun_t *r, const char *name)
{
    for (size_t i = 0; name && i < r->cfg->s->nnodes; i++)
        if (strcmp(r->nodes[i].scn->name, name) == 0)
            return &r->nodes[i];
    return NULL;
}

/* An incarnation of n that was killed but has not been reaped yet. */
static mc_hwrun_proc_t *mc_hwrun_node_dying(mc_hwrun_node_t *n)
{
    mc_list_t *pos;
    for (pos = n->run->procs.next; pos != &n->run->procs; pos = pos->next) {
        mc_hwrun_proc_t *p = mc_container_of(pos, mc_hwrun_proc_t, link);
        if (p->node == n && !p->exited)
            return p;
    }
    return NULL;
}

/* SIGKILL the running incarnation: an injected crash, not a failure. */
static void mc_hwrun_kill(mc_hwrun_node_t *n, const char *why)
{
    mc_hwrun_proc_t *p = n->cur;
    mc_hwrun_event(n->run, n->scn->name, "hw.node_crash", "why=%s inc=%u", why, n->boots - 1);
    p->expect_exit = true;
    kill(p->pid, SIGKILL);
    n->cur = NULL;
    n->paused = false;
}

/* A partition in namespace mode: for every cut a -> b, b drops frames
 * from a (nftables in b's namespace), so one-way cuts are exact. */
static void mc_hwrun_partition(mc_hwrun_t *r, const mc_scn_fault_t *f)
{
    const mc_scenario_t *s = r->cfg->s;
    size_t n = s->nnodes;
    bool *side_a = mc_calloc(n, sizeof *side_a), *side_b = mc_calloc(n, sizeof *side_b);
    bool *cut = mc_calloc(n * n, sizeof *cut); /* cut[from * n + to] */
    char t[32], now[32], err[600];
    mc_hwrun_t_str(f->at_ns, t, sizeof t);
    for (size_t i = 0; i < f->nnodes; i++)
        side_a[mc_hwrun_node_find(r, f->nodes[i])->idx] = true;
    for (size_t i = 0; i < f->npeers; i++)
        side_b[mc_hwrun_node_find(r, f->peers[i])->idx] = true;
    for (size_t i = 0; f->npeers == 0 && i < n; i++)
        side_b[i] = !side_a[i]; /* no peers: everyone else */
    size_t ncuts = 0;
    for (size_t a = 0; a < n; a++) {
        for (size_t b = 0; b < n; b++) {
            if (!side_a[a] || !side_b[b])
                continue;
            cut[a * n + b] = true; /* nodes -> peers */
            if (!f->oneway)
                cut[b * n + a] = true;
            ncuts += f->oneway ? 1 : 2;
        }
    }
    if (mc_netns_cut(r->cfg->netns, cut, err, sizeof err) < 0) {
        printf("hwrun: %s fault partition: %s\n", t, err);
        mc_hwrun_skip(r, f, "nftables rule failed (see above); the cut is incomplete");
    } else {
        printf("hwrun: %s fault partition: %zu directed link(s) cut%s (in effect at %s)\n", t, ncuts,
               f->oneway ? ", one-way" : "", mc_hwrun_t_str(mc_hwrun_now(r), now, sizeof now));
    }
    mc_free(side_a);
    mc_free(side_b);
    mc_free(cut);
}

static void mc_hwrun_fault_timer(void *arg)
{
    mc_hwrun_fault_t *hf = arg;
    mc_hwrun_t *r = hf->run;
    const mc_scn_fault_t *f = hf->f;
    if (r->phase != MC_HWRUN_RUNNING)
        return;
    char t[32];
    mc_hwrun_t_str(f->at_ns, t, sizeof t);
    mc_hwrun_node_t *n = mc_hwrun_node_find(r, f->node);
    const char *kind = mc_fault_kind_name(f->kind);
    bool net_fault = f->kind == MC_FAULT_PARTITION || f->kind == MC_FAULT_HEAL || f->kind == MC_FAULT_NIC_DOWN ||
                     f->kind == MC_FAULT_NIC_UP;
    if (f->kind == MC_FAULT_CRASH || f->kind == MC_FAULT_RESTART || f->kind == MC_FAULT_PAUSE ||
        f->kind == MC_FAULT_RESUME || (net_fault && r->cfg->netns)) /* the ones made real below */
        mc_hwrun_event(r, "-", "hw.fault", "kind=%s node=%s", kind, f->node ? f->node : "-");
    char err[600];
    switch (f->kind) {
    case MC_FAULT_CRASH:
    case MC_FAULT_PAUSE:
    case MC_FAULT_RESUME:
        if (!n || !n->cur) {
            printf("hwrun: %s fault %s %s: node not running, nothing to do\n", t, kind, f->node ? f->node : "?");
            return;
        }
        if (f->kind == MC_FAULT_CRASH) {
            printf("hwrun: %s fault crash %s: SIGKILL pid %d\n", t, n->scn->name, (int)n->cur->pid);
            mc_hwrun_kill(n, "fault");
        } else if (f->kind == MC_FAULT_PAUSE) {
            printf("hwrun: %s fault pause %s: SIGSTOP pid %d\n", t, n->scn->name, (int)n->cur->pid);
            kill(n->cur->pid, SIGSTOP);
            n->paused = true;
        } else {
            printf("hwrun: %s fault resume %s: SIGCONT pid %d\n", t, n->scn->name, (int)n->cur->pid);
            kill(n->cur->pid, SIGCONT);
            n->paused = false;
        }
        return;
    case MC_FAULT_RESTART:
        if (!n)
            return;
        if (n->cur) {
            printf("hwrun: %s fault restart %s: still running, SIGKILL pid %d first\n", t, n->scn->name,
                   (int)n->cur->pid);
            mc_hwrun_kill(n, "restart");
        }
        /* The new incarnation binds the same port: let a killed one die first. */
        mc_hwrun_proc_t *old = mc_hwrun_node_dying(n);
        if (old) {
            printf("hwrun: %s fault restart %s: after pid %d has exited\n", t, n->scn->name, (int)old->pid);
            old->reboot_on_exit = true;
            return;
        }
        printf("hwrun: %s fault restart %s\n", t, n->scn->name);
        if (!mc_hwrun_boot(n))
            r->res->crashes++;
        return;
    case MC_FAULT_PARTITION:
    case MC_FAULT_HEAL:
        if (!r->cfg->netns) {
            mc_hwrun_skip(r, f, "cutting links needs network namespaces (--netns); not done on loopback");
            return;
        }
        if (f->kind == MC_FAULT_PARTITION) {
            mc_hwrun_partition(r, f);
        } else if (mc_netns_heal(r->cfg->netns, err, sizeof err) < 0) {
            printf("hwrun: %s fault heal: %s\n", t, err);
            mc_hwrun_skip(r, f, "removing nftables rules failed (see above)");
        } else {
            char now[32];
            printf("hwrun: %s fault heal: every cut removed (at %s)\n", t,
                   mc_hwrun_t_str(mc_hwrun_now(r), now, sizeof now));
        }
        return;
    case MC_FAULT_NIC_DOWN:
    case MC_FAULT_NIC_UP:
        if (!r->cfg->netns) {
            mc_hwrun_skip(r, f, "nodes share the loopback interface; no per-node NIC to take down (--netns)");
            return;
        }
        if (!n || mc_netns_nic_set(r->cfg->netns, n->idx, f->nic, f->kind == MC_FAULT_NIC_UP, err, sizeof err) < 0) {
            printf("hwrun: %s fault %s %s nic %u: %s\n", t, kind, f->node ? f->node : "?", f->nic,
                   n ? err : "unknown node");
            mc_hwrun_skip(r, f, "ip link set failed (see above)");
            return;
        }
        char now[32];
        printf("hwrun: %s fault %s %s: eth%u %s in %s (at %s)\n", t, kind, n->scn->name, f->nic,
               f->kind == MC_FAULT_NIC_UP ? "up" : "down", mc_netns_name(r->cfg->netns, n->idx),
               mc_hwrun_t_str(mc_hwrun_now(r), now, sizeof now));
        return;
    case MC_FAULT_CLOCK_DRIFT:
    case MC_FAULT_CLOCK_STEP:
        mc_hwrun_skip(r, f, "CLOCK_MONOTONIC cannot be skewed per process");
        return;
    case MC_FAULT_NET:
        mc_hwrun_skip(r, f, "no netem here: latency/bandwidth/loss/dup/reorder of real links cannot be changed");
        return;
    default:
        mc_hwrun_skip(r, f, "unknown fault kind");
        return;
    }
}

/* ---------------------------------------------------------- commands --- */

static void mc_hwrun_cmd_send(mc_hwrun_t *r, const mc_scn_cmd_t *c, uint32_t rep)
{
    char t[32];
    mc_hwrun_t_str(mc_hwrun_now(r), t, sizeof t);
    mc_hwrun_node_t *n = mc_hwrun_node_find(r, c->node);
    if (!n || !n->cur) {
        printf("hwrun: %s drop: cmd %s for %s: node not running\n", t, c->cmd, c->node);
        mc_hwrun_event(r, c->node, "hw.cmd_skipped", "cmd=%s why=down", c->cmd);
        return;
    }
    char line[8192], esc[2048];
    mc_conf_t args; /* this repetition's: "{i}" replaced */
    mc_conf_init(&args);
    mc_scn_cmd_args(c, rep, &args);
    size_t len = (size_t)snprintf(line, sizeof line, "cmd %s", c->cmd);
    for (size_t i = 0; i < args.n && len < sizeof line; i++) {
        mc_node_cmd_escape(args.kv[i].key, esc, sizeof esc);
        len += (size_t)snprintf(line + len, sizeof line - len, " %s=", esc);
        mc_node_cmd_escape(args.kv[i].value, esc, sizeof esc);
        if (len < sizeof line)
            len += (size_t)snprintf(line + len, sizeof line - len, "%s", esc);
    }
    mc_conf_free(&args);
    if (len + 1 >= sizeof line) {
        printf("hwrun: %s drop: cmd %s for %s: longer than %zu bytes\n", t, c->cmd, c->node, sizeof line);
        return;
    }
    line[len++] = '\n';
    ssize_t w;
    do {
        w = write(n->cur->in_fd, line, len);
    } while (w < 0 && errno == EINTR);
    if (w != (ssize_t)len) { /* a pipe write this small is all or nothing */
        bool full = w < 0 && errno == EAGAIN;
        printf("hwrun: %s drop: cmd %s for %s: stdin pipe %s\n", t, c->cmd, c->node, full ? "full" : "closed");
        mc_hwrun_event(r, c->node, "hw.cmd_skipped", "cmd=%s why=%s", c->cmd, full ? "pipe_full" : "pipe_closed");
        return;
    }
    mc_hwrun_event(r, c->node, "hw.cmd", "cmd=%s", c->cmd);
}

static void mc_hwrun_cmd_timer(void *arg)
{
    mc_hwrun_cmd_t *hc = arg;
    mc_hwrun_t *r = hc->run;
    if (r->phase != MC_HWRUN_RUNNING)
        return;
    mc_hwrun_cmd_send(r, hc->cmd, hc->sent);
    uint32_t repeat = hc->cmd->repeat ? hc->cmd->repeat : 1;
    if (++hc->sent < repeat) {
        uint64_t at = hc->cmd->at_ns + (uint64_t)hc->sent * hc->cmd->every_ns;
        mc_loop_timer_at(r->loop, r->epoch + at, mc_hwrun_cmd_timer, hc);
    }
}

/* ----------------------------------------------------------- signals --- */

static void mc_hwrun_child_exit(mc_hwrun_t *r, pid_t pid, int st)
{
    mc_hwrun_proc_t *p = NULL;
    mc_list_t *pos;
    for (pos = r->procs.next; pos != &r->procs; pos = pos->next) {
        mc_hwrun_proc_t *q = mc_container_of(pos, mc_hwrun_proc_t, link);
        if (q->pid == pid && !q->exited) {
            p = q;
            break;
        }
    }
    if (!p)
        return;
    p->exited = true;
    char t[32], how[64];
    mc_hwrun_t_str(mc_hwrun_now(r), t, sizeof t);
    if (WIFSIGNALED(st))
        snprintf(how, sizeof how, "killed by SIG%s%s", sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?",
                 WCOREDUMP(st) ? " (core dumped)" : "");
    else
        snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(st));
    /* Stopping: exit 0, or killed by our SIGTERM before the node had set
     * up its handler (still starting: a stop interrupting the run early). */
    bool clean_stop = r->phase == MC_HWRUN_STOPPING && ((WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
                                                         (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM));
    if (p->expect_exit || clean_stop) {
        if (r->cfg->verbose > 0)
            printf("hwrun: %s %s (pid %d) exited: %s\n", t, p->node->scn->name, (int)pid, how);
    } else {
        printf("hwrun: %s crash: node %s (pid %d) died unexpectedly: %s\n", t, p->node->scn->name, (int)pid, how);
        r->res->crashes++;
        if (p->node->cur == p)
            mc_hwrun_event(r, p->node->scn->name, "hw.node_crash", "why=died inc=%u", p->node->boots - 1);
    }
    if (p->node->cur == p) {
        p->node->cur = NULL;
        p->node->paused = false;
    }
    mc_hwrun_node_t *reboot = p->reboot_on_exit && r->phase == MC_HWRUN_RUNNING && !p->node->cur ? p->node : NULL;
    mc_hwrun_proc_reap_if_done(p); /* may free p */
    if (reboot && !mc_hwrun_boot(reboot))
        r->res->crashes++;
}

static void mc_hwrun_signal(void *arg, uint32_t events)
{
    (void)events;
    mc_hwrun_t *r = arg;
    struct signalfd_siginfo si;
    while (read(r->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD)
            continue; /* reaped below: signals coalesce */
        printf("hwrun: %s: stopping\n", strsignal((int)si.ssi_signo));
        r->res->interrupted = true;
        mc_hwrun_stop(r);
    }
    int st;
    pid_t pid;
    size_t before = r->res->crashes;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        mc_hwrun_child_exit(r, pid, st);
    if (r->res->crashes > before && !r->cfg->keep_going && r->phase == MC_HWRUN_RUNNING) {
        printf("hwrun: stopping early after a crash (use --keep-going to run to the end)\n");
        mc_hwrun_stop(r);
    }
}

/* ------------------------------------------------------------- drive --- */

int mc_hwrun_drive(const mc_hwrun_cfg_t *cfg, mc_hwrun_result_t *res)
{
    const mc_scenario_t *s = cfg->s;
    int rc = -1;
    mc_hwrun_t r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.res = res;
    r.sfd = -1;
    mc_list_init(&r.procs);
    mc_trace_log_init(&res->log);
    res->skip_from_ns = UINT64_MAX;

    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, &old);
    signal(SIGPIPE, SIG_IGN);
    r.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    r.loop = mc_loop_create();
    if (r.sfd < 0 || !r.loop || !mc_loop_io_add(r.loop, r.sfd, EPOLLIN, mc_hwrun_signal, &r)) {
        fprintf(stderr, "hwrun: event loop: %s\n", strerror(errno));
        goto cleanup;
    }

    r.nodes = mc_calloc(s->nnodes ? s->nnodes : 1, sizeof *r.nodes);
    r.cmds = mc_calloc(s->ncmds ? s->ncmds : 1, sizeof *r.cmds);
    r.faults = mc_calloc(s->nfaults ? s->nfaults : 1, sizeof *r.faults);
    r.epoch = mc_loop_clock_ns();
    for (size_t i = 0; i < s->nnodes; i++) {
        r.nodes[i] = (mc_hwrun_node_t){.run = &r, .idx = i, .scn = &s->nodes[i], .addr = cfg->addrs[i]};
        mc_loop_timer_at(r.loop, r.epoch + s->nodes[i].start_ns, mc_hwrun_boot_timer, &r.nodes[i]);
    }
    if (s->net.loss > 0 || s->net.dup > 0 || s->net.reorder > 0) {
        mc_scn_fault_t base = {.at_ns = 0, .kind = MC_FAULT_NET};
        mc_hwrun_skip(&r, &base, "the scenario's loss/dup/reorder need netem, which this runner does not use");
    }
    for (size_t i = 0; i < s->nfaults; i++) {
        r.faults[i] = (mc_hwrun_fault_t){.run = &r, .f = &s->faults[i]};
        mc_loop_timer_at(r.loop, r.epoch + s->faults[i].at_ns, mc_hwrun_fault_timer, &r.faults[i]);
    }
    for (size_t i = 0; i < s->ncmds; i++) {
        r.cmds[i] = (mc_hwrun_cmd_t){.run = &r, .cmd = &s->cmds[i]};
        mc_loop_timer_at(r.loop, r.epoch + s->cmds[i].at_ns, mc_hwrun_cmd_timer, &r.cmds[i]);
    }
    mc_loop_timer_at(r.loop, r.epoch + s->duration_ns, mc_hwrun_end_timer, &r);

    rc = mc_loop_run(r.loop);

cleanup:
    /* Normally empty: the loop ends once every process is reaped. */
    while (!mc_list_empty(&r.procs)) {
        mc_hwrun_proc_t *p = mc_container_of(r.procs.next, mc_hwrun_proc_t, link);
        if (!p->exited) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
        }
        p->exited = true;
        if (p->out.fd >= 0 && p->err.fd >= 0)
            mc_hwrun_pipe_close(&p->out); /* err still open: p survives */
        if (p->out.fd >= 0 || p->err.fd >= 0)
            mc_hwrun_pipe_close(p->out.fd >= 0 ? &p->out : &p->err); /* frees p */
        else
            mc_hwrun_proc_reap_if_done(p);
    }
    mc_loop_destroy(r.loop);
    if (r.sfd >= 0)
        close(r.sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    mc_free(r.nodes);
    mc_free(r.cmds);
    mc_free(r.faults);
    fflush(stdout);
    return rc;
}
