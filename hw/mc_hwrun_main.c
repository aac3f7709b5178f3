/* mooncake_hwrun: run a scenario file (the same one mooncake_sim takes)
 * as real mooncake_node processes, on loopback or each in its own network
 * namespace (mc_netns.h), with faults made real by signals, nftables and
 * links set down, then check the scenario's expectations against the
 * merged trace. Exit codes match mooncake_sim (see mc_hwrun.h). */
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/mc_mem.h"
#include "env/mc_role.h"
#include "mc_addr.h"
#include "mc_flags.h"
#include "mc_hwrun.h"
#include "mc_netns.h"

static void mc_hwrun_usage(FILE *out)
{
    fprintf(out,
            "Usage: mooncake_hwrun SCENARIO [options]\n"
            "Run a scenario file as real processes: one mooncake_node per node, faults as\n"
            "signals (crash=SIGKILL, restart=spawn, pause=SIGSTOP, resume=SIGCONT).\n"
            "Loopback mode: every node on 127.0.0.1. Namespace mode: every node in its own\n"
            "network namespace (10.x addresses, veth links to a bridge), partition/heal as\n"
            "nftables drops, nic_down/up as 'ip link set dev ethN down/up'; used when the\n"
            "scenario has such faults and namespaces work here (root, ip, nft), or forced.\n"
            "Faults that cannot be made real (clock_drift/step, net, xfer_blackhole, and the\n"
            "network faults on loopback) are skipped with a 'skip:' line and expectations\n"
            "whose window reaches past a skipped fault are reported as skipped.\n\n"
            "  --seed N        run seed (default: the scenario's); node seeds derive from it\n"
            "  --keep-going    after a node dies unexpectedly, run to the end anyway\n"
            "  --trace FILE    write every @trace line received to FILE\n"
            "  --node-bin P    mooncake_node to run (default: next to this binary)\n"
            "  --quiet         do not forward node logs (stderr)\n"
            "  --netns         namespace mode even without network faults; exit 77 if\n"
            "                  namespaces cannot be used here (not root, no ip/nft)\n"
            "  --no-netns      loopback mode even with network faults (they are skipped)\n"
            "  -v, -vv         more output; passed on to the nodes\n"
            "  --help          this text\n\n"
            "Exit: 0 pass, 64 usage, 65 bad scenario file, 70 crash (a node died without\n"
            "an injected fault, or the run could not start), 71 correctness failure,\n"
            "72 liveness failure, 77 --netns not possible here, 130 interrupted.\n");
}

static char *mc_hwrun_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 65536;
            buf = mc_realloc(buf, cap + 1);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        mc_free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Free loopback ports: bind all first (so they are distinct), then close. */
static bool mc_hwrun_ports(size_t n, char **addrs)
{
    int *fds = mc_calloc(n ? n : 1, sizeof *fds);
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        fds[i] = -1;
    for (size_t i = 0; i < n && ok; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof sa;
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof sa) < 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &len) < 0) {
            fprintf(stderr, "hwrun: cannot reserve a loopback port: %s\n", strerror(errno));
            ok = false;
            break;
        }
        addrs[i] = mc_malloc(MC_ADDR_STRLEN);
        mc_addr_format((struct sockaddr *)&sa, len, addrs[i], MC_ADDR_STRLEN);
    }
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    mc_free(fds);
    return ok;
}

/* Does the scenario have faults that only namespace mode makes real? */
static bool mc_hwrun_wants_netns(const mc_scenario_t *s)
{
    for (size_t i = 0; i < s->nfaults; i++) {
        mc_fault_kind_t k = s->faults[i].kind;
        if (k == MC_FAULT_PARTITION || k == MC_FAULT_HEAL || k == MC_FAULT_NIC_DOWN || k == MC_FAULT_NIC_UP)
            return true;
    }
    return false;
}

/* Every node in its own namespace, listening on MC_HWRUN_NETNS_PORT of
 * its first NIC's address. */
#define MC_HWRUN_NETNS_PORT 7000

