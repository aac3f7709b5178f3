/* EP rank handle: create (rank node on its own loop thread), destroy,
 * membership queries on the last applied view, recover/deactivate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mc_addr.h"
#include "mc_ep_api_int.h"

mooncake_ep_t *mooncake_ep_create(uint32_t rank, uint32_t world, const char *coordinator, const char *listen_host,
                                  size_t slot_bytes)
{
    if (world == 0 || world > MC_EP_MAX_RANKS || rank >= world || !coordinator || !*coordinator) {
        mc_ep_api_set_error("bad rank %u / world %u / coordinator", rank, world);
        return NULL;
    }
    if (!slot_bytes)
        slot_bytes = 1u << 20;
    char addr[300], name[32], num[32];
    if (mc_ep_api_pick_addr(listen_host, addr, sizeof addr) != 0)
        return NULL;
    mooncake_ep_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    pthread_mutex_init(&h->mu, NULL);
    h->self = rank;
    h->world = world;
    h->slot_bytes = slot_bytes;
    h->next_id = 1;
    snprintf(name, sizeof name, "r%u", rank);
    char host[256];
    uint16_t port;
    if (!mc_addr_split(addr, host, sizeof host, &port) || mc_ep_api_host_open(&h->host, name, host) != 0)
        goto fail;
    mc_conf_t conf;
    mc_conf_init(&conf);
    mc_conf_set(&conf, "addr", addr);
    mc_conf_set(&conf, "coordinator", coordinator);
    snprintf(num, sizeof num, "%u", rank);
    mc_conf_set(&conf, "rank", num);
    snprintf(num, sizeof num, "%u", world);
    mc_conf_set(&conf, "world", num);
    snprintf(num, sizeof num, "%zu", slot_bytes + 64); /* + the slot header */
    mc_conf_set(&conf, "slot_bytes", num);
    mc_conf_set(&conf, "protocol", "tcp");
    mc_conf_set(&conf, "result_hash", "false"); /* only the simulator's checker reads it */
    mc_conf_set(&conf, "slice_size", "1MiB");   /* one TE slice per 1 MiB block: fewer completions */
    char err[256] = "";
    /* loop not running yet: creating here is single-threaded */
    h->rank = mc_ep_rank_create(h->host.env, &conf, err, sizeof err);
    mc_conf_free(&conf);
    if (!h->rank) {
        mc_ep_api_set_error("ep rank: %s", err);
        goto fail;
    }
    if (mc_ep_api_host_start(&h->host) != 0)
        goto fail;
    return h;
fail:
    mooncake_ep_destroy(h);
    return NULL;
}

static void destroy_rank(void *arg)
{
    mooncake_ep_t *h = arg;
    if (h->rank)
        mc_ep_rank_destroy(h->rank);
    h->rank = NULL;
}

void mooncake_ep_destroy(mooncake_ep_t *h)
{
    if (!h)
        return;
    mc_ep_api_host_close(&h->host, destroy_rank, h);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

uint64_t mooncake_ep_next_op_id(mooncake_ep_t *h)
{
    pthread_mutex_lock(&h->mu);
    uint64_t id = h->next_id;
    pthread_mutex_unlock(&h->mu);
    return id;
}

void mooncake_ep_set_next_op_id(mooncake_ep_t *h, uint64_t id)
{
    pthread_mutex_lock(&h->mu);
    h->next_id = id ? id : 1;
    pthread_mutex_unlock(&h->mu);
}

/* ---- queries (loop thread: the view is the loop's) ---- */

enum { Q_ACTIVE, Q_SYNCED, Q_EPOCH, Q_PEER };
typedef struct {
    int what;
    uint32_t rank;
} query_t;

static void query_start(mc_ep_api_call_t *c)
{
    const query_t *q = c->arg;
    mc_ep_rank_t *r = c->h->rank;
    switch (q->what) {
    case Q_ACTIVE: c->u64 = mc_ep_rank_active(r); break;
    case Q_SYNCED: c->u64 = mc_ep_rank_num_synced(r); break;
    case Q_EPOCH: c->u64 = mc_ep_rank_epoch(r); break;
    default: c->u64 = mc_ep_rank_peer_state(r, q->rank); break;
    }
    mc_ep_api_done(c, 0);
}

static uint64_t query(mooncake_ep_t *h, int what, uint32_t rank)
{
    query_t q = {what, rank};
    uint64_t v = 0;
    if (mc_ep_api_run(h, query_start, &q, &v) != 0)
        return 0;
    return v;
}

uint64_t mooncake_ep_active_ranks(mooncake_ep_t *h) { return query(h, Q_ACTIVE, 0); }
uint32_t mooncake_ep_num_synced_ranks(mooncake_ep_t *h) { return (uint32_t)query(h, Q_SYNCED, 0); }
uint64_t mooncake_ep_epoch(mooncake_ep_t *h) { return query(h, Q_EPOCH, 0); }

int mooncake_ep_peer_state(mooncake_ep_t *h, uint32_t rank)
{
    if (!h || rank >= h->world)
        return MOONCAKE_EP_ERR_INVALID;
    return query(h, Q_PEER, rank) ? 1 : 0;
}

int mooncake_ep_wait_active(mooncake_ep_t *h, uint32_t timeout_ms)
{
    if (!h)
        return MOONCAKE_EP_ERR_INVALID;
    for (uint32_t waited = 0;; waited += 10) {
        if (mc_ep_has(mooncake_ep_active_ranks(h), h->self))
            return MOONCAKE_EP_OK;
        if (waited >= timeout_ms)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    mc_ep_api_set_error("rank %u not active after %u ms", h->self, timeout_ms);
    return MOONCAKE_EP_ERR_TIMEOUT;
}

/* ---- proposals ---- */

typedef struct {
    uint64_t targets;
    bool activate;
} prop_t;

static void propose_cb(void *arg, int status, uint64_t epoch, mc_ep_mask_t dropped)
{
    (void)epoch;
    mc_ep_api_call_t *c = arg;
    c->u64 = dropped;
    mc_ep_api_done(c, status);
}

static void propose_start(mc_ep_api_call_t *c)
{
    const prop_t *p = c->arg;
    mc_ep_rank_propose(c->h->rank, p->targets, p->activate, propose_cb, c);
}

int mooncake_ep_propose(mooncake_ep_t *h, uint64_t targets, int activate)
{
    if (!h || !targets || (h->world < 64 && targets >> h->world)) {
        mc_ep_api_set_error("targets must name ranks below world");
        return MOONCAKE_EP_ERR_INVALID;
    }
    prop_t p = {targets, activate != 0};
    return mc_ep_api_run(h, propose_start, &p, NULL);
}

uint64_t mooncake_ep_buffer_size_hint(uint64_t max_tokens, uint64_t hidden, uint64_t num_ranks, uint64_t num_experts)
{
    return mc_ep_buffer_size_hint(max_tokens, hidden, num_ranks, num_experts);
}
