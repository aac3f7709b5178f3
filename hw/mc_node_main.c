/* mooncake_node: run any core role (mc_role_find) as a process. The hw
 * scenario runner starts one per scenario node. */
#include <stdio.h>
#include <string.h>

#include "env/mc_role.h"
#include "mc_flags.h"
#include "mc_node_run.h"

static void mc_node_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s --role NAME [options]\n"
            "Run one Mooncake core role on a real event loop.\n\n"
            "  --role NAME        role to run (see the list below)\n"
            "  --name N           node name in logs and traces (default: the role name)\n"
            "  --addr HOST:PORT   shorthand for --conf addr=HOST:PORT\n"
            "  --conf KEY=VALUE   role setting (repeatable; later wins)\n"
            "  --epoch NS         CLOCK_MONOTONIC ns that is time 0 for traces (default: start)\n"
            "  --seed N           seed for the role's random numbers (default: getrandom)\n"
            "  --no-stdin         do not read commands from stdin\n"
            "  -v, -vv            more logging (also MC_LOG_LEVEL=trace|debug|info|warn|error)\n"
            "  --help             this text\n\n"
            "stdin takes workload commands, one per line: cmd NAME key=value ...\n"
            "stdout carries trace lines: @trace <t_ns> <node> <event> <fields>\n"
            "stderr carries log lines: [<s.us>] LEVEL node component: msg\n\n"
            "Roles:\n",
            prog);
    for (const mc_role_t *const *r = mc_role_all(); *r; r++)
        fprintf(out, "  %-16s %s\n", (*r)->name, (*r)->help ? (*r)->help : "");
}

int main(int argc, char **argv)
{
    const char *prog = "mooncake_node";
    int rc = 2;
    mc_conf_t conf;
    mc_conf_init(&conf);
    const char *role_name = NULL, *name = NULL, *v = NULL;
    mc_node_opts_t o;
    memset(&o, 0, sizeof o);
    o.prog = prog;
    o.read_stdin = true;
    int verbose = 0;

    mc_flags_t f;
    mc_flags_init(&f, argc, argv);
    while (mc_flags_peek(&f)) {
        int nv;
        if (mc_flags_bool(&f, "help") || mc_flags_bool(&f, "h")) {
            mc_node_usage(stdout, prog);
            rc = 0;
            goto cleanup;
        } else if ((nv = mc_flags_verbose(&f)) > 0) {
            verbose += nv;
        } else if (mc_flags_value(&f, "role", &v)) {
            role_name = v;
        } else if (mc_flags_value(&f, "name", &v)) {
            name = v;
        } else if (mc_flags_value(&f, "addr", &v)) {
            mc_conf_set(&conf, "addr", v);
        } else if (mc_flags_value(&f, "conf", &v)) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v) {
                fprintf(stderr, "%s: --conf '%s': expected KEY=VALUE\n", prog, v);
                goto cleanup;
            }
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)(eq - v), v);
            mc_conf_set(&conf, key, eq + 1);
        } else if (mc_flags_value(&f, "epoch", &v)) {
            if (!mc_parse_u64(v, &o.epoch_ns)) {
                fprintf(stderr, "%s: --epoch '%s': expected nanoseconds\n", prog, v);
                goto cleanup;
            }
        } else if (mc_flags_value(&f, "seed", &v)) {
            if (!mc_parse_u64(v, &o.seed)) {
                fprintf(stderr, "%s: --seed '%s': expected an unsigned integer\n", prog, v);
                goto cleanup;
            }
            o.have_seed = true;
        } else if (mc_flags_bool(&f, "no-stdin")) {
            o.read_stdin = false;
        } else {
            if (f.err)
                fprintf(stderr, "%s: %s: %s\n", prog, f.err_flag, f.err);
            else
                fprintf(stderr, "%s: unknown argument '%s' (see --help)\n", prog, mc_flags_peek(&f));
            goto cleanup;
        }
    }
    if (!role_name) {
        fprintf(stderr, "%s: --role is required\n\n", prog);
        mc_node_usage(stderr, prog);
        goto cleanup;
    }
    o.role = mc_role_find(role_name);
    if (!o.role) {
        fprintf(stderr, "%s: unknown role '%s'\n\n", prog, role_name);
        mc_node_usage(stderr, prog);
        goto cleanup;
    }
    o.name = name ? name : role_name;
    o.conf = &conf;
    o.log_level = mc_flags_log_level(verbose);
    rc = mc_node_run(&o);
cleanup:
    mc_conf_free(&conf);
    return rc;
}