static mc_netns_t *mc_hwrun_netns_up(const mc_scenario_t *s, char **addrs)
{
    const char **names = mc_calloc(s->nnodes, sizeof *names);
    uint32_t *nics = mc_calloc(s->nnodes, sizeof *nics);
    char err[1024];
    for (size_t i = 0; i < s->nnodes; i++) {
        names[i] = s->nodes[i].name;
        nics[i] = s->nodes[i].nics;
    }
    mc_netns_reap_stale();
    mc_netns_t *ns = mc_netns_create(s->nnodes, names, nics, err, sizeof err);
    if (!ns)
        fprintf(stderr, "hwrun: namespace mode: %s\n", err);
    for (size_t i = 0; ns && i < s->nnodes; i++) {
        addrs[i] = mc_malloc(MC_ADDR_STRLEN);
        snprintf(addrs[i], MC_ADDR_STRLEN, "%s:%d", mc_netns_host(ns, i, 0), MC_HWRUN_NETNS_PORT);
    }
    mc_free(names);
    mc_free(nics);
    return ns;
}

typedef struct mc_hwrun_addrs {
    const mc_scenario_t *s;
    char **addrs;
} mc_hwrun_addrs_t;

static const char *mc_hwrun_addr_of(void *ctx, const char *node)
{
    mc_hwrun_addrs_t *a = ctx;
    for (size_t i = 0; i < a->s->nnodes; i++)
        if (strcmp(a->s->nodes[i].name, node) == 0)
            return a->addrs[i];
    return NULL;
}

/* mooncake_node in the directory of this executable. */
static bool mc_hwrun_node_bin(char *buf, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return false;
    *slash = '\0';
    return (size_t)snprintf(buf, len, "%s/mooncake_node", self) < len;
}

