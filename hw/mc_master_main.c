/* mooncake_master: for now the membership master (role member_master)
 * with upstream's flag names; it grows into the store master. Keep this
 * thin: flags -> mc_conf -> role. */
#include <stdio.h>
#include <string.h>

#include "env/mc_role.h"
#include "mc_flags.h"
#include "mc_node_run.h"

#define MC_MASTER_ROLE "member_master"

static void mc_master_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s [options]\n"
            "Mooncake master service (membership and client liveness for now).\n\n"
            "  --port N             RPC port (default 50051)\n"
            "  --rpc_address ADDR   address to listen on (default 0.0.0.0)\n"
            "  --client_ttl SEC     seconds without a ping before a client is expired (default 10)\n"
            "  -v, -vv              more logging (also MC_LOG_LEVEL=trace|debug|info|warn|error)\n"
            "  --help               this text\n\n"
            "Flags also take the --flag=value form. Trace lines go to stdout, logs to stderr.\n",
            prog);
}

int main(int argc, char **argv)
{
    const char *prog = "mooncake_master";
    int rc = 2;
    const char *port = "50051", *rpc_address = "0.0.0.0", *ttl = "10", *v = NULL;
    int verbose = 0;
    mc_conf_t conf;
    mc_conf_init(&conf);

    mc_flags_t f;
    mc_flags_init(&f, argc, argv);
    while (mc_flags_peek(&f)) {
        int nv;
        if (mc_flags_bool(&f, "help") || mc_flags_bool(&f, "h")) {
            mc_master_usage(stdout, prog);
            rc = 0;
            goto cleanup;
        } else if ((nv = mc_flags_verbose(&f)) > 0) {
            verbose += nv;
        } else if (mc_flags_value(&f, "port", &v)) {
            port = v;
        } else if (mc_flags_value(&f, "rpc_address", &v)) {
            rpc_address = v;
        } else if (mc_flags_value(&f, "client_ttl", &v)) {
            ttl = v;
        } else {
            if (f.err)
                fprintf(stderr, "%s: %s: %s\n", prog, f.err_flag, f.err);
            else
                fprintf(stderr, "%s: unknown flag '%s' (see --help)\n", prog, mc_flags_peek(&f));
            goto cleanup;
        }
    }
    uint64_t n;
    if (!mc_parse_u64(port, &n) || n == 0 || n > 65535) {
        fprintf(stderr, "%s: --port '%s': expected 1..65535\n", prog, port);
        goto cleanup;
    }
    if (!mc_parse_u64(ttl, &n) || n == 0) {
        fprintf(stderr, "%s: --client_ttl '%s': expected seconds > 0\n", prog, ttl);
        goto cleanup;
    }
    char buf[300];
    snprintf(buf, sizeof buf, strchr(rpc_address, ':') ? "[%s]:%s" : "%s:%s", rpc_address, port);
    mc_conf_set(&conf, "addr", buf);
    snprintf(buf, sizeof buf, "%ss", ttl);
    mc_conf_set(&conf, "client_ttl", buf);

    mc_node_opts_t o;
    memset(&o, 0, sizeof o);
    o.prog = prog;
    o.role = mc_role_find(MC_MASTER_ROLE);
    if (!o.role) {
        fprintf(stderr, "%s: role %s is not built in\n", prog, MC_MASTER_ROLE);
        rc = 1;
        goto cleanup;
    }
    o.name = "master";
    o.conf = &conf;
    o.log_level = mc_flags_log_level(verbose);
    rc = mc_node_run(&o);
cleanup:
    mc_conf_free(&conf);
    return rc;
}
