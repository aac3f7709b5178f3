/* One core role as a process; see mc_node_run.h. */
#include "mc_node_run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "mc_addr.h"
#include "mc_hw_env.h"
#include "mc_linebuf.h"
#include "mc_loop.h"

#define MC_NODE_LINE_MAX (64u << 10)

typedef struct mc_node_proc {
    const mc_node_opts_t *o;
    mc_loop_t *loop;
    mc_env_t *env;
    void *node;
    int sfd;
    mc_loop_io_t *sig_io;
    mc_loop_io_t *in_io;
    mc_linebuf_t lines; /* stdin */
} mc_node_proc_t;

static int mc_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* In-place %XX decoding; false on a bad escape. */
static bool mc_node_unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        int hi = mc_hex(r[1]), lo = hi < 0 ? -1 : mc_hex(r[2]);
        if (hi < 0 || lo < 0)
            return false;
        *w++ = (char)(hi * 16 + lo);
        r += 2;
    }
    *w = '\0';
    return true;
}

void mc_node_cmd_escape(const char *s, char *buf, size_t buflen)
{
    size_t n = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool esc = c == ' ' || c == '%' || c == '\n' || c == '\r' || c == '=' || c == '\t';
        if (n + (esc ? 3 : 1) >= buflen)
            break;
        if (esc)
            n += (size_t)snprintf(buf + n, buflen - n, "%%%02X", c);
        else
            buf[n++] = (char)c;
    }
    buf[n] = '\0';
}

bool mc_node_cmd_parse(char *line, const char **name, mc_conf_t *args)
{
    char *save = NULL;
    char *tok = strtok_r(line, " \t\r", &save);
    if (!tok || strcmp(tok, "cmd") != 0)
        return false;
    tok = strtok_r(NULL, " \t\r", &save);
    if (!tok)
        return false;
    *name = tok;
    while ((tok = strtok_r(NULL, " \t\r", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok)
            return false;
        *eq = '\0';
        if (!mc_node_unescape(tok) || !mc_node_unescape(eq + 1))
            return false;
        mc_conf_set(args, tok, eq + 1);
    }
    return true;
}

static void mc_node_cmd_run(void *arg, char *line)
{
    mc_node_proc_t *p = arg;
    if (line[0] == '\0')
        return;
    const char *name = NULL;
    mc_conf_t args;
    mc_conf_init(&args);
    if (!mc_node_cmd_parse(line, &name, &args)) {
        mc_env_logf(p->env, MC_LOG_WARN, "node", "ignoring stdin line (expected 'cmd NAME k=v ...')");
        goto cleanup;
    }
    if (!p->o->role->command) {
        mc_env_logf(p->env, MC_LOG_WARN, "node", "role %s takes no commands; dropped '%s'", p->o->role->name,
                    name);
        goto cleanup;
    }
    mc_status_t s = p->o->role->command(p->node, name, &args);
    if (s != MC_OK && s != MC_IN_PROGRESS)
        mc_env_logf(p->env, MC_LOG_WARN, "node", "command %s: %s (%d)", name, mc_status_name(s), s);
cleanup:
    mc_conf_free(&args);
}

static void mc_node_stdin_ready(void *arg, uint32_t events)
{
    (void)events;
    mc_node_proc_t *p = arg;
    /* One read per readiness: stdin may be blocking (a terminal). */
    size_t room;
    char *dst = mc_linebuf_space(&p->lines, &room);
    ssize_t n = read(STDIN_FILENO, dst, room);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        mc_env_logf(p->env, MC_LOG_DEBUG, "node", "stdin closed");
        mc_linebuf_flush(&p->lines, mc_node_cmd_run, p);
        mc_loop_io_del(p->loop, p->in_io);
        p->in_io = NULL;
        return;
    }
    /* An over-long line arrives in pieces, which fail to parse and are
     * reported; commands are far shorter than the buffer. */
    mc_linebuf_commit(&p->lines, (size_t)n, mc_node_cmd_run, p);
}

