/* A private network for one mooncake_hwrun run: one network namespace per
 * scenario node, joined through bridges in a "hub" namespace, so that
 * partitions and NIC faults can be made real.
 *
 *   namespaces  mchw-<pid>-hub, mchw-<pid>-n-<node>  (pid = the runner's)
 *   links       NIC k of node i: veth eth<k> (node side) <-> h<i>n<k> (hub
 *               side, a port of bridge br<k>); NIC k lives on 10.<R>.k.0/24,
 *               node i is host i+1, R derived from the pid
 *   partitions  nftables in the RECEIVER's namespace: table ip mchw, set
 *               "blocked" of source addresses dropped on input, so a cut
 *               a -> b is one rule in b and one-way cuts work
 *   nic faults  ip link set dev eth<k> down|up in the node's namespace
 *
 * Every link, bridge and nft table lives inside one of the run's
 * namespaces, so deleting the namespaces removes everything; nothing is
 * created in the root namespace. Names carry the runner's pid, so
 * concurrent runs never touch each other's, and mc_netns_reap_stale()
 * removes those of runs that died without cleaning up.
 *
 * Uses ip(8) and nft(8) (iproute2, nftables); needs CAP_SYS_ADMIN and
 * CAP_NET_ADMIN. Every call runs on the caller's thread and waits for the
 * tools it starts (a few ms each). */
#ifndef MC_NETNS_H
#define MC_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_NETNS_PREFIX "mchw-"
#define MC_NETNS_MAX_NODES 250u /* hosts .1 .. .250 of a /24 */

typedef struct mc_netns mc_netns_t;

/* Whether namespace mode can work here: root, ip and nft found. If not,
 * false with the reason in why. */
bool mc_netns_available(char *why, size_t whylen);

/* Delete namespaces named MC_NETNS_PREFIX "<pid>-*" whose runner is gone
 * (no such process, not a mooncake_hwrun, or our own pid: we have created
 * none yet). Returns how many were deleted. */
size_t mc_netns_reap_stale(void);

/* Build the network for n nodes; nics[i] (>= 1) NICs for node i. NULL on
 * failure (err set; whatever was created is removed again). */
mc_netns_t *mc_netns_create(size_t n, const char *const *names, const uint32_t *nics, char *err, size_t errlen);

/* Node i's address on NIC k ("10.R.k.h"), its namespace name, and an fd
 * of its namespace for setns(2) (owned by ns, close-on-exec). */
const char *mc_netns_host(const mc_netns_t *ns, size_t i, uint32_t nic);
const char *mc_netns_name(const mc_netns_t *ns, size_t i);
int mc_netns_fd(const mc_netns_t *ns, size_t i);

/* Add cuts: cut[from * n + to] drops every frame from node `from` (all
 * its NICs) arriving at node `to` (one nft per receiving namespace, all
 * run at once). Adding a cut that exists is a no-op. 0, or -1 with err
 * set (the cuts that did apply stay). */
int mc_netns_cut(mc_netns_t *ns, const bool *cut, char *err, size_t errlen);

/* Remove every cut (at once in every namespace). 0 or -1 (err set). */
int mc_netns_heal(mc_netns_t *ns, char *err, size_t errlen);

/* Take NIC k of node i down or up. 0 or -1 (err set). */
int mc_netns_nic_set(mc_netns_t *ns, size_t i, uint32_t nic, bool up, char *err, size_t errlen);

/* Delete the run's namespaces (with every link, bridge and table in them)
 * and free ns. Safe on a partly built network; NULL is a no-op. */
void mc_netns_destroy(mc_netns_t *ns);

#endif