int main(int argc, char **argv)
{
    int rc = MC_HWRUN_EXIT_USAGE;
    const char *file = NULL, *trace_path = NULL, *node_bin = NULL, *v = NULL;
    bool have_seed = false;
    int netns_mode = -1; /* -1 auto, 0 --no-netns, 1 --netns */
    mc_netns_t *netns = NULL;
    sigset_t stop_sigs;
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGINT);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGHUP);
    uint64_t seed = 0;
    mc_hwrun_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    mc_scenario_t s;
    memset(&s, 0, sizeof s);
    bool parsed = false;
    char *json = NULL;
    char **addrs = NULL;
    mc_expect_result_t *results = NULL;
    mc_hwrun_result_t res;
    memset(&res, 0, sizeof res);
    char bin[PATH_MAX], err[1024];

    setvbuf(stdout, NULL, _IOLBF, 0);
    mc_flags_t f;
    mc_flags_init(&f, argc, argv);
    while (mc_flags_peek(&f)) {
        const char *a = mc_flags_peek(&f);
        int nv;
        if (mc_flags_bool(&f, "help") || mc_flags_bool(&f, "h")) {
            mc_hwrun_usage(stdout);
            rc = 0;
            goto cleanup;
        } else if ((nv = mc_flags_verbose(&f)) > 0) {
            cfg.verbose += nv;
        } else if (mc_flags_value(&f, "seed", &v)) {
            if (!mc_parse_u64(v, &seed)) {
                fprintf(stderr, "mooncake_hwrun: --seed '%s': expected an unsigned integer\n", v);
                goto cleanup;
            }
            have_seed = true;
        } else if (mc_flags_bool(&f, "keep-going")) {
            cfg.keep_going = true;
        } else if (mc_flags_bool(&f, "quiet")) {
            cfg.quiet = true;
        } else if (mc_flags_value(&f, "trace", &v)) {
            trace_path = v;
        } else if (mc_flags_bool(&f, "netns")) {
            netns_mode = 1;
        } else if (mc_flags_bool(&f, "no-netns")) {
            netns_mode = 0;
        } else if (mc_flags_value(&f, "node-bin", &v)) {
            node_bin = v;
        } else if (a[0] != '-' && !file) {
            file = a;
            f.i++;
        } else {
            if (f.err)
                fprintf(stderr, "mooncake_hwrun: %s: %s\n", f.err_flag, f.err);
            else
                fprintf(stderr, "mooncake_hwrun: unexpected argument '%s' (see --help)\n", a);
            goto cleanup;
        }
    }
    if (!file) {
        fprintf(stderr, "mooncake_hwrun: a scenario file is required\n\n");
        mc_hwrun_usage(stderr);
        goto cleanup;
    }

    /* ---- the scenario ---- */
    rc = MC_HWRUN_EXIT_BAD_SCENARIO;
    size_t len = 0;
    json = mc_hwrun_read_file(file, &len, err, sizeof err);
    if (!json) {
        fprintf(stderr, "mooncake_hwrun: %s\n", err);
        goto cleanup;
    }
    if (mc_scenario_parse(json, len, file, &s, err, sizeof err) != MC_OK) {
        fprintf(stderr, "mooncake_hwrun: %s\n", err);
        goto cleanup;
    }
    parsed = true;
    for (size_t i = 0; i < s.nnodes; i++) {
        if (!mc_role_find(s.nodes[i].role)) {
            fprintf(stderr, "mooncake_hwrun: %s: node %s: unknown role '%s'\n", file, s.nodes[i].name,
                    s.nodes[i].role);
            goto cleanup;
        }
    }

    /* ---- the world: namespaces or loopback ports, binary ---- */
    rc = MC_HWRUN_EXIT_CRASH;
    addrs = mc_calloc(s.nnodes ? s.nnodes : 1, sizeof *addrs);
    if (netns_mode == 1 || (netns_mode < 0 && mc_hwrun_wants_netns(&s))) {
        char why[256];
        if (!mc_netns_available(why, sizeof why)) {
            printf("hwrun: namespace mode not possible: %s\n", why);
            if (netns_mode == 1) {
                printf("hwrun: SKIP %s (--netns)\n", s.name);
                rc = MC_HWRUN_EXIT_SKIP;
                goto cleanup;
            }
            printf("hwrun: running on loopback; partition/heal/nic faults will be skipped\n");
        } else {
            /* A ^C now must not kill us before the namespaces are gone:
             * the drive loop takes these signals from its signalfd. */
            sigprocmask(SIG_BLOCK, &stop_sigs, NULL);
            netns = mc_hwrun_netns_up(&s, addrs);
            if (!netns) {
                if (netns_mode == 1)
                    goto cleanup;
                printf("hwrun: namespace mode failed; running on loopback, network faults will be skipped\n");
            }
        }
    } else if (netns_mode == 0 && mc_hwrun_wants_netns(&s)) {
        printf("hwrun: --no-netns: running on loopback; partition/heal/nic faults will be skipped\n");
    }
    if (!netns) {
        for (size_t i = 0; i < s.nnodes; i++) {
            mc_free(addrs[i]);
            addrs[i] = NULL;
        }
        if (!mc_hwrun_ports(s.nnodes, addrs))
            goto cleanup;
    }
    mc_hwrun_addrs_t actx = {&s, addrs};
    if (mc_scenario_resolve(&s, mc_hwrun_addr_of, &actx, err, sizeof err) != MC_OK) {
        fprintf(stderr, "mooncake_hwrun: %s\n", err);
        rc = MC_HWRUN_EXIT_BAD_SCENARIO;
        goto cleanup;
    }
    if (!node_bin) {
        if (!mc_hwrun_node_bin(bin, sizeof bin)) {
            fprintf(stderr, "mooncake_hwrun: cannot locate myself via /proc/self/exe\n");
            goto cleanup;
        }
        node_bin = bin;
    }
    if (access(node_bin, X_OK) != 0) {
        fprintf(stderr, "mooncake_hwrun: %s: %s (use --node-bin)\n", node_bin, strerror(errno));
        goto cleanup;
    }
    if (trace_path) {
        cfg.trace_out = fopen(trace_path, "w");
        if (!cfg.trace_out) {
            fprintf(stderr, "mooncake_hwrun: --trace %s: %s\n", trace_path, strerror(errno));
            rc = MC_HWRUN_EXIT_USAGE;
            goto cleanup;
        }
    }
    cfg.s = &s;
    cfg.addrs = (const char *const *)addrs;
    cfg.node_bin = node_bin;
    cfg.netns = netns;
    cfg.seed = have_seed ? seed : s.seed;

    char d[32];
    printf("hwrun: scenario %s (%s) seed %llu duration %s, %zu nodes, %zu faults, %zu commands, %zu expectations\n",
           s.name, file, (unsigned long long)cfg.seed, mc_duration_fmt(s.duration_ns, d, sizeof d), s.nnodes,
           s.nfaults, s.ncmds, s.nexpects);
    for (size_t i = 0; i < s.nnodes; i++)
        printf("hwrun: node %s role %s addr %s%s%s\n", s.nodes[i].name, s.nodes[i].role, addrs[i],
               netns ? " netns " : "", netns ? mc_netns_name(netns, i) : "");

    /* ---- run ---- */
    if (mc_hwrun_drive(&cfg, &res) < 0)
        goto cleanup;

    /* ---- verdict ---- */
    results = mc_calloc(s.nexpects ? s.nexpects : 1, sizeof *results);
    mc_expect_check(&s, &res.log, s.duration_ns, results);
    size_t ok = 0, safety = 0, liveness = 0, skipped = 0;
    for (size_t i = 0; i < s.nexpects; i++) {
        const mc_scn_expect_t *e = &s.expects[i];
        uint64_t to = e->to_ns == MC_SCN_END ? s.duration_ns : e->to_ns;
        if (to >= res.skip_from_ns) {
            char t[32];
            printf("expect: skipped (window reaches past a skipped fault at %s): %s\n",
                   mc_duration_fmt(res.skip_from_ns, t, sizeof t), results[i].msg);
            skipped++;
            continue;
        }
        printf("expect: %s\n", results[i].msg);
        if (results[i].ok)
            ok++;
        else if (results[i].kind == MC_EXPECT_LIVENESS)
            liveness++;
        else
            safety++;
    }
    /* History checks ("checks": store_history, ...) judge the whole run;
     * a skipped fault only removes excuses, so they always apply. */
    mc_expect_result_t checks[MC_SCN_MAX_CHECKS];
    size_t check_fails = 0;
    size_t nchecks = mc_scenario_checks_run(&s, &res.log, checks, MC_SCN_MAX_CHECKS, &check_fails);
    for (size_t i = 0; i < nchecks; i++)
        printf("check: %s\n", checks[i].msg);
    safety += check_fails;
    ok += nchecks - check_fails;
    if (res.crashes)
        rc = MC_HWRUN_EXIT_CRASH;
    else if (safety)
        rc = MC_HWRUN_EXIT_CORRECTNESS;
    else if (liveness)
        rc = MC_HWRUN_EXIT_LIVENESS;
    else if (res.interrupted)
        rc = 130;
    else
        rc = MC_HWRUN_EXIT_PASS;
    printf("hwrun: %s: %s — expectations and checks %zu ok, %zu safety failed, %zu liveness failed, %zu skipped; "
           "faults skipped %zu; unexpected deaths %zu; %zu trace records; seed %llu; exit %d\n",
           rc == 0 ? "PASS" : "FAIL", s.name, ok, safety, liveness, skipped, res.skipped_faults, res.crashes,
           res.log.n, (unsigned long long)cfg.seed, rc);

cleanup:
    if (netns) {
        mc_netns_destroy(netns);
        /* A stop signal that came while we could not act on it. */
        sigset_t pending;
        sigpending(&pending);
        if ((sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) || sigismember(&pending, SIGHUP)) &&
            rc == MC_HWRUN_EXIT_PASS)
            rc = 130;
    }
    mc_free(results);
    mc_trace_log_free(&res.log);
    if (cfg.trace_out)
        fclose(cfg.trace_out);
    for (size_t i = 0; addrs && i < s.nnodes; i++)
        mc_free(addrs[i]);
    mc_free(addrs);
    if (parsed)
        mc_scenario_free(&s);
    mc_free(json);
    return rc;
}
