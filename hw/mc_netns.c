/* A private network of namespaces for one hw run; see mc_netns.h. */
#include "mc_netns.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mc_mem.h"
#include "mc_netns_int.h"

#define MC_NETNS_HOSTLEN 32 /* "10.255.255.255", with room the compiler can prove */
#define MC_NETNS_NAMELEN 96

struct mc_netns {
    size_t n;
    pid_t pid;
    unsigned net;              /* second octet: 10.<net>.<nic>.<host> */
    uint32_t maxnics;
    char prefix[32];           /* "mchw-<pid>-" */
    char hub[MC_NETNS_NAMELEN];
    char (*names)[MC_NETNS_NAMELEN];
    uint32_t *nics;
    char (*hosts)[MC_NETNS_HOSTLEN]; /* node i NIC k at hosts[first[i] + k] */
    size_t *first;
    int *fds;
    bool *blocked;             /* node's blocked set may be non-empty */
};

/* A growing text buffer for ip -batch / nft -f scripts. */
typedef struct mc_netns_buf {
    char *s;
    size_t len, cap;
} mc_netns_buf_t;

static void mc_netns_buf_add(mc_netns_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mc_netns_buf_add(mc_netns_buf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int need = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        assert(need >= 0);
        if (b->s && (size_t)need < b->cap - b->len) {
            b->len += (size_t)need;
            return;
        }
        b->cap = (b->cap + (size_t)need + 1) * 2;
        b->s = mc_realloc(b->s, b->cap);
    }
}

bool mc_netns_available(char *why, size_t whylen)
{
    if (geteuid() != 0) {
        snprintf(why, whylen, "not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)");
        return false;
    }
    if (!mc_netns_tool("ip")) {
        snprintf(why, whylen, "ip(8) not found (package iproute2)");
        return false;
    }
    if (!mc_netns_tool("nft")) {
        snprintf(why, whylen, "nft(8) not found (package nftables)");
        return false;
    }
    return true;
}

/* Is pid a live mooncake_hwrun other than us? Its command line is checked,
 * not its comm, so a runner under valgrind or renamed still counts. */
static bool mc_netns_runner_alive(long pid)
{
    if (pid <= 0 || pid == (long)getpid())
        return false;
    if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
        return false;
    char path[64], cmd[4096];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    cmd[n] = '\0';
    for (size_t i = 0; i < n; i++) /* arguments are NUL-separated */
        if (cmd[i] == '\0')
            cmd[i] = ' ';
    return strstr(cmd, "mooncake_hwrun") != NULL;
}

size_t mc_netns_reap_stale(void)
{
    DIR *d = opendir("/run/netns");
    if (!d)
        return 0;
    /* Collect the dead runners' pids first: deleting changes the dir. */
    long *dead = NULL;
    size_t ndead = 0, cap = 0, removed = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *p = de->d_name;
        if (strncmp(p, MC_NETNS_PREFIX, strlen(MC_NETNS_PREFIX)) != 0)
            continue;
        char *end;
        long pid = strtol(p + strlen(MC_NETNS_PREFIX), &end, 10);
        if (end == p + strlen(MC_NETNS_PREFIX) || *end != '-' || mc_netns_runner_alive(pid))
            continue;
        bool seen = false;
        for (size_t i = 0; i < ndead && !seen; i++)
            seen = dead[i] == pid;
        if (seen)
            continue;
        if (ndead == cap) {
            cap = cap ? cap * 2 : 8;
            dead = mc_realloc(dead, cap * sizeof *dead);
        }
        dead[ndead++] = pid;
    }
    closedir(d);
    for (size_t i = 0; i < ndead; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, MC_NETNS_PREFIX "%ld-", dead[i]);
        size_t n = mc_netns_delete_prefix(prefix);
        if (n)
            printf("hwrun: removed %zu stale namespace(s) %s* of an earlier run\n", n, prefix);
        removed += n;
    }
    mc_free(dead);
    return removed;
}

const char *mc_netns_host(const mc_netns_t *ns, size_t i, uint32_t nic)
{
    assert(i < ns->n && nic < ns->nics[i]);
    return ns->hosts[ns->first[i] + nic];
}

const char *mc_netns_name(const mc_netns_t *ns, size_t i)
{
    assert(i < ns->n);
    return ns->names[i];
}

int mc_netns_fd(const mc_netns_t *ns, size_t i)
{
    assert(i < ns->n);
    return ns->fds[i];
}

/* The nft table of every node namespace: a set of blocked sources,
 * dropped before anything else sees them (also established flows). */
static const char mc_netns_nft_table[] = "table ip mchw {\n"
                                         "  set blocked { type ipv4_addr; }\n"
                                         "  chain input {\n"
                                         "    type filter hook input priority -300; policy accept;\n"
                                         "    ip saddr @blocked drop\n"
                                         "  }\n"
                                         "}\n";