static void mc_node_signal(void *arg, uint32_t events)
{
    (void)events;
    mc_node_proc_t *p = arg;
    struct signalfd_siginfo si;
    ssize_t n = read(p->sfd, &si, sizeof si);
    if (n != (ssize_t)sizeof si)
        return;
    mc_env_logf(p->env, MC_LOG_INFO, "node", "%s: shutting down", strsignal((int)si.ssi_signo));
    mc_loop_stop(p->loop);
}

/* The data plane listens on the host of the control address when that is
 * a specific numeric one (e.g. a network namespace's own address under
 * mooncake_hwrun's namespace mode), else on 127.0.0.1 as before. */
static void mc_node_data_host(mc_env_t *env, const mc_conf_t *conf)
{
    const char *addr = mc_conf_get(conf, "addr");
    char host[MC_ADDR_STRLEN];
    uint16_t port = 0;
    struct in_addr in;
    /* IPv4 only: the data endpoint is published as "host:port". */
    if (addr && mc_addr_split(addr, host, sizeof host, &port) && inet_pton(AF_INET, host, &in) == 1 &&
        in.s_addr != htonl(INADDR_ANY))
        mc_hw_env_set_data_host(env, host);
}

int mc_node_run(const mc_node_opts_t *o)
{
    int rc = 1;
    mc_node_proc_t p;
    memset(&p, 0, sizeof p);
    p.o = o;
    p.sfd = -1;

    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
        (p.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "%s: signalfd: %s\n", o->prog, strerror(errno));
        goto cleanup;
    }
    p.loop = mc_loop_create();
    if (!p.loop) {
        fprintf(stderr, "%s: event loop: %s\n", o->prog, strerror(errno));
        goto cleanup;
    }
    mc_hw_env_opts_t eo = {
        .node_name = o->name,
        .epoch_ns = o->epoch_ns,
        .have_seed = o->have_seed,
        .seed = o->seed,
        .log_level = o->log_level,
        /* data plane: --conf protocol=rdma [rdma_devices=mlx5_0,...] */
        .protocol = mc_conf_get(o->conf, "protocol"),
        .rdma_devices = mc_conf_get(o->conf, "rdma_devices"),
    };
    p.env = mc_hw_env_create(p.loop, &eo);
    mc_node_data_host(p.env, o->conf);
    /* rdma: open the devices now, so a node without one stops here with
     * the reason instead of failing every transfer later */
    if (eo.protocol && strcmp(eo.protocol, "rdma") == 0 && mc_hw_env_data_start(p.env) != MC_OK) {
        fprintf(stderr, "%s: protocol=rdma: no usable RDMA device (set MC_FORCE_TCP=1 to use TCP)\n", o->prog);
        rc = 2;
        goto cleanup;
    }
    p.sig_io = mc_loop_io_add(p.loop, p.sfd, EPOLLIN, mc_node_signal, &p);
    if (!p.sig_io) {
        fprintf(stderr, "%s: epoll: %s\n", o->prog, strerror(errno));
        goto cleanup;
    }
    mc_env_logf(p.env, MC_LOG_INFO, "node", "role %s seed %llu pid %d", o->role->name,
                (unsigned long long)mc_hw_env_seed(p.env), (int)getpid());

    char err[512] = "";
    p.node = o->role->create(p.env, o->conf, err, sizeof err);
    if (!p.node) {
        fprintf(stderr, "%s: role %s: %s\n", o->prog, o->role->name, err[0] ? err : "bad configuration");
        rc = 2;
        goto cleanup;
    }
    if (o->read_stdin) {
        mc_linebuf_init(&p.lines, MC_NODE_LINE_MAX);
        /* Fails for regular files and /dev/null: then no commands. */
        p.in_io = mc_loop_io_add(p.loop, STDIN_FILENO, EPOLLIN, mc_node_stdin_ready, &p);
    }
    if (o->on_started)
        o->on_started(o->hook_arg, p.loop, p.node);
    rc = mc_loop_run(p.loop) == 0 ? 0 : 1;
    if (o->on_stopping)
        o->on_stopping(o->hook_arg);

cleanup:
    if (p.node)
        o->role->destroy(p.node);
    mc_hw_env_destroy(p.env);
    mc_loop_destroy(p.loop);
    mc_linebuf_free(&p.lines);
    if (p.sfd >= 0)
        close(p.sfd);
    return rc;
}
