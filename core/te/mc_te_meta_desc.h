/* Transfer-engine metadata values in upstream's exact JSON shapes
 * (shared/spec/transfer.md §7.1-7.2) and the keys they are stored under.
 *
 *   mooncake/[<cluster>/]rpc_meta/<server>  {"ip_or_host_name":"10.0.0.1","rpc_port":15123}
 *   mooncake/[<cluster>/]ram/<segment>      segment descriptor (below)
 *
 * The codec is pure (cJSON over a caller buffer). Decoders validate every
 * field they use and reject the whole value with MC_TE_ERR_MALFORMED_JSON
 * and a message naming the field; they never crash on hostile input
 * (fuzzed by tests/fuzz/fuzz_te_meta.c).
 *
 * Integers: u64 addresses/lengths are written as exact decimal text. cJSON
 * reads numbers as doubles, so the decoder accepts integers up to 2^53
 * exactly (every x86-64/arm64 user address) and rejects fractions,
 * negatives and anything larger as malformed rather than silently rounding. */
#ifndef MC_TE_META_DESC_H
#define MC_TE_META_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mc_te_device_desc {
    char *name; /* "mlx5_0" */
    uint16_t lid;
    char *gid; /* "00:00:...:01" (16 bytes, lowercase hex, ':'-joined) */
} mc_te_device_desc_t;

typedef struct mc_te_buffer_desc {
    char *name; /* location ("cpu:0") for rdma, segment name for tcp */
    uint64_t addr;
    uint64_t length;
    uint32_t *rkey; /* nrkey entries; empty = not remotely accessible */
    size_t nrkey;
    uint32_t *lkey;
    size_t nlkey;
    char *protocol; /* multi-protocol descriptors only; NULL otherwise */
} mc_te_buffer_desc_t;

/* One priority-matrix row: location -> [preferred NICs, available NICs]. */
typedef struct mc_te_topo_entry {
    char *location;
    char **preferred;
    size_t npreferred;
    char **avail;
    size_t navail;
} mc_te_topo_entry_t;

typedef struct mc_te_seg_desc {
    char *name;
    char *protocol; /* "rdma", "tcp", ...; multi-protocol: "tcp,rdma" (JSON array) */
    int64_t tcp_data_port;
    int32_t tcp_proto_version; /* absent in JSON => 1 */
    char *timestamp;           /* "YYYY-MM-DD HH:MM:SS.uuuuuu"; ignored by equality */
    char *rdma_server_name;    /* optional, NULL if absent */
    /* Ours, optional (upstream ignores it): the env data endpoint peers
     * must name in transfers when "host:tcp_data_port" is not enough (hw
     * rdma: the xport descriptor with the verbs port). NULL if absent. */
    char *data_endpoint;
    mc_te_device_desc_t *devices;
    size_t ndevices;
    mc_te_buffer_desc_t *buffers;
    size_t nbuffers;
    mc_te_topo_entry_t *topo;
    size_t ntopo;
} mc_te_seg_desc_t;

typedef struct mc_te_rpc_meta {
    char *ip_or_host_name;
    uint16_t rpc_port;
} mc_te_rpc_meta_t;

void mc_te_seg_desc_init(mc_te_seg_desc_t *d);
void mc_te_seg_desc_free(mc_te_seg_desc_t *d); /* frees members; d reusable after init */
void mc_te_seg_desc_copy(mc_te_seg_desc_t *dst, const mc_te_seg_desc_t *src);
/* Appenders (strings copied); return the new element for the caller to fill keys. */
mc_te_device_desc_t *mc_te_seg_desc_add_device(mc_te_seg_desc_t *d, const char *name, uint16_t lid,
                                               const char *gid);
mc_te_buffer_desc_t *mc_te_seg_desc_add_buffer(mc_te_seg_desc_t *d, const char *name, uint64_t addr,
                                               uint64_t length, size_t nkeys);
mc_te_topo_entry_t *mc_te_seg_desc_add_topo(mc_te_seg_desc_t *d, const char *location);
void mc_te_topo_add(char ***list, size_t *n, const char *nic);
/* Equality as upstream compares descriptors: every field but timestamp. */
bool mc_te_seg_desc_equal(const mc_te_seg_desc_t *a, const mc_te_seg_desc_t *b);
/* True when the protocol has RDMA-style devices/keys ("tcp" does not). */
bool mc_te_proto_has_devices(const char *protocol);

/* Compact JSON in upstream's key order. Returns a heap string (mc_free). */
char *mc_te_seg_desc_encode(const mc_te_seg_desc_t *d);
/* 0, or MC_TE_ERR_MALFORMED_JSON with err naming the problem. On error *d
 * is left initialized-empty. json need not be NUL-terminated. */
int mc_te_seg_desc_decode(const char *json, size_t len, mc_te_seg_desc_t *d, char *err, size_t errlen);

char *mc_te_rpc_meta_encode(const mc_te_rpc_meta_t *m);
int mc_te_rpc_meta_decode(const char *json, size_t len, mc_te_rpc_meta_t *m, char *err, size_t errlen);
void mc_te_rpc_meta_free(mc_te_rpc_meta_t *m);

/* Keys. cluster_id may be NULL or "" (no cluster segment). Heap strings. */
char *mc_te_key_rpc_meta(const char *cluster_id, const char *server_name);
/* "ram/<name>", or "<name>" directly under the prefix when it contains '/'. */
char *mc_te_key_segment(const char *cluster_id, const char *segment_name);

/* "YYYY-MM-DD HH:MM:SS.uuuuuu" for ns since the Unix epoch (UTC; core has
 * no time zone). out must hold 32 bytes. */
void mc_te_format_timestamp(uint64_t ns, char out[32]);

#endif