static int mc_netns_build(mc_netns_t *ns, const char *const *names, char *err, size_t errlen)
{
    const char *ip = mc_netns_tool("ip"), *nft = mc_netns_tool("nft");
    static const char *const batch[] = {"-batch", "-", NULL};
    char e[512];
    int rc = -1;
    mc_netns_buf_t b = {0};

    /* 1. the namespaces */
    mc_netns_buf_add(&b, "netns add %s\n", ns->hub);
    for (size_t i = 0; i < ns->n; i++)
        mc_netns_buf_add(&b, "netns add %s\n", ns->names[i]);
    if (mc_netns_run(ip, batch, b.s, -1, e, sizeof e) < 0) {
        snprintf(err, errlen, "creating namespaces: %s", e);
        goto cleanup;
    }
    /* 2. the hub: one bridge per NIC index, one veth pair per node NIC,
     *    created straight into the node's namespace */
    b.len = 0;
    mc_netns_buf_add(&b, "link set lo up\n");
    for (uint32_t k = 0; k < ns->maxnics; k++)
        mc_netns_buf_add(&b, "link add br%u type bridge\nlink set br%u up\n", k, k);
    for (size_t i = 0; i < ns->n; i++)
        for (uint32_t k = 0; k < ns->nics[i]; k++)
            mc_netns_buf_add(&b,
                             "link add h%zun%u type veth peer name eth%u netns %s\n"
                             "link set h%zun%u master br%u up\n",
                             i, k, k, ns->names[i], i, k, k);
    const char *hub_args[] = {"-n", ns->hub, "-batch", "-", NULL};
    if (mc_netns_run(ip, hub_args, b.s, -1, e, sizeof e) < 0) {
        snprintf(err, errlen, "building the hub: %s", e);
        goto cleanup;
    }
    /* 3. each node: addresses, links up, the nft table; its fd */
    for (size_t i = 0; i < ns->n; i++) {
        b.len = 0;
        mc_netns_buf_add(&b, "link set lo up\n");
        for (uint32_t k = 0; k < ns->nics[i]; k++)
            mc_netns_buf_add(&b, "addr add %s/24 dev eth%u\nlink set eth%u up\n", mc_netns_host(ns, i, k), k, k);
        const char *args[] = {"-n", ns->names[i], "-batch", "-", NULL};
        if (mc_netns_run(ip, args, b.s, -1, e, sizeof e) < 0) {
            snprintf(err, errlen, "node %s: %s", names[i], e);
            goto cleanup;
        }
        char path[MC_NETNS_NAMELEN + 16];
        snprintf(path, sizeof path, "/run/netns/%s", ns->names[i]);
        ns->fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (ns->fds[i] < 0) {
            snprintf(err, errlen, "node %s: %s: %s", names[i], path, strerror(errno));
            goto cleanup;
        }
        static const char *const nft_args[] = {"-f", "-", NULL};
        if (mc_netns_run(nft, nft_args, mc_netns_nft_table, ns->fds[i], e, sizeof e) < 0) {
            snprintf(err, errlen, "node %s: nft table: %s", names[i], e);
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    mc_free(b.s);
    return rc;
}

mc_netns_t *mc_netns_create(size_t n, const char *const *names, const uint32_t *nics, char *err, size_t errlen)
{
    if (n == 0 || n > MC_NETNS_MAX_NODES) {
        snprintf(err, errlen, "%zu nodes: namespace mode takes 1..%u", n, MC_NETNS_MAX_NODES);
        return NULL;
    }
    mc_netns_t *ns = mc_calloc(1, sizeof *ns);
    ns->n = n;
    ns->pid = getpid();
    /* A per-run range; runs cannot collide anyway (separate namespaces),
     * but distinct ranges keep traces of concurrent runs apart. */
    ns->net = 64 + (unsigned)ns->pid % 190;
    snprintf(ns->prefix, sizeof ns->prefix, MC_NETNS_PREFIX "%d-", (int)ns->pid);
    snprintf(ns->hub, sizeof ns->hub, "%shub", ns->prefix);
    ns->names = mc_calloc(n, sizeof *ns->names);
    ns->nics = mc_calloc(n, sizeof *ns->nics);
    ns->first = mc_calloc(n, sizeof *ns->first);
    ns->fds = mc_calloc(n, sizeof *ns->fds);
    ns->blocked = mc_calloc(n, sizeof *ns->blocked);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        ns->fds[i] = -1;
        ns->nics[i] = nics[i] ? nics[i] : 1;
        ns->first[i] = total;
        total += ns->nics[i];
        if (ns->nics[i] > ns->maxnics)
            ns->maxnics = ns->nics[i];
        if ((size_t)snprintf(ns->names[i], MC_NETNS_NAMELEN, "%sn-%s", ns->prefix, names[i]) >=
            MC_NETNS_NAMELEN) {
            snprintf(err, errlen, "node name '%s' too long for a namespace name", names[i]);
            mc_netns_destroy(ns);
            return NULL;
        }
    }
    ns->hosts = mc_calloc(total, sizeof *ns->hosts);
    for (size_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < ns->nics[i]; k++)
            snprintf(ns->hosts[ns->first[i] + k], MC_NETNS_HOSTLEN, "10.%u.%u.%zu", ns->net, k, i + 1);
    if (mc_netns_build(ns, names, err, errlen) < 0) {
        mc_netns_destroy(ns);
        return NULL;
    }
    return ns;
}

/* Run one nft per namespace that has work (script[i] != NULL, or every
 * namespace with args when scripts is NULL) at once, then wait for all:
 * under load each nft takes ~100 ms, so a cut must not be applied one
 * namespace after another. ok[i] is set for the ones that succeeded. */
static int mc_netns_nft_all(mc_netns_t *ns, const char *const *args, char **scripts, const bool *want, bool *ok,
                            char *err, size_t errlen)
{
    mc_netns_job_t *jobs = mc_calloc(ns->n, sizeof *jobs);
    bool *started = mc_calloc(ns->n, sizeof *started);
    int rc = 0;
    char e[512];
    for (size_t i = 0; i < ns->n; i++) {
        if (!want[i])
            continue;
        if (mc_netns_start(&jobs[i], mc_netns_tool("nft"), args, scripts ? scripts[i] : NULL, ns->fds[i], e,
                           sizeof e) < 0) {
            snprintf(err, errlen, "nft in %s: %s", ns->names[i], e);
            rc = -1;
            continue;
        }
        started[i] = true;
    }
    for (size_t i = 0; i < ns->n; i++) {
        if (!started[i])
            continue;
        if (mc_netns_wait(&jobs[i], e, sizeof e) < 0) {
            snprintf(err, errlen, "nft in %s: %s", ns->names[i], e);
            rc = -1;
            continue;
        }
        ok[i] = true;
    }
    mc_free(jobs);
    mc_free(started);
    return rc;
}

int mc_netns_cut(mc_netns_t *ns, const bool *cut, char *err, size_t errlen)
{
    char **scripts = mc_calloc(ns->n, sizeof *scripts);
    bool *want = mc_calloc(ns->n, sizeof *want), *ok = mc_calloc(ns->n, sizeof *ok);
    for (size_t to = 0; to < ns->n; to++) {
        mc_netns_buf_t b = {0};
        for (size_t from = 0; from < ns->n; from++) {
            if (!cut[from * ns->n + to])
                continue;
            assert(from != to);
            for (uint32_t k = 0; k < ns->nics[from]; k++)
                mc_netns_buf_add(&b, "%s %s", b.len ? "," : "add element ip mchw blocked {",
                                 mc_netns_host(ns, from, k));
        }
        if (b.len) {
            mc_netns_buf_add(&b, " }\n");
            scripts[to] = b.s;
            want[to] = true;
        }
    }
    static const char *const args[] = {"-f", "-", NULL};
    int rc = mc_netns_nft_all(ns, args, scripts, want, ok, err, errlen);
    for (size_t i = 0; i < ns->n; i++) {
        if (ok[i])
            ns->blocked[i] = true;
        mc_free(scripts[i]);
    }
    mc_free(scripts);
    mc_free(want);
    mc_free(ok);
    return rc;
}

int mc_netns_heal(mc_netns_t *ns, char *err, size_t errlen)
{
    static const char *const args[] = {"flush", "set", "ip", "mchw", "blocked", NULL};
    bool *ok = mc_calloc(ns->n, sizeof *ok);
    int rc = mc_netns_nft_all(ns, args, NULL, ns->blocked, ok, err, errlen);
    for (size_t i = 0; i < ns->n; i++)
        if (ok[i])
            ns->blocked[i] = false;
    mc_free(ok);
    return rc;
}

int mc_netns_nic_set(mc_netns_t *ns, size_t i, uint32_t nic, bool up, char *err, size_t errlen)
{
    assert(i < ns->n);
    if (nic >= ns->nics[i]) {
        snprintf(err, errlen, "node has %u NIC(s), no NIC %u", ns->nics[i], nic);
        return -1;
    }
    char dev[16], e[512];
    snprintf(dev, sizeof dev, "eth%u", nic);
    const char *args[] = {"-n", ns->names[i], "link", "set", "dev", dev, up ? "up" : "down", NULL};
    if (mc_netns_run(mc_netns_tool("ip"), args, NULL, -1, e, sizeof e) < 0) {
        snprintf(err, errlen, "%s", e);
        return -1;
    }
    return 0;
}

void mc_netns_destroy(mc_netns_t *ns)
{
    if (!ns)
        return;
    for (size_t i = 0; ns->fds && i < ns->n; i++)
        if (ns->fds[i] >= 0)
            close(ns->fds[i]);
    /* By prefix, not by list: also catches a half-finished build. */
    mc_netns_delete_prefix(ns->prefix);
    mc_free(ns->names);
    mc_free(ns->nics);
    mc_free(ns->first);
    mc_free(ns->fds);
    mc_free(ns->blocked);
    mc_free(ns->hosts);
    mc_free(ns);
}
