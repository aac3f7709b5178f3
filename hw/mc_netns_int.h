/* mc_netns internals: running ip(8)/nft(8). */
#ifndef MC_NETNS_INT_H
#define MC_NETNS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Full path of a system tool ("ip", "nft") from PATH, /usr/sbin or
 * /sbin; NULL if not found. The result is cached (one thread). */
const char *mc_netns_tool(const char *name);

/* A started tool: mc_netns_start, then exactly one mc_netns_wait. */
typedef struct mc_netns_job {
    pid_t pid;
    int out_fd;       /* its stdout+stderr */
    const char *tool;
} mc_netns_job_t;

/* Start tool like mc_netns_run without waiting, so several can run at
 * once (one per namespace). 0, or -1 with err set (nothing to wait for). */
int mc_netns_start(mc_netns_job_t *j, const char *tool, const char *const args[], const char *input, int ns_fd,
                   char *err, size_t errlen);

/* Wait for a started tool: 0 if it exited 0, else -1 with err set. */
int mc_netns_wait(mc_netns_job_t *j, char *err, size_t errlen);

/* Run tool with args (NULL-terminated, without argv[0]); input, if not
 * NULL, is its stdin; ns_fd >= 0 runs it inside that network namespace.
 * Waits for it. 0 if it exited 0, else -1 with its first output line (or
 * why it could not run) in err. */
int mc_netns_run(const char *tool, const char *const args[], const char *input, int ns_fd, char *err,
                 size_t errlen);

/* Delete every namespace named "<prefix>*" (ip -force netns del);
 * returns how many it tried. */
size_t mc_netns_delete_prefix(const char *prefix);

#endif
