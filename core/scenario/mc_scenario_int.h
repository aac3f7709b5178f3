/* Private to core/scenario: the parse context and the JSON field readers
 * shared by the parser's files. Every reader pushes its key onto ctx->path,
 * so an error reads "<file>: faults[2].node: unknown node 'c9'". */
#ifndef MC_SCENARIO_INT_H
#define MC_SCENARIO_INT_H

#include <cjson/cJSON.h>

#include "../base/mc_map.h"
#include "mc_scenario.h"

#define MC_SCN_MAX_COUNT 1000000u /* node "count" cap: catches typos, not a limit */
#define MC_SCN_MAX_NICS 64u

/* Bits of mc_net_model_t present in a "network" object. */
enum {
    MC_NETF_LATENCY = 1u << 0,
    MC_NETF_JITTER = 1u << 1,
    MC_NETF_BANDWIDTH = 1u << 2,
    MC_NETF_LOSS = 1u << 3,
    MC_NETF_DUP = 1u << 4,
    MC_NETF_REORDER = 1u << 5,
};

typedef struct mc_scnp {
    const char *file;
    char *err;
    size_t errlen;
    bool failed;
    char path[256];
    size_t plen;
    mc_scenario_t *s;
    mc_map_t names; /* node name -> index + 1 into s->nodes */
} mc_scnp_t;

/* Path stack: push returns a mark for pop. */
size_t mc_scnp_push_key(mc_scnp_t *p, const char *key);
size_t mc_scnp_push_index(mc_scnp_t *p, size_t i);
void mc_scnp_pop(mc_scnp_t *p, size_t mark);
/* Record "<file>: <path>: <message>" (first error wins); MC_INVALID_PARAMS. */
mc_status_t mc_scnp_fail(mc_scnp_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const char *mc_scnp_type_name(const cJSON *item);
/* obj must be an object whose keys are all in allowed (NULL-terminated;
 * allowed == NULL accepts any key) and unique. */
mc_status_t mc_scnp_check_object(mc_scnp_t *p, const cJSON *obj, const char *const *allowed);

/* Field readers: look up key in obj; absent => *out = def (or an error if
 * required). Each pushes key onto the path for its messages. */
mc_status_t mc_scnp_str(mc_scnp_t *p, const cJSON *obj, const char *key, bool required,
                        const char *def, char **out);
mc_status_t mc_scnp_u64(mc_scnp_t *p, const cJSON *obj, const char *key, bool required,
                        uint64_t def, uint64_t min, uint64_t max, uint64_t *out);
mc_status_t mc_scnp_bool(mc_scnp_t *p, const cJSON *obj, const char *key, bool def, bool *out);
mc_status_t mc_scnp_duration(mc_scnp_t *p, const cJSON *obj, const char *key, bool required,
                             uint64_t def, uint64_t *out);
/* A duration item already looked up (array elements). */
mc_status_t mc_scnp_duration_item(mc_scnp_t *p, const cJSON *item, uint64_t *out);
/* A scalar-valued object (conf, args, fields) into c; ${...} references
 * are checked against the node table when check_refs. */
mc_status_t mc_scnp_conf(mc_scnp_t *p, const cJSON *obj, const char *key, bool check_refs,
                         mc_conf_t *c);
/* A "network" object over *m; *mask gets the MC_NETF_* bits present. */
mc_status_t mc_scnp_net(mc_scnp_t *p, const cJSON *obj, const char *key, mc_net_model_t *m,
                        unsigned *mask);
/* A node name that must exist: index into s->nodes. */
mc_status_t mc_scnp_node_ref(mc_scnp_t *p, const cJSON *item, size_t *idx);
/* An at_ns that must not exceed the scenario duration. */
mc_status_t mc_scnp_at(mc_scnp_t *p, const cJSON *obj, uint64_t *out);

/* Faults: parse, sort, fill cumulative net models, check crash/restart
 * order. Needs s->nodes, s->duration_ns and s->net. */
mc_status_t mc_scnp_faults(mc_scnp_t *p, const cJSON *arr);
/* "checks": ["store_history"] or {"store_history": {"allow_eviction": true}}. */
mc_status_t mc_scnp_checks(mc_scnp_t *p, const cJSON *item);

/* ${node.prop} scanning shared by parse (validation) and resolve.
 * For each reference calls fn(ctx, node, nodelen, prop, proplen, out);
 * literal text is appended to out (if out). Returns false with a message
 * in err for malformed syntax or when fn returns false. */
typedef struct mc_strbuf {
    char *p;
    size_t len, cap;
} mc_strbuf_t;
void mc_strbuf_add(mc_strbuf_t *b, const char *s, size_t n);
char *mc_strbuf_take(mc_strbuf_t *b); /* NUL-terminated, caller frees */

typedef bool (*mc_ref_fn)(void *ctx, const char *node, size_t nlen, const char *prop, size_t plen,
                          mc_strbuf_t *out, char *err, size_t errlen);
bool mc_scn_refs_expand(const char *value, mc_ref_fn fn, void *ctx, mc_strbuf_t *out, char *err,
                        size_t errlen);

#endif
