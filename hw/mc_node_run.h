/* Run one core role as a process: loop + hw env + the role, clean shutdown
 * on SIGINT/SIGTERM (signalfd), and workload commands read from stdin as
 * lines "cmd NAME k=v ..." (values %-escaped: %20 space, %25 '%',
 * %0A newline) passed to role->command. Shared by mooncake_node and
 * mooncake_master. */
#ifndef MC_NODE_RUN_H
#define MC_NODE_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "env/mc_conf.h"
#include "env/mc_role.h"

struct mc_loop;

typedef struct mc_node_opts {
    const char *prog;   /* for messages */
    const mc_role_t *role;
    const char *name;   /* node name in logs and traces */
    mc_conf_t *conf;    /* role settings */
    uint64_t epoch_ns;  /* 0 = process start */
    bool have_seed;
    uint64_t seed;
    int log_level;
    bool read_stdin;    /* accept workload commands on stdin */
    /* Optional embedder hooks (mooncake_master's metrics): started runs on
     * the main thread once the role node exists, before the loop runs;
     * stopping after the loop stopped, before the node is destroyed. */
    void (*on_started)(void *arg, struct mc_loop *loop, void *node);
    void (*on_stopping)(void *arg);
    void *hook_arg;
} mc_node_opts_t;

/* Exit code: 0 after a clean shutdown, 2 when the role rejects its
 * configuration, 1 on a runtime error. */
int mc_node_run(const mc_node_opts_t *o);

/* Parse one command line ("cmd NAME k=v ..."). On success *name points
 * into line (which is modified) and args holds the decoded pairs. */
bool mc_node_cmd_parse(char *line, const char **name, mc_conf_t *args);
/* %-escape s for a command line value into buf (space, %, newline, CR, '='). */
void mc_node_cmd_escape(const char *s, char *buf, size_t buflen);

#endif
