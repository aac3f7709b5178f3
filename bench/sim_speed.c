/* bench_sim_speed: simulator speed on an idle-heavy cluster.
 *
 * 1 member_master + 63 member_clients pinging every second for one
 * virtual hour (by default). Prints events per wall second and the
 * simulated-to-wall ratio. Not a test: it reports, it does not judge
 * (goal on a 2-core box: >= 1M events/s and >= 1000x real time). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/mc_role.h"
#include "sim.h"
#include "sim_run.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_sim_speed [--nodes N] [--seconds S] [--trace]\n"
               "  --nodes N     cluster size including the master (default 64)\n"
               "  --seconds S   virtual seconds to simulate (default 3600)\n"
               "  --trace       also write the trace to /dev/null (formatting cost)\n");
}

int main(int argc, char **argv)
{
    unsigned nodes = 64;
    unsigned long long seconds = 3600;
    int trace = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
            nodes = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--trace"))
            trace = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 64;
        }
    }
    if (nodes < 2) {
        usage(stderr);
        return 64;
    }
    const mc_role_t *mr = mc_role_find("member_master"), *cr = mc_role_find("member_client");
    if (!mr || !cr) {
        fprintf(stderr, "bench_sim_speed: membership roles not registered\n");
        return 70;
    }
    mc_sim_cfg_t cfg;
    mc_sim_cfg_init(&cfg);
    cfg.seed = 42;
    cfg.net.latency_ns = 100 * 1000;
    cfg.net.jitter_ns = 20 * 1000;
    cfg.log_level = MC_LOG_ERROR + 1;
    FILE *devnull = trace ? fopen("/dev/null", "w") : NULL;
    cfg.trace_out = devnull;
    mc_sim_t *s = mc_sim_create(&cfg);

    mc_conf_t c;
    mc_conf_init(&c);
    mc_conf_set(&c, "client_ttl", "5s");
    int m = mc_sim_node_add(s, "master", mr, &c, 1);
    mc_conf_free(&c);
    mc_sim_at_start(s, m, 0);
    mc_conf_init(&c);
    mc_conf_set(&c, "master", mc_sim_node_addr(s, m));
    for (unsigned i = 1; i < nodes; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%u", i);
        int id = mc_sim_node_add(s, name, cr, &c, 1);
        /* spread boots so pings do not all land on the same instant */
        mc_sim_at_start(s, id, (uint64_t)i * 15 * MC_NS_PER_MS);
    }
    mc_conf_free(&c);

    double w0 = mc_sim_wall_now();
    mc_sim_run(s, seconds * MC_NS_PER_S);
    double wall = mc_sim_wall_now() - w0;
    unsigned long long ev = mc_sim_events(s);
    printf("bench_sim_speed: %u nodes, %llu virtual seconds%s\n", nodes, seconds,
           trace ? " (trace formatted to /dev/null)" : "");
    printf("events: %llu  trace lines: %llu  wall: %.3fs\n", ev,
           (unsigned long long)mc_sim_trace_lines(s), wall);
    printf("events/s: %.0f  (goal >= 1000000)\n", wall > 0 ? (double)ev / wall : 0.0);
    printf("simulated/wall: %.0fx real time  (goal >= 1000x)\n",
           wall > 0 ? (double)seconds / wall : 0.0);
    printf("trace-hash: %016llx\n", (unsigned long long)mc_sim_trace_hash(s));
    mc_sim_destroy(s);
    if (devnull)
        fclose(devnull);
    return 0;
}
